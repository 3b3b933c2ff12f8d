package main

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/trickle-auth/trickle/connectors/kit/conformance"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore/presettest"
	"github.com/trickle-auth/trickle/deploy/testenv"
)

// TestConformance runs the connector suite on SQL Server when MSSQL_DSN
// (sqlserver://user:password@host:1433) points at one; SQL Server cannot
// run on the test machines, so without it only this test is skipped.
func TestConformance(t *testing.T) {
	admin := os.Getenv("MSSQL_DSN")
	if admin == "" {
		t.Skip("MSSQL_DSN not set: SQL Server conformance skipped (dialect tests still run)")
	}
	for _, preset := range presettest.Presets() {
		t.Run(preset, func(t *testing.T) {
			t.Parallel()
			conformance.Run(t, func(t *testing.T) conformance.Fixture {
				dsn, db := freshDatabase(t, admin)
				u, err := url.Parse(dsn)
				if err != nil {
					t.Fatal(err)
				}
				proxy := conformance.NewProxy(t, hostPort(u))
				u.Host = proxy.Addr()
				return presettest.Fixture(t, preset, db, sqlcore.MSSQL{}, "sqlserver", u.String(), proxy)
			})
		})
	}
}

func hostPort(u *url.URL) string {
	if u.Port() == "" {
		return u.Hostname() + ":1433"
	}
	return u.Host
}

// freshDatabase creates an empty database for one test and drops it after.
func freshDatabase(t *testing.T, adminDSN string) (string, *sql.DB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("sqlserver", adminDSN)
	if err != nil {
		t.Fatalf("MSSQL_DSN: %v", err)
	}
	if err := admin.PingContext(ctx); err != nil {
		testenv.Unavailable(t, "SQL Server", err)
	}
	name := testenv.UniqueName("t_")
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.ExecContext(ctx, "ALTER DATABASE "+name+" SET SINGLE_USER WITH ROLLBACK IMMEDIATE")
		if _, err := admin.ExecContext(ctx, "DROP DATABASE "+name); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
		_ = admin.Close()
	})
	u, err := url.Parse(adminDSN)
	if err != nil {
		t.Fatalf("MSSQL_DSN: %v", err)
	}
	q := u.Query()
	q.Set("database", name)
	u.RawQuery = q.Encode()
	db, err := sql.Open("sqlserver", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return u.String(), db
}
