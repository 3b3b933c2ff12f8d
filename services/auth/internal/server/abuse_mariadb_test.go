package server_test

import (
	"context"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // the "mysql" driver of the legacy store
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

// startMariaDBConnector serves the generic preset over a real MariaDB
// database with the shared connector code, as connectors/mysql does.
func startMariaDBConnector(t *testing.T) string {
	t.Helper()
	dsn, db := sqltest.MySQL(t)
	presettest.Seed(t, db, sqlcore.MySQL{}, "generic")
	var lc sqlcore.Config
	lc.SetDefaults()
	lc.DSN, lc.Preset = kitconfig.SecretLiteral(dsn), "generic"
	return connectortest.ServeSQL(t, lc, "mysql", sqlcore.MySQL{}, "")
}

// MariaDB matches identifiers by its collation (utf8mb4_general_ci: case
// and accents ignored, trailing spaces ignored), so "Alice@Example.com",
// "ÀLICE@example.com", "alice@example.com " and the username "alice" all
// reach one legacy row. Before, each spelling had its own 10 tries; now
// they share the account's budget (the connector names the matched legacy
// account in its refusal), over two authd instances.
func TestSpellingsOfOneLegacyAccountShareItsBudget(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.Connections = []config.Connection{{
		Name: "legacy", ImportMode: true, LegacyEnabled: true,
		Connector: config.Connector{Address: startMariaDBConnector(t), Timeout: 5 * time.Second, TLS: config.ClientTLS{Insecure: true}},
	}}
	clients := []authv1.AuthServiceClient{authClient(t, e.start(cfg)), authClient(t, e.start(cfg))}
	alice := presettest.Users(t, "generic")[0]
	ctx := context.Background()
	spellings := []string{"Alice@Example.com", "ÀLICE@example.com", "alice@example.com ", "alice", "ALICE", "Älice@EXAMPLE.com"}
	checked := 0
	for i := range 60 {
		_, err := clients[i%2].Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: spellings[i%len(spellings)], Password: "wrong-guess"})
		switch status.Code(err) {
		case codes.Unauthenticated:
			checked++
		case codes.ResourceExhausted:
		default:
			t.Fatalf("attempt %d (%q): %v", i, spellings[i%len(spellings)], err)
		}
	}
	t.Logf("60 wrong guesses in %d spellings: %d checked by MariaDB", len(spellings), checked)
	// The email's spellings fold to one key; the username gets one check
	// before MariaDB names the account. Before: 10 per spelling key (30).
	if checked > 11 {
		t.Fatalf("%d guesses checked across spellings of one account, want at most 11", checked)
	}
	for _, s := range []string{"alice@example.com", "alice"} {
		_, err := clients[0].Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: s, Password: alice.Password})
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("right password as %q on a blocked account: %v", s, err)
		}
	}
}
