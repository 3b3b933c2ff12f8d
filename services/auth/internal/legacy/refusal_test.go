package legacy_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/connectortest"
	"github.com/trickle-auth/trickle/services/auth/internal/legacy"
)

const (
	wrongPassword = connectorv1.ErrorReason_ERROR_REASON_WRONG_PASSWORD
	unknownUser   = connectorv1.ErrorReason_ERROR_REASON_UNKNOWN_USER
	unspecified   = connectorv1.ErrorReason_ERROR_REASON_UNSPECIFIED
)

// wantRefusal checks err is a Login refusal (getUser false) or GetUser's
// not-found with the reason and legacy id, and that its text names neither
// the identifier nor the password.
func wantRefusal(t *testing.T, what string, err error, getUser bool, reason connectorv1.ErrorReason, legacyID string, secrets ...string) {
	t.Helper()
	var r *legacy.Refusal
	if !errors.As(err, &r) {
		t.Fatalf("%s: %v is not a *legacy.Refusal", what, err)
	}
	if r.Reason != reason || r.LegacyID != legacyID {
		t.Errorf("%s: refusal %v/%q, want %v/%q", what, r.Reason, r.LegacyID, reason, legacyID)
	}
	if errors.Is(err, legacy.ErrRejected) == getUser || errors.Is(err, legacy.ErrNotFound) != getUser || errors.Is(err, legacy.ErrUnavailable) {
		t.Errorf("%s: %v: Is(ErrRejected)=%v Is(ErrNotFound)=%v, want GetUser=%v", what, err,
			errors.Is(err, legacy.ErrRejected), errors.Is(err, legacy.ErrNotFound), getUser)
	}
	for _, s := range secrets {
		if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(s)) {
			t.Errorf("%s: error %q contains %q", what, err, s)
		}
	}
}

// The kit's server and this client agree on the wire: reason strings,
// domain and the legacy_id key, through mTLS, the bearer token and Guard.
func TestKitRefusalsAreTyped(t *testing.T) {
	p := newPKI(t)
	addr := startConnector(t, p, "connector-token")
	cl, err := legacy.Dial(config.Connector{
		Address: addr, Timeout: 5 * time.Second, Token: kitconfig.SecretLiteral("connector-token"),
		TLS: config.ClientTLS{CAFile: p.ca, CertFile: p.clientCert, KeyFile: p.clientKy, ServerName: "localhost"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	g := legacy.Guard("kit", cl, config.Guard{})
	ctx := context.Background()
	for _, id := range []string{"ada@example.com", "ADA@Example.COM", "ada@example.com  "} {
		_, err := g.Login(ctx, id, "wrong-pw-secret")
		wantRefusal(t, "Login("+id+") wrong password", err, false, wrongPassword, "1", "wrong-pw-secret", "ada@")
	}
	_, err = g.Login(ctx, "nobody@example.com", "wrong-pw-secret")
	wantRefusal(t, "Login of an unknown user", err, false, unknownUser, "", "wrong-pw-secret", "nobody")
	_, err = g.GetUser(ctx, "nobody@example.com")
	wantRefusal(t, "GetUser of an unknown user", err, true, unknownUser, "", "nobody")
	if _, err := g.Login(ctx, "ada@example.com", "pw-123456"); err != nil {
		t.Fatalf("Login with the right password: %v", err)
	}
}

// The auth service's fake connector answers the same shapes, including an
// old connector's plain refusals and a store whose collation folds accents.
func TestFakeConnectorRefusals(t *testing.T) {
	s := connectortest.Start(t)
	s.Add(connectortest.User{Password: "pw", Profile: &connectorv1.LegacyProfile{LegacyId: "7", Email: "ada@example.com", Username: "ada"}})
	c := dial(t, s.Addr, 5*time.Second)
	ctx := context.Background()
	s.SetFold(func(id string) string {
		return strings.NewReplacer("à", "a", "À", "a").Replace(strings.ToLower(strings.TrimRight(id, " ")))
	})
	for _, id := range []string{"ada@example.com", "ÀDA@example.com ", "àda"} {
		_, err := c.Login(ctx, id, "nope")
		wantRefusal(t, "Login("+id+")", err, false, wrongPassword, "7", "nope")
	}
	_, err := c.Login(ctx, "eve@example.com", "nope")
	wantRefusal(t, "Login of an unknown user", err, false, unknownUser, "", "eve")
	_, err = c.GetUser(ctx, "eve@example.com")
	wantRefusal(t, "GetUser of an unknown user", err, true, unknownUser, "", "eve")

	s.SetPlainRefusals(true) // a connector from before the reasons
	_, err = c.Login(ctx, "ada@example.com", "nope")
	wantRefusal(t, "old connector, wrong password", err, false, unspecified, "", "nope")
	_, err = c.Login(ctx, "eve@example.com", "nope")
	wantRefusal(t, "old connector, unknown user", err, false, unspecified, "", "eve")
	_, err = c.GetUser(ctx, "eve@example.com")
	wantRefusal(t, "old connector, GetUser", err, true, unspecified, "", "eve")
}

// A Refusal literal, as a test's fake connector builds one, is a Login
// refusal.
func TestRefusalLiteralIsALoginRefusal(t *testing.T) {
	var err error = &legacy.Refusal{Reason: wrongPassword, LegacyID: "42"}
	wantRefusal(t, "literal", err, false, wrongPassword, "42", "42")
	if got := (&legacy.Refusal{}).Error(); got != legacy.ErrRejected.Error() {
		t.Errorf("zero Refusal says %q", got)
	}
}
