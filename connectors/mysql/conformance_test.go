package main

import (
	"strings"
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
				fx := presettest.Fixture(t, preset, db, sqlcore.MySQL{}, "mysql", cfg.FormatDSN(), proxy)
				fx.Spellings = collationSpellings
				return fx
			})
		})
	}
}

// collationSpellings are spellings of id that utf8mb4_unicode_ci (the test
// database's collation, a common legacy one) matches to id: trailing spaces
// (PAD SPACE) and an accent on the first plain vowel.
func collationSpellings(id string) []string {
	out := []string{id + " ", strings.ToUpper(id) + "   "}
	if i := strings.IndexAny(id, "aeiou"); i >= 0 {
		accented := map[byte]string{'a': "à", 'e': "é", 'i': "í", 'o': "ö", 'u': "ü"}[id[i]]
		out = append(out, id[:i]+accented+id[i+1:])
	}
	return out
}
