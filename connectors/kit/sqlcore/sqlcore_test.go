package sqlcore

import (
	"reflect"
	"strings"
	"testing"
)

func TestBind(t *testing.T) {
	q, err := bind(Postgres{}, "SELECT x::text, ':nope' FROM t WHERE a = :identifier OR b = LOWER(:identifier)", paramIdentifier)
	if err != nil {
		t.Fatal(err)
	}
	if want := "SELECT x::text, ':nope' FROM t WHERE a = $1 OR b = LOWER($2)"; q.sql != want {
		t.Errorf("got %q", q.sql)
	}
	if got := q.args(map[string]any{paramIdentifier: "x"}); !reflect.DeepEqual(got, []any{"x", "x"}) {
		t.Errorf("args %v", got)
	}
	q, err = bind(MySQL{}, "SELECT `a:b` FROM t WHERE id > :after LIMIT :limit", paramAfter, paramLimit)
	if err != nil || q.sql != "SELECT `a:b` FROM t WHERE id > ? LIMIT ?" {
		t.Errorf("mysql: %q %v", q.sql, err)
	}
	q, err = bind(MSSQL{}, "SELECT [a:b] FROM t WHERE id = :legacy_id", paramLegacyID)
	if err != nil || q.sql != "SELECT [a:b] FROM t WHERE id = @p1" {
		t.Errorf("mssql: %q %v", q.sql, err)
	}
	for _, bad := range []string{"SELECT 1 WHERE a = :identifer", "SELECT 1", "SELECT ':identifier"} {
		if _, err := bind(Postgres{}, bad, paramIdentifier); err == nil {
			t.Errorf("bind(%q) accepted", bad)
		}
	}
}

func TestEveryPresetBindsInEveryDialect(t *testing.T) {
	for _, d := range []Dialect{Postgres{}, MySQL{}, MSSQL{}, SQLite{}} {
		for _, p := range PresetNames() {
			q, err := BuildQueries(d, p)
			if err != nil {
				t.Fatalf("%s/%s: %v", d.Name(), p, err)
			}
			if strings.Contains(q.User, ":identifier") || q.Count == "" || q.List == "" {
				t.Errorf("%s/%s: %+v", d.Name(), p, q)
			}
		}
	}
}

func TestTargetsAndValues(t *testing.T) {
	for _, bad := range []string{"mail", "user_metadata.", "profile.x", "app_metadata.x:date"} {
		if _, err := parseTarget(bad); err == nil {
			t.Errorf("parseTarget(%q) accepted", bad)
		}
	}
	r := newRecord()
	set := func(target string, v any) {
		tg, err := parseTarget(target)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.set(tg, v); err != nil {
			t.Fatalf("%s: %v", target, err)
		}
	}
	set("legacy_id", int64(42))
	set("email_verified", []byte("1"))
	set("app_metadata.roles:php-roles", `a:2:{s:13:"administrator";b:1;s:6:"editor";b:0;}`)
	set("app_metadata.groups:list", "staff")
	set("user_metadata.tags", "a")
	set("user_metadata.tags", "b")
	set("user_metadata", `{"theme":"dark"}`)
	set("app_metadata.active:bool", int64(0))
	set("user_metadata.empty", "")
	p, err := r.profile()
	if err != nil {
		t.Fatal(err)
	}
	if p.LegacyId != "42" || !p.EmailVerified {
		t.Errorf("fields: %v", p)
	}
	um, am := p.UserMetadata.AsMap(), p.AppMetadata.AsMap()
	if !reflect.DeepEqual(um, map[string]any{"tags": []any{"a", "b"}, "theme": "dark"}) {
		t.Errorf("user_metadata %v", um)
	}
	if !reflect.DeepEqual(am, map[string]any{"roles": []any{"administrator"}, "groups": []any{"staff"}, "active": false}) {
		t.Errorf("app_metadata %v", am)
	}
	if err := r.set(target{field: "user_metadata", kind: "auto"}, "[1]"); err == nil {
		t.Error("a JSON array accepted as user_metadata")
	}
}

func TestConfigValidate(t *testing.T) {
	var c Config
	c.SetDefaults()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "dsn") {
		t.Errorf("missing dsn: %v", err)
	}
	c.Preset = "joomla"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "joomla") {
		t.Errorf("unknown preset: %v", err)
	}
}
