// Package sqltest gives each test its own database on the real PostgreSQL
// and MariaDB servers, created empty and dropped when the test ends.
//
// Server addresses come from POSTGRES_DSN (default: postgres user, trust
// auth on 127.0.0.1:5432) and MYSQL_DSN (default: root with an empty
// password on 127.0.0.1:3306).
package sqltest

import (
	"context"
	"database/sql"
	"net/url"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/trickle-auth/trickle/deploy/testenv"
)

// PostgresServerDSN is the admin DSN of the test PostgreSQL server.
func PostgresServerDSN() string {
	return testenv.Env("POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
}

// MySQLServerDSN is the admin DSN of the test MariaDB/MySQL server, in
// go-sql-driver/mysql form.
func MySQLServerDSN() string {
	return testenv.Env("MYSQL_DSN", "root:@tcp(127.0.0.1:3306)/")
}

// Postgres creates a fresh PostgreSQL database and returns its DSN (pgx URL
// form) and an open handle on it.
func Postgres(t testing.TB) (string, *sql.DB) {
	t.Helper()
	admin := open(t, "PostgreSQL", "pgx", PostgresServerDSN())
	name := testenv.UniqueName("t_")
	exec(t, admin, "CREATE DATABASE "+name)
	t.Cleanup(func() {
		exec(t, admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = admin.Close()
	})
	u, err := url.Parse(PostgresServerDSN())
	if err != nil {
		t.Fatalf("POSTGRES_DSN: %v", err)
	}
	u.Path = "/" + name
	dsn := u.String()
	db := open(t, "PostgreSQL", "pgx", dsn)
	t.Cleanup(func() { _ = db.Close() })
	return dsn, db
}

// MySQL creates a fresh MariaDB/MySQL database and returns its DSN and an
// open handle on it.
func MySQL(t testing.TB) (string, *sql.DB) {
	t.Helper()
	admin := open(t, "MariaDB", "mysql", MySQLServerDSN())
	name := testenv.UniqueName("t_")
	exec(t, admin, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
	t.Cleanup(func() {
		exec(t, admin, "DROP DATABASE IF EXISTS "+name)
		_ = admin.Close()
	})
	cfg, err := mysql.ParseDSN(MySQLServerDSN())
	if err != nil {
		t.Fatalf("MYSQL_DSN: %v", err)
	}
	cfg.DBName = name
	cfg.ParseTime = true
	cfg.MultiStatements = true
	dsn := cfg.FormatDSN()
	db := open(t, "MariaDB", "mysql", dsn)
	t.Cleanup(func() { _ = db.Close() })
	return dsn, db
}

func open(t testing.TB, service, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("%s DSN: %v", service, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		testenv.Unavailable(t, service, err)
	}
	return db
}

func exec(t testing.TB, db *sql.DB, stmt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}
