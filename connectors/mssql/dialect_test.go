package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/connector"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore"
)

// These tests need no SQL Server: they check that every preset builds for
// the mssql dialect and that the driver is wired in.

func TestPresetsOpenWithSQLServerDriver(t *testing.T) {
	for _, preset := range sqlcore.PresetNames() {
		var cfg sqlcore.Config
		cfg.SetDefaults()
		cfg.Preset = preset
		cfg.DSN = config.SecretLiteral("sqlserver://user:secret@127.0.0.1:1?database=legacy&dial+timeout=1")
		c, err := sqlcore.Open(cfg, "sqlserver", sqlcore.MSSQL{}, nil)
		if err != nil {
			t.Fatalf("%s: %v", preset, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = c.Login(ctx, "alice", "pw")
		cancel()
		// Port 1 refuses: a store error, never "invalid credentials".
		if err == nil || errors.Is(err, connector.ErrInvalidCredentials) || errors.Is(err, connector.ErrNotFound) {
			t.Errorf("%s: Login on a refused port: %v, want a store error", preset, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error leaks the DSN password: %v", preset, err)
		}
		_ = c.Close()
	}
}

func TestDialectQueries(t *testing.T) {
	d := sqlcore.MSSQL{}
	if got := d.Placeholder(3); got != "@p3" {
		t.Errorf("Placeholder(3) = %q", got)
	}
	got := d.Page("a, b", "FROM t WHERE id > @p1", "id", "@p2")
	if want := "SELECT TOP (@p2) a, b FROM t WHERE id > @p1 ORDER BY id"; got != want {
		t.Errorf("Page = %q, want %q", got, want)
	}
	q, err := sqlcore.BuildQueries(d, "aspnet-membership")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"LOWER(@p1)", "LOWER(@p2)", "CAST(u.UserId AS nvarchar(64))"} {
		if !strings.Contains(q.User, want) {
			t.Errorf("user query lacks %q:\n%s", want, q.User)
		}
	}
	if !strings.HasPrefix(q.List, "SELECT TOP (@p1) ") || !strings.Contains(q.List, "u.UserId > @p2") {
		t.Errorf("list query:\n%s", q.List)
	}
}
