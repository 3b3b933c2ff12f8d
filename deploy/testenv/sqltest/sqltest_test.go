package sqltest_test

import (
	"context"
	"testing"

	"github.com/trickle-auth/trickle/deploy/testenv/sqltest"
)

func TestPostgresDatabaseIsFreshAndUsable(t *testing.T) {
	_, db := sqltest.Postgres(t)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO users (email) VALUES ($1)`, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO users (email) VALUES ($1)`, "a@example.com"); err == nil {
		t.Fatal("unique constraint not enforced")
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("count = %d, %v", n, err)
	}
}

func TestMySQLDatabaseIsFreshAndUsable(t *testing.T) {
	_, db := sqltest.MySQL(t)
	ctx := context.Background()
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("new database has %d tables (%v)", tables, err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(255) UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO users (email) VALUES (?), (?)`, "a@example.com", "b@example.com"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("count = %d, %v", n, err)
	}
}
