package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore/presettest"
	"github.com/trickle-auth/trickle/deploy/testenv/sqltest"
	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/connectortest"
)

// TestDirtyLegacyData runs every kind of dirty legacy row end to end: a
// WordPress store on its real PostgreSQL DDL, the real SQL connector, and
// authd. Each row migrates (what is kept or dropped is checked) or is
// refused with FAILED_PRECONDITION, and no sign-up can take a legacy
// user's address first. The rules are documented on identity.UserFromProfile.
func TestDirtyLegacyData(t *testing.T) {
	dsn, db := sqltest.Postgres(t)
	presettest.Seed(t, db, sqlcore.Postgres{}, "wordpress")
	pw, hash := presettest.Credential("wordpress", 0)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "ALTER TABLE wp_users ALTER COLUMN user_email DROP NOT NULL"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		id           int
		login, email any
	}{
		{10, "Mary Jane", "  Mary.Jane@Example.COM "}, // spaces in both, capitals
		{11, "dan@old.example", "dan@example.com"},    // '@' in the username
		{12, "Zoë", "zoe@example.com"},                // non-ASCII username
		{13, "nomail", nil},                           // NULL email
		{14, "twin1", "Twin@Example.com"},             // emails that differ only in case
		{15, "twin2", "twin@example.com"},
		{16, "frank@example.com", "frank2@example.com"}, // username = another user's email
		{17, "frank", "frank@example.com"},
		{18, "squatme", " Squat@Example.com"}, // a sign-up must not take it
	} {
		if _, err := db.ExecContext(ctx, "INSERT INTO wp_users (ID, user_login, user_pass, user_email, user_registered, display_name) VALUES ($1, $2, $3, $4, $5, $2)",
			r.id, r.login, hash, r.email, time.Date(2016, 1, 2, 3, 4, 5, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
	var lc sqlcore.Config
	lc.SetDefaults()
	lc.DSN, lc.Preset = kitconfig.SecretLiteral(dsn), "wordpress"
	e := newEnv(t)
	cfg := e.config()
	cfg.Connections = []config.Connection{{
		Name: "legacy", ImportMode: true, LegacyEnabled: true,
		Connector: config.Connector{Address: connectortest.ServeSQL(t, lc, "pgx", sqlcore.Postgres{}, ""), Timeout: 5 * time.Second, TLS: config.ClientTLS{Insecure: true}},
	}}
	c := authClient(t, e.start(cfg))
	login := func(ident string) (*authv1.LoginResponse, error) {
		return c.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: ident, Password: pw})
	}
	signUp := func(email string) error {
		_, err := c.SignUp(ctx, &authv1.SignUpRequest{Connection: "legacy", Email: email, Password: "a long enough sign-up password"})
		return err
	}

	// Sign-ups first: every legacy address, however it is stored, exists.
	for _, email := range []string{"mary.jane@example.com", "squat@example.com", "twin@example.com", "TWIN@example.com", "frank@example.com"} {
		if err := signUp(email); status.Code(err) != codes.AlreadyExists {
			t.Errorf("sign-up of legacy address %q: %v, want ALREADY_EXISTS", email, err)
		}
	}

	migrates := []struct {
		ident, email, username string
		legacyUsername         string // kept in app_metadata when dropped
	}{
		{"mary jane", "mary.jane@example.com", "mary jane", ""},
		{"dan@example.com", "dan@example.com", "", "dan@old.example"},
		{"ZOË", "zoe@example.com", "zoë", ""},
		{"twin1", "twin@example.com", "twin1", ""},
		{"frank2@example.com", "frank2@example.com", "", "frank@example.com"},
		{"frank", "frank@example.com", "frank", ""},
		{" SQUAT@example.com ", "squat@example.com", "squatme", ""},
	}
	for _, m := range migrates {
		resp, err := login(m.ident)
		if err != nil {
			t.Errorf("login %q: %v, want a migration", m.ident, err)
			continue
		}
		u := resp.GetUser()
		if !resp.GetMigrated() || u.GetEmail() != m.email || u.GetUsername() != m.username {
			t.Errorf("login %q: migrated %v as email %q username %q, want %q %q", m.ident, resp.GetMigrated(), u.GetEmail(), u.GetUsername(), m.email, m.username)
		}
		if got, _ := u.GetAppMetadata().AsMap()["legacy_username"].(string); got != m.legacyUsername {
			t.Errorf("login %q: app_metadata.legacy_username %q, want %q", m.ident, got, m.legacyUsername)
		}
		if got := u.GetCreatedAt().AsTime(); !got.Equal(time.Date(2016, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Errorf("login %q: created_at %v, want the legacy user_registered", m.ident, got)
		}
	}
	// The migrated users log in again by what they typed, from Trickle.
	for _, ident := range []string{"Mary Jane", "mary.jane@example.com", "zoë", "frank@example.com"} {
		if resp, err := login(ident); err != nil || resp.GetMigrated() {
			t.Errorf("second login %q: %v (migrated %v), want a local login", ident, err, resp.GetMigrated())
		}
	}

	refused := []struct{ ident, reason string }{
		{"nomail", "has no email"},
		{"twin2", "email is already used by another user"},
	}
	for _, r := range refused {
		_, err := login(r.ident)
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), r.reason) {
			t.Errorf("login %q: %v, want FAILED_PRECONDITION %q", r.ident, err, r.reason)
		}
		if strings.Contains(status.Convert(err).Message(), hash) {
			t.Errorf("login %q: the refusal shows the hash", r.ident)
		}
	}
	// After all that, sign-ups of the legacy addresses are still refused.
	for _, email := range []string{"twin@example.com", "frank2@example.com", "dan@example.com"} {
		if err := signUp(email); status.Code(err) != codes.AlreadyExists {
			t.Errorf("sign-up of %q after migration: %v, want ALREADY_EXISTS", email, err)
		}
	}
}
