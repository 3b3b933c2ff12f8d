package main

import (
	"net/url"
	"testing"

	"github.com/trickle-auth/trickle/connectors/kit/conformance"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore/presettest"
	"github.com/trickle-auth/trickle/deploy/testenv/sqltest"
)

// TestConformance runs the connector suite against the real PostgreSQL
// server once per preset, each on a fresh seeded database behind a proxy.
func TestConformance(t *testing.T) {
	for _, preset := range presettest.Presets() {
		t.Run(preset, func(t *testing.T) {
			t.Parallel()
			conformance.Run(t, func(t *testing.T) conformance.Fixture {
				dsn, db := sqltest.Postgres(t)
				u, err := url.Parse(dsn)
				if err != nil {
					t.Fatal(err)
				}
				proxy := conformance.NewProxy(t, u.Host)
				u.Host = proxy.Addr()
				return presettest.Fixture(t, preset, db, sqlcore.Postgres{}, "pgx", u.String(), proxy)
			})
		})
	}
}
