package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
)

// demoUser is one user of the demo legacy database. Every hash was made by
// the software that uses its format, for a known password; none is
// computed here. Sources (in this repository):
// connectors/kit/sqlcore/presettest/testdata/hashes.json and
// passwordhash/testdata/vectors_*.json (see its README).
type demoUser struct {
	ID            int64
	Email         string
	Username      string
	Name          string
	EmailVerified bool
	Password      string
	Format        string // what the hash is, for people
	Hash          string
	UserMetadata  string // JSON or ""
	AppMetadata   string // JSON or ""
}

var demoUsers = []demoUser{
	{
		ID: 1, Email: "ada@example.com", Username: "ada", Name: "Ada Lovelace", EmailVerified: true,
		Password: "correct horse battery staple",
		Format:   "bcrypt ($2y$, PHP password_hash)",
		// presettest hashes.json "generic"[0]: PHP 8.2 password_hash, cost 5.
		Hash:         "$2y$05$.8yI5Y2/lzfA.GUagMhEsev/x7F0hrwIIEVrzvRNBXzJa7dykTLOe",
		UserMetadata: `{"theme": "dark", "locale": "en-GB"}`,
		AppMetadata:  `{"plan": "pro", "roles": ["admin"], "seats": 5}`,
	},
	{
		ID: 2, Email: "grace@example.com", Username: "grace", Name: "Grace Hopper", EmailVerified: true,
		Password: "password",
		Format:   "phpass ($P$, WordPress)",
		// vectors_php.json: WordPress 6.1 class-phpass.php PasswordHash(8, true).
		Hash:         "$P$BuFg6jvKsPfsqrzicMnMiExSuO1uUk.",
		UserMetadata: `{"website": "https://grace.example.com"}`,
		AppMetadata:  `{"roles": ["editor"]}`,
	},
	{
		ID: 3, Email: "linus@example.com", Username: "linus", Name: "Linus Pauling", EmailVerified: false,
		Password: "pässwörd €",
		Format:   "Django PBKDF2-SHA256",
		// vectors_python.json: Django 3.2.25 PBKDF2PasswordHasher, 1000 iterations.
		Hash:        "pbkdf2_sha256$1000$6aAwGzHFZ5cmkceVY0WudI$wGinNziAhysW+NvSffvX1OSoMMrNzen3EKfhOeRLDPI=",
		AppMetadata: `{"plan": "free"}`,
	},
	{
		ID: 4, Email: "margaret@example.com", Username: "margaret", Name: "Margaret Hamilton", EmailVerified: true,
		Password: "my password",
		Format:   "ASP.NET Identity v3 (PBKDF2-SHA256)",
		// vectors_published.json: dotnet/aspnetcore PasswordHasherTest.cs
		// HashPassword_Version3 (SHA256, 10000 iterations).
		Hash:         "AQAAAAEAACcQAAAAEAABAgMEBQYHCAkKCwwNDg+yWU7rLgUwPZb1Itsmra7cbxw2EFpwpVFIEtP+JIuUEw==",
		UserMetadata: `{"locale": "en-US"}`,
		AppMetadata:  `{"roles": ["admin", "billing"]}`,
	},
}

// legacySchema is the generic preset's table (see connectors/README.md).
const legacySchema = `CREATE TABLE IF NOT EXISTS users (
	id INTEGER PRIMARY KEY,
	email TEXT NOT NULL UNIQUE,
	username TEXT UNIQUE,
	name TEXT,
	email_verified BOOLEAN NOT NULL DEFAULT 0,
	password_hash TEXT,
	user_metadata TEXT,
	app_metadata TEXT
)`

// seedLegacy creates the demo legacy database at path if needed and
// inserts the demo users that are missing. Existing rows are left alone.
func seedLegacy(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	if _, err := db.ExecContext(ctx, legacySchema); err != nil {
		return fmt.Errorf("legacy schema: %w", err)
	}
	for _, u := range demoUsers {
		_, err := db.ExecContext(ctx,
			`INSERT OR IGNORE INTO users (id, email, username, name, email_verified, password_hash, user_metadata, app_metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.Username, u.Name, u.EmailVerified, u.Hash, nullable(u.UserMetadata), nullable(u.AppMetadata))
		if err != nil {
			return fmt.Errorf("seed %s: %w", u.Email, err)
		}
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// sqliteDSN is a modernc.org/sqlite URI for the absolute path; readOnly
// for the connector, which only ever reads the legacy store.
func sqliteDSN(path string, readOnly bool) string {
	q := "_pragma=busy_timeout(5000)"
	if readOnly {
		q += "&mode=ro"
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q}).String()
}
