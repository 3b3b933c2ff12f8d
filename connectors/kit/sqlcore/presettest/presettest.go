// Package presettest seeds every sqlcore preset's schema on a real database
// and describes the seeded users for the conformance suite. The SQL
// connectors' tests use it; the hashes come from testdata/hashes.json
// (made by the original software, see gen_hashes.sh), never at test time.
package presettest

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/conformance"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

//go:embed testdata/hashes.json
var hashesJSON []byte

type aspnetHash struct {
	Hash string `json:"hash"`
	Salt string `json:"salt"`
}

var hashes struct {
	Passwords []string          `json:"passwords"`
	WordPress []string          `json:"wordpress"`
	Django    []string          `json:"django"`
	Laravel   []string          `json:"laravel"`
	Drupal7   []string          `json:"drupal7"`
	ASPNet    []aspnetHash      `json:"aspnet-membership"`
	Generic   []string          `json:"generic"`
	Sources   map[string]string `json:"sources"`
}

func init() {
	if err := json.Unmarshal(hashesJSON, &hashes); err != nil {
		panic(err)
	}
}

// person is one seeded user, the same three in every preset.
type person struct {
	id                  int64
	guid                string
	email, username     string
	given, family, nick string
	locale              string
	roles               []string
}

var people = []person{
	{1, "00000000-0000-0000-0000-000000000001", "Alice@Example.com", "alice", "Alice", "Liddell", "ally", "en_GB", []string{"administrator", "editor"}},
	{2, "00000000-0000-0000-0000-000000000002", "bjorn@example.org", "Bjørn.K", "Bjørn", "Kristiansen", "", "nb_NO", []string{"editor"}},
	{3, "00000000-0000-0000-0000-000000000003", "carol@example.net", "carol_99", "Carol", "", "", "", nil},
}

// The seeded creation dates, as each application stores them.
var (
	wpRegistered   = time.Date(2015, 3, 4, 5, 6, 7, 0, time.UTC)
	djangoJoined   = time.Date(2019, 1, 2, 3, 4, 5, 0, time.UTC)
	laravelCreated = time.Date(2020, 6, 7, 8, 9, 10, 0, time.UTC)
	drupalCreated  = time.Unix(1400000000, 0).UTC()
	aspnetCreated  = time.Date(2012, 1, 2, 3, 4, 5, 0, time.UTC)
)

func (p person) name() string { return strings.TrimSpace(p.given + " " + p.family) }

