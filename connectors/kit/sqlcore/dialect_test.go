package sqlcore

import (
	"strings"
	"testing"
)

func TestDialects(t *testing.T) {
	for _, tc := range []struct {
		d                 Dialect
		names             []string
		p1, p2, text, pag string
	}{
		{Postgres{}, []string{"postgres", "PostgreSQL", "pgx"}, "$1", "$2", "CAST(x AS text)", "SELECT a FROM t ORDER BY id LIMIT $1"},
		{MySQL{}, []string{"mysql", "MariaDB"}, "?", "?", "CAST(x AS CHAR)", "SELECT a FROM t ORDER BY id LIMIT $1"},
		{MSSQL{}, []string{"mssql", "sqlserver"}, "@p1", "@p2", "CAST(x AS nvarchar(64))", "SELECT TOP ($1) a FROM t ORDER BY id"},
		{SQLite{}, []string{"sqlite", "SQLite3"}, "?", "?", "CAST(x AS TEXT)", "SELECT a FROM t ORDER BY id LIMIT $1"},
	} {
		t.Run(tc.d.Name(), func(t *testing.T) {
			for _, n := range tc.names {
				got, err := DialectByName(n)
				if err != nil || got != tc.d {
					t.Errorf("DialectByName(%q) = %v, %v", n, got, err)
				}
			}
			if got := tc.d.Placeholder(1) + " " + tc.d.Placeholder(2); got != tc.p1+" "+tc.p2 {
				t.Errorf("placeholders %q", got)
			}
			if got := tc.d.Text("x"); got != tc.text {
				t.Errorf("Text = %q", got)
			}
			if got := tc.d.Page("a", "FROM t", "id", "$1"); got != tc.pag {
				t.Errorf("Page = %q", got)
			}
		})
	}
	if _, err := DialectByName("oracle"); err == nil || !strings.Contains(err.Error(), "oracle") {
		t.Errorf("unknown dialect: %v", err)
	}
}

func TestSQLiteBindsGenericPreset(t *testing.T) {
	q, err := BuildQueries(SQLite{}, "generic")
	if err != nil {
		t.Fatal(err)
	}
	if want := "FROM users u WHERE LOWER(LTRIM(RTRIM(u.email))) = LOWER(?) OR LOWER(LTRIM(RTRIM(u.username))) = LOWER(?)"; !strings.HasSuffix(q.User, want) {
		t.Errorf("user query %q", q.User)
	}
	if want := "WHERE u.id > ? ORDER BY u.id LIMIT ?"; !strings.HasSuffix(q.List, want) {
		t.Errorf("list query %q", q.List)
	}
	// The first page binds no lower bound (an int4 id cannot take MinInt64).
	if want := "FROM users u ORDER BY u.id LIMIT ?"; !strings.HasSuffix(q.ListFirst, want) {
		t.Errorf("first-page query %q", q.ListFirst)
	}
}
