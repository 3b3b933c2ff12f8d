package main

import (
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/trickle-auth/trickle/connectors/kit/conformance"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore/presettest"
	"github.com/trickle-auth/trickle/deploy/testenv/sqltest"
)

// TestConformance runs the connector suite against the real MariaDB/MySQL
// server once per preset, each on a fresh seeded database behind a proxy.
func TestConformance(t *testing.T) {
	for _, preset := range presettest.Presets() {
		t.Run(preset, func(t *testing.T) {
			t.Parallel()
			conformance.Run(t, func(t *testing.T) conformance.Fixture {
				dsn, db := sqltest.MySQL(t)
				cfg, err := mysql.ParseDSN(dsn)
				if err != nil {
					t.Fatal(err)
				}
				proxy := conformance.NewProxy(t, cfg.Addr)
				cfg.Addr = proxy.Addr()
				cfg.MultiStatements = false
				return presettest.Fixture(t, preset, db, sqlcore.MySQL{}, "mysql", cfg.FormatDSN(), proxy)
			})
		})
	}
}