// types are the column types each application really creates, per dialect
// (PostgreSQL, MySQL/MariaDB, SQL Server, SQLite): Django's AutoField is a
// 32-bit INTEGER (serial), WordPress's ids are bigint(20) unsigned,
// Laravel's id() is bigint unsigned, Drupal 7's uid is int unsigned (not
// auto-incremented: Drupal keeps its own sequence), ASP.NET Membership's
// ids are uniqueidentifier. SQL Server columns are not IDENTITY so that the
// seeds can insert their ids.
var types = map[string][4]string{
	"{DJANGO_ID}": {"SERIAL PRIMARY KEY", "INT NOT NULL AUTO_INCREMENT PRIMARY KEY", "INT NOT NULL PRIMARY KEY", "INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT"},
	"{DJANGO_FK}": {"INTEGER NOT NULL", "INT NOT NULL", "INT NOT NULL", "INTEGER NOT NULL"},
	"{DJANGO_TS}": {"TIMESTAMP WITH TIME ZONE", "DATETIME(6)", "DATETIME2", "DATETIME"},
	"{WP_ID}":     {"BIGSERIAL PRIMARY KEY", "BIGINT(20) UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY", "BIGINT NOT NULL PRIMARY KEY", "INTEGER PRIMARY KEY"},
	"{WP_FK}":     {"BIGINT NOT NULL DEFAULT 0", "BIGINT(20) UNSIGNED NOT NULL DEFAULT 0", "BIGINT NOT NULL DEFAULT 0", "INTEGER NOT NULL DEFAULT 0"},
	"{LV_ID}":     {"BIGSERIAL PRIMARY KEY", "BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY", "BIGINT NOT NULL PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT"},
	"{D7_UID}":    {"INTEGER NOT NULL DEFAULT 0 CHECK (uid >= 0) PRIMARY KEY", "INT UNSIGNED NOT NULL DEFAULT 0 PRIMARY KEY", "INT NOT NULL DEFAULT 0 PRIMARY KEY", "INTEGER NOT NULL DEFAULT 0 PRIMARY KEY"},
	"{D7_SERIAL}": {"SERIAL CHECK (rid >= 0) PRIMARY KEY", "INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY", "INT NOT NULL PRIMARY KEY", "INTEGER PRIMARY KEY"},
	"{D7_FK}":     {"INTEGER NOT NULL DEFAULT 0 CHECK (uid >= 0)", "INT UNSIGNED NOT NULL DEFAULT 0", "INT NOT NULL DEFAULT 0", "INTEGER NOT NULL DEFAULT 0"},
	"{D7_RID}":    {"INTEGER NOT NULL DEFAULT 0 CHECK (rid >= 0)", "INT UNSIGNED NOT NULL DEFAULT 0", "INT NOT NULL DEFAULT 0", "INTEGER NOT NULL DEFAULT 0"},
	"{ID}":        {"BIGINT PRIMARY KEY", "BIGINT UNSIGNED PRIMARY KEY", "BIGINT PRIMARY KEY", "INTEGER PRIMARY KEY"},
	"{TEXT}":      {"VARCHAR(255)", "VARCHAR(255)", "NVARCHAR(255)", "VARCHAR(255)"},
	"{LONG}":      {"TEXT", "LONGTEXT", "NVARCHAR(MAX)", "TEXT"},
	"{BOOL}":      {"BOOLEAN", "TINYINT(1)", "BIT", "BOOLEAN"},
	"{BIT}":       {"SMALLINT", "TINYINT(1)", "BIT", "SMALLINT"},
	"{INT}":       {"INT", "INT", "INT", "INT"},
	"{TS}":        {"TIMESTAMP", "DATETIME", "DATETIME2", "TIMESTAMP"},
	"{JSON}":      {"JSONB", "JSON", "NVARCHAR(MAX)", "TEXT"},
	"{GUID}":      {"UUID", "CHAR(36)", "UNIQUEIDENTIFIER", "TEXT"},
}

// DDL expands the type markers of stmt for d.
func DDL(d sqlcore.Dialect, stmt string) string {
	i := map[string]int{"postgres": 0, "mysql": 1, "mssql": 2, "sqlite": 3}[d.Name()]
	for k, v := range types {
		stmt = strings.ReplaceAll(stmt, k, v[i])
	}
	return stmt
}

// placeholders turns ? into the dialect's placeholders.
func placeholders(d sqlcore.Dialect, stmt string) string {
	var b strings.Builder
	n := 0
	for _, r := range stmt {
		if r == '?' {
			n++
			b.WriteString(d.Placeholder(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

type seed struct {
	schema []string
	rows   func() [][]any // first element: the INSERT with ? placeholders
	users  func() []conformance.User
}

func st(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	if len(m) == 0 {
		return nil
	}
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func roles(p person) []any {
	out := []any{}
	for _, r := range p.roles {
		out = append(out, r)
	}
	return out
}

func seeds(t *testing.T) map[string]seed {
	pw := hashes.Passwords
	return map[string]seed{
		"wordpress":         wordpressSeed(t, pw),
		"django":            djangoSeed(t, pw),
		"laravel":           laravelSeed(t, pw),
		"drupal7":           drupal7Seed(t, pw),
		"aspnet-membership": aspnetMembershipSeed(t, pw),
		"generic":           genericSeed(t, pw),
	}
}

// wordpressSeed is the wordpress preset's schema, rows and expected users.
func wordpressSeed(t *testing.T, pw []string) seed {
	return seed{
		schema: []string{
			"CREATE TABLE wp_users (ID {WP_ID}, user_login VARCHAR(60) NOT NULL DEFAULT '', user_pass VARCHAR(255) NOT NULL DEFAULT '', user_nicename VARCHAR(50) NOT NULL DEFAULT '', user_email VARCHAR(100) NOT NULL DEFAULT '', user_url VARCHAR(100) NOT NULL DEFAULT '', user_registered {TS} NOT NULL, user_activation_key VARCHAR(255) NOT NULL DEFAULT '', user_status {INT} NOT NULL DEFAULT 0, display_name VARCHAR(250) NOT NULL DEFAULT '')",
			"CREATE TABLE wp_usermeta (umeta_id {WP_ID}, user_id {WP_FK}, meta_key VARCHAR(255) NULL, meta_value {LONG} NULL)",
		},
		rows: func() [][]any {
			var rows [][]any
			meta := int64(0)
			addMeta := func(uid int64, k, v string) {
				meta++
				rows = append(rows, []any{"INSERT INTO wp_usermeta (umeta_id, user_id, meta_key, meta_value) VALUES (?, ?, ?, ?)", meta, uid, k, v})
			}
			for i, p := range people {
				url := ""
				if i == 0 {
					url = "https://alice.example.com"
				}
				rows = append(rows, []any{"INSERT INTO wp_users (ID, user_login, user_pass, user_nicename, user_email, user_url, user_registered, user_status, display_name) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
					p.id, p.username, hashes.WordPress[i], strings.ToLower(p.username), p.email, url, wpRegistered, p.name()})
				addMeta(p.id, "first_name", p.given)
				addMeta(p.id, "last_name", p.family)
				addMeta(p.id, "nickname", p.nick)
				addMeta(p.id, "description", "")
				addMeta(p.id, "rich_editing", "true")
				if p.locale != "" {
					addMeta(p.id, "locale", p.locale)
				}
				caps := "a:0:{}"
				if len(p.roles) > 0 {
					caps = "a:" + itoa(len(p.roles)) + ":{"
					for _, r := range p.roles {
						caps += "s:" + itoa(len(r)) + ":\"" + r + "\";b:1;"
					}
					caps += "s:9:\"read_only\";b:0;}"
				}
				addMeta(p.id, "wp_capabilities", caps)
			}
			return rows
		},
		users: func() []conformance.User {
			var us []conformance.User
			for i, p := range people {
				um := map[string]any{}
				if p.locale != "" {
					um["locale"] = p.locale
				}
				if i == 0 {
					um["website"] = "https://alice.example.com"
				}
				us = append(us, conformance.User{
					Identifiers: []string{p.email, p.username}, Password: pw[i],
					Profile: &connectorv1.LegacyProfile{
						LegacyId: itoa(int(p.id)), Email: p.email, Username: p.username, Name: p.name(),
						GivenName: p.given, FamilyName: p.family, Nickname: p.nick,
						UserMetadata: st(t, um), AppMetadata: st(t, map[string]any{"roles": roles(p)}),
						CreatedAt: timestamppb.New(wpRegistered),
					},
				})
			}
			return us
		},
	}
}

// djangoSeed is the django preset's schema, rows and expected users.
func djangoSeed(t *testing.T, pw []string) seed {
	return seed{
		schema: []string{
			"CREATE TABLE auth_user (id {DJANGO_ID}, password VARCHAR(128) NOT NULL, last_login {DJANGO_TS} NULL, is_superuser {BOOL} NOT NULL, username VARCHAR(150) NOT NULL UNIQUE, first_name VARCHAR(150) NOT NULL, last_name VARCHAR(150) NOT NULL, email VARCHAR(254) NOT NULL, is_staff {BOOL} NOT NULL, is_active {BOOL} NOT NULL, date_joined {DJANGO_TS} NOT NULL)",
			"CREATE TABLE auth_group (id {DJANGO_ID}, name VARCHAR(150) NOT NULL UNIQUE)",
			"CREATE TABLE auth_user_groups (id {DJANGO_ID}, user_id {DJANGO_FK} REFERENCES auth_user (id), group_id {DJANGO_FK} REFERENCES auth_group (id))",
		},
		rows: func() [][]any {
			rows := [][]any{
				{"INSERT INTO auth_group (id, name) VALUES (?, ?)", int64(1), "administrator"},
				{"INSERT INTO auth_group (id, name) VALUES (?, ?)", int64(2), "editor"},
			}
			link := int64(0)
			for i, p := range people {
				rows = append(rows, []any{"INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
					p.id, hashes.Django[i], false, p.username, p.given, p.family, p.email, i == 0, true, djangoJoined})
				for _, r := range p.roles {
					link++
					gid := map[string]int64{"administrator": 1, "editor": 2}[r]
					rows = append(rows, []any{"INSERT INTO auth_user_groups (id, user_id, group_id) VALUES (?, ?, ?)", link, p.id, gid})
				}
			}
			return rows
		},
		users: func() []conformance.User {
			var us []conformance.User
			for i, p := range people {
				am := map[string]any{"is_staff": i == 0, "is_superuser": false}
				if len(p.roles) > 0 {
					am["groups"] = roles(p)
				}
				us = append(us, conformance.User{
					Identifiers: []string{p.email, p.username}, Password: pw[i],
					Profile: &connectorv1.LegacyProfile{
						LegacyId: itoa(int(p.id)), Email: p.email, Username: p.username, Name: p.name(),
						GivenName: p.given, FamilyName: p.family, AppMetadata: st(t, am),
						CreatedAt: timestamppb.New(djangoJoined),
					},
				})
			}
			return us
		},
	}
}

// laravelSeed is the laravel preset's schema, rows and expected users.
func laravelSeed(t *testing.T, pw []string) seed {
	return seed{
		schema: []string{
			"CREATE TABLE users (id {LV_ID}, name {TEXT} NOT NULL, email {TEXT} NOT NULL UNIQUE, email_verified_at {TS} NULL, password {TEXT} NOT NULL, remember_token VARCHAR(100) NULL, created_at {TS} NULL, updated_at {TS} NULL)",
		},
		rows: func() [][]any {
			var rows [][]any
			for i, p := range people {
				var verified any
				if i != 1 {
					verified = time.Date(2021, 5, 6, 7, 8, 9, 0, time.UTC)
				}
				rows = append(rows, []any{"INSERT INTO users (id, name, email, email_verified_at, password, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
					p.id, p.name(), p.email, verified, hashes.Laravel[i], laravelCreated, laravelCreated})
			}
			return rows
		},
		users: func() []conformance.User {
			var us []conformance.User
			for i, p := range people {
				us = append(us, conformance.User{
					Identifiers: []string{p.email}, Password: pw[i],
					Profile: &connectorv1.LegacyProfile{LegacyId: itoa(int(p.id)), Email: p.email, Name: p.name(), EmailVerified: i != 1,
						CreatedAt: timestamppb.New(laravelCreated)},
				})
			}
			return us
		},
	}
}

// drupal7Seed is the drupal7 preset's schema, rows and expected users.
func drupal7Seed(t *testing.T, pw []string) seed {
	return seed{
		schema: []string{
			"CREATE TABLE users (uid {D7_UID}, name VARCHAR(60) NOT NULL DEFAULT '' UNIQUE, pass VARCHAR(128) NOT NULL DEFAULT '', mail VARCHAR(254) NULL DEFAULT '', theme VARCHAR(255) NOT NULL DEFAULT '', signature VARCHAR(255) NOT NULL DEFAULT '', created {INT} NOT NULL DEFAULT 0, access {INT} NOT NULL DEFAULT 0, login {INT} NOT NULL DEFAULT 0, status SMALLINT NOT NULL DEFAULT 0, timezone VARCHAR(32) NULL, language VARCHAR(12) NOT NULL DEFAULT '', picture {INT} NOT NULL DEFAULT 0, init VARCHAR(254) NULL DEFAULT '', data {LONG} NULL)",
			"CREATE TABLE role (rid {D7_SERIAL}, name VARCHAR(64) NOT NULL DEFAULT '' UNIQUE, weight {INT} NOT NULL DEFAULT 0)",
			"CREATE TABLE users_roles (uid {D7_FK}, rid {D7_RID}, PRIMARY KEY (uid, rid))",
		},
		rows: func() [][]any {
			rows := [][]any{
				{"INSERT INTO users (uid, name, pass, mail, status, language, created) VALUES (0, '', '', '', 0, '', 0)"},
				{"INSERT INTO role (rid, name) VALUES (?, ?)", int64(1), "anonymous user"},
				{"INSERT INTO role (rid, name) VALUES (?, ?)", int64(2), "authenticated user"},
				{"INSERT INTO role (rid, name) VALUES (?, ?)", int64(3), "administrator"},
				{"INSERT INTO role (rid, name) VALUES (?, ?)", int64(4), "editor"},
			}
			for i, p := range people {
				var tz any
				if p.locale != "" {
					tz = "Europe/Oslo"
				}
				rows = append(rows, []any{"INSERT INTO users (uid, name, pass, mail, status, timezone, language, created, init) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)",
					p.id, p.username, hashes.Drupal7[i], p.email, tz, strings.Split(p.locale, "_")[0], drupalCreated.Unix(), p.email})
				for _, r := range p.roles {
					rid := map[string]int64{"administrator": 3, "editor": 4}[r]
					rows = append(rows, []any{"INSERT INTO users_roles (uid, rid) VALUES (?, ?)", p.id, rid})
				}
			}
			return rows
		},
		users: func() []conformance.User {
			var us []conformance.User
			for i, p := range people {
				um := map[string]any{}
				if p.locale != "" {
					um["timezone"] = "Europe/Oslo"
					um["language"] = strings.Split(p.locale, "_")[0]
				}
				var am map[string]any
				if len(p.roles) > 0 {
					am = map[string]any{"roles": roles(p)}
				}
				us = append(us, conformance.User{
					Identifiers: []string{p.email, p.username}, Password: pw[i],
					Profile: &connectorv1.LegacyProfile{LegacyId: itoa(int(p.id)), Email: p.email, Username: p.username,
						UserMetadata: st(t, um), AppMetadata: st(t, am), CreatedAt: timestamppb.New(drupalCreated)},
				})
			}
			return us
		},
	}
}

// aspnetMembershipSeed is the aspnet-membership preset's schema, rows and expected users.
func aspnetMembershipSeed(t *testing.T, pw []string) seed {
	return seed{
		schema: []string{
			"CREATE TABLE aspnet_Users (ApplicationId {GUID} NOT NULL, UserId {GUID} NOT NULL PRIMARY KEY, UserName {TEXT} NOT NULL, LoweredUserName {TEXT} NOT NULL, IsAnonymous {BIT} NOT NULL, LastActivityDate {TS} NOT NULL)",
			"CREATE TABLE aspnet_Membership (ApplicationId {GUID} NOT NULL, UserId {GUID} NOT NULL PRIMARY KEY, Password {TEXT} NOT NULL, PasswordFormat {INT} NOT NULL, PasswordSalt {TEXT} NOT NULL, Email {TEXT}, LoweredEmail {TEXT}, IsApproved {BIT} NOT NULL, IsLockedOut {BIT} NOT NULL, CreateDate {TS} NOT NULL)",
			"CREATE TABLE aspnet_Roles (RoleId {GUID} NOT NULL PRIMARY KEY, RoleName {TEXT} NOT NULL)",
			"CREATE TABLE aspnet_UsersInRoles (UserId {GUID} NOT NULL, RoleId {GUID} NOT NULL)",
		},
		rows: func() [][]any {
			app := "0a0a0a0a-0000-0000-0000-000000000000"
			roleID := map[string]string{"administrator": "0b0b0b0b-0000-0000-0000-000000000001", "editor": "0b0b0b0b-0000-0000-0000-000000000002"}
			rows := [][]any{
				{"INSERT INTO aspnet_Roles (RoleId, RoleName) VALUES (?, ?)", roleID["administrator"], "Administrator"},
				{"INSERT INTO aspnet_Roles (RoleId, RoleName) VALUES (?, ?)", roleID["editor"], "Editor"},
			}
			ts := aspnetCreated
			for i, p := range people {
				format := int64(1)
				if hashes.ASPNet[i].Salt == "" {
					format = 0 // clear
				}
				rows = append(rows,
					[]any{"INSERT INTO aspnet_Users (ApplicationId, UserId, UserName, LoweredUserName, IsAnonymous, LastActivityDate) VALUES (?, ?, ?, ?, 0, ?)",
						app, p.guid, p.username, strings.ToLower(p.username), ts},
					[]any{"INSERT INTO aspnet_Membership (ApplicationId, UserId, Password, PasswordFormat, PasswordSalt, Email, LoweredEmail, IsApproved, IsLockedOut, CreateDate) VALUES (?, ?, ?, ?, ?, ?, ?, 1, 0, ?)",
						app, p.guid, hashes.ASPNet[i].Hash, format, hashes.ASPNet[i].Salt, p.email, strings.ToLower(p.email), ts})
				for _, r := range p.roles {
					rows = append(rows, []any{"INSERT INTO aspnet_UsersInRoles (UserId, RoleId) VALUES (?, ?)", p.guid, roleID[r]})
				}
			}
			return rows
		},
		users: func() []conformance.User {
			var us []conformance.User
			for i, p := range people {
				var am map[string]any
				if len(p.roles) > 0 {
					rs := []any{}
					for _, r := range p.roles {
						rs = append(rs, strings.ToUpper(r[:1])+r[1:])
					}
					am = map[string]any{"roles": rs}
				}
				us = append(us, conformance.User{
					Identifiers: []string{p.email, p.username}, Password: pw[i],
					Profile: &connectorv1.LegacyProfile{LegacyId: p.guid, Email: p.email, Username: p.username, AppMetadata: st(t, am),
						CreatedAt: timestamppb.New(aspnetCreated)},
				})
			}
			return us
		},
	}
}

// genericSeed is the generic preset's schema, rows and expected users.
func genericSeed(t *testing.T, pw []string) seed {
	return seed{
		schema: []string{
			"CREATE TABLE users (id {ID}, email {TEXT} NOT NULL, username {TEXT}, name {TEXT}, email_verified {BOOL} NOT NULL, password_hash {TEXT}, user_metadata {JSON}, app_metadata {JSON})",
		},
		rows: func() [][]any {
			var rows [][]any
			for i, p := range people {
				um, am := any(nil), any(nil)
				if i == 0 {
					um, am = `{"theme": "dark", "locale": "en-GB"}`, `{"plan": "pro", "roles": ["admin"], "seats": 5}`
				}
				rows = append(rows, []any{"INSERT INTO users (id, email, username, name, email_verified, password_hash, user_metadata, app_metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
					p.id, p.email, p.username, p.name(), i != 2, hashes.Generic[i], um, am})
			}
			return rows
		},
		users: func() []conformance.User {
			var us []conformance.User
			for i, p := range people {
				prof := &connectorv1.LegacyProfile{LegacyId: itoa(int(p.id)), Email: p.email, Username: p.username, Name: p.name(), EmailVerified: i != 2}
				if i == 0 {
					prof.UserMetadata = st(t, map[string]any{"theme": "dark", "locale": "en-GB"})
					prof.AppMetadata = st(t, map[string]any{"plan": "pro", "roles": []any{"admin"}, "seats": 5.0})
				}
				us = append(us, conformance.User{Identifiers: []string{p.email, p.username}, Password: pw[i], Profile: prof})
			}
			return us
		},
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// Seed creates preset's schema in db and inserts the three users.
func Seed(t *testing.T, db *sql.DB, d sqlcore.Dialect, preset string) {
	t.Helper()
	s, ok := seeds(t)[preset]
	if !ok {
		t.Fatalf("presettest: no seed for preset %q", preset)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, stmt := range s.schema {
		if _, err := db.ExecContext(ctx, DDL(d, stmt)); err != nil {
			t.Fatalf("%s: %v", DDL(d, stmt), err)
		}
	}
	for _, row := range s.rows() {
		stmt := placeholders(d, row[0].(string))
		if _, err := db.ExecContext(ctx, stmt, row[1:]...); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

// Users are the conformance users of preset, in legacy-id order.
func Users(t *testing.T, preset string) []conformance.User { return seeds(t)[preset].users() }

// Presets lists the presets this package seeds (all of sqlcore's).
func Presets() []string { return sqlcore.PresetNames() }

// Fixture seeds preset in db and opens a connector on dsn, which must reach
// db through proxy so that the hooks can cut or slow it.
func Fixture(t *testing.T, preset string, db *sql.DB, d sqlcore.Dialect, driver, dsn string, proxy *conformance.Proxy) conformance.Fixture {
	t.Helper()
	Seed(t, db, d, preset)
	var cfg sqlcore.Config
	cfg.SetDefaults()
	cfg.DSN = config.SecretLiteral(dsn)
	cfg.Preset = preset
	cfg.SharePasswordHash = true
	c, err := sqlcore.Open(cfg, driver, d, nil)
	if err != nil {
		t.Fatalf("sqlcore.Open: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return conformance.Fixture{
		Connector:       c,
		Users:           Users(t, preset),
		LoginSharesHash: true,
		Unreachable:     proxy.Cut,
		Slow:            proxy.SetDelay,
	}
}

// Credential returns the i-th seeded password (0-2) and its hash as
// preset's application stored it, for tests that seed more rows.
func Credential(preset string, i int) (password, hash string) {
	byPreset := map[string][]string{"wordpress": hashes.WordPress, "django": hashes.Django,
		"laravel": hashes.Laravel, "drupal7": hashes.Drupal7, "generic": hashes.Generic}
	return hashes.Passwords[i], byPreset[preset][i]
}
