package account_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/protobuf/types/known/structpb"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/deploy/testenv/mongotest"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/account"
	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/connectortest"
	"github.com/trickle-auth/trickle/services/auth/internal/connset"
	"github.com/trickle-auth/trickle/services/auth/internal/legacy"
	"github.com/trickle-auth/trickle/services/auth/internal/password"
	"github.com/trickle-auth/trickle/services/auth/internal/store"
	"github.com/trickle-auth/trickle/services/auth/internal/store/mongostore"
	"github.com/trickle-auth/trickle/services/auth/internal/webhook"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

var testParams = password.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

type harness struct {
	t      *testing.T
	db     *mongo.Database
	st     *mongostore.Store
	legacy *connectortest.Server
	hasher *password.Hasher
	svc    *account.Service
	deps   account.Deps
	hook   *hookServer
}

// hookServer is the operator's webhook receiver: it verifies signatures
// and can fail the first attempts.
type hookServer struct {
	url      string
	secret   string
	failures atomic.Int32 // answer 500 this many more times
	attempts atomic.Int32
	mu       sync.Mutex
	events   []account.ResetEvent
	badSig   atomic.Int32
}

func startHook(t *testing.T) *hookServer {
	h := &hookServer{secret: "hook-secret"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.attempts.Add(1)
		body, _ := io.ReadAll(r.Body)
		if !webhook.Verify(h.secret, r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, time.Now(), 5*time.Minute) {
			h.badSig.Add(1)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if h.failures.Add(-1) >= 0 {
			http.Error(w, "try later", http.StatusInternalServerError)
			return
		}
		var ev account.ResetEvent
		_ = json.Unmarshal(body, &ev)
		h.mu.Lock()
		h.events = append(h.events, ev)
		h.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

func (h *hookServer) received() []account.ResetEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]account.ResetEvent(nil), h.events...)
}

func newHarness(t *testing.T, conn func(*config.Connection)) *harness {
	t.Helper()
	h := &harness{t: t, db: mongotest.Database(t), legacy: connectortest.Start(t), hook: startHook(t)}
	var err error
	if h.st, err = mongostore.New(context.Background(), h.db); err != nil {
		t.Fatal(err)
	}
	if h.hasher, err = password.NewHasher(testParams, 0); err != nil {
		t.Fatal(err)
	}
	c := config.Connection{
		Name: "legacy", ImportMode: true, LegacyEnabled: true,
		Connector: config.Connector{Address: h.legacy.Addr, Timeout: 2 * time.Second, TLS: config.ClientTLS{Insecure: true}},
	}
	if conn != nil {
		conn(&c)
	}
	conns, err := connset.NewConnections([]config.Connection{c}, func(c config.Connector) (legacy.Connector, error) { return legacy.Dial(c) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conns.Close)
	var cfg config.Config
	cfg.SetDefaults()
	reset := cfg.PasswordReset
	reset.Webhook = config.Webhook{URL: h.hook.url, Secret: kitconfig.SecretLiteral(h.hook.secret), Timeout: time.Second, MaxAttempts: 4, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}
	w := reset.Webhook
	h.deps = account.Deps{
		Store: h.st, Hasher: h.hasher, Connections: connset.NewConnectionSource(conns), Policy: cfg.Password.Policy, Reset: reset,
		Notifier: webhook.New(webhook.Config{URL: w.URL, Secret: w.Secret.Value, Timeout: w.Timeout, MaxAttempts: w.MaxAttempts, InitialBackoff: w.InitialBackoff, MaxBackoff: w.MaxBackoff}),
	}
	h.svc = account.New(h.deps)
	t.Cleanup(func() { h.svc.Close(context.Background()) })
	return h
}

// rebuild replaces the service with one built from changed deps.
func (h *harness) rebuild(change func(*account.Deps)) {
	h.svc.Close(context.Background())
	change(&h.deps)
	h.svc = account.New(h.deps)
}

func (h *harness) addLegacy(id, email, username, pw string) {
	um, _ := structpb.NewStruct(map[string]any{"locale": "fr"})
	am, _ := structpb.NewStruct(map[string]any{"plan": "gold"})
	h.legacy.Add(connectortest.User{Password: pw, Profile: &connectorv1.LegacyProfile{
		LegacyId: id, Email: email, Username: username, EmailVerified: true, Name: "Legacy " + id, UserMetadata: um, AppMetadata: am,
	}})
}

func (h *harness) userCount() int64 {
	n, err := h.db.Collection("users").CountDocuments(context.Background(), bson.D{})
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) verifies(id, pw string) bool {
	u, err := h.st.Get(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	ok, _, err := h.hasher.Verify(context.Background(), pw, u.PasswordHash)
	return err == nil && ok
}

func wantKind(t *testing.T, err error, kind apperr.Kind) {
	t.Helper()
	if apperr.KindOf(err) != kind {
		t.Fatalf("got %v (kind %v), want %v", err, apperr.KindOf(err), kind)
	}
}

func signup(email, username, pw string) account.SignUpInput {
	return account.SignUpInput{Connection: "legacy", Email: email, Username: username, Password: pw, Name: "N", UserMetadata: map[string]any{"k": "v"}}
}

func TestSignUp(t *testing.T) {
	h := newHarness(t, nil)
	h.addLegacy("1", "legacy@example.com", "legacyname", "pw-legacy-1")
	ctx := context.Background()

	u, err := h.svc.SignUp(ctx, signup(" New@Example.com", "newbie", "a good password"))
	if err != nil {
		t.Fatal(err)
	}
	if u.Origin != store.OriginSignup || u.Email != "new@example.com" || !u.MigratedAt.IsZero() || u.UserMetadata["k"] != "v" || !h.verifies(u.ID, "a good password") {
		t.Fatalf("signed-up user: %+v", u)
	}
	calls := h.legacy.GetUserCalls.Load()
	if calls != 2 { // email and username
		t.Fatalf("GetUser calls = %d, want 2", calls)
	}

	for name, c := range map[string]struct {
		in   account.SignUpInput
		kind apperr.Kind
	}{
		"email in store":        {signup("NEW@example.com", "", "a good password"), apperr.AlreadyExists},
		"username in store":     {signup("x@example.com", "Newbie", "a good password"), apperr.AlreadyExists},
		"email in legacy":       {signup("legacy@example.com", "", "a good password"), apperr.AlreadyExists},
		"username in legacy":    {signup("y@example.com", "LegacyName", "a good password"), apperr.AlreadyExists},
		"short password":        {signup("z@example.com", "", "short"), apperr.InvalidArgument},
		"password is the email": {signup("z@example.com", "", "Z@example.com"), apperr.InvalidArgument},
		"password > 1024 bytes": {signup("z@example.com", "", strings.Repeat("p", 1025)), apperr.InvalidArgument},
		"bad email":             {signup("not an email", "", "a good password"), apperr.InvalidArgument},
		"bad username":          {signup("z@example.com", "a@b", "a good password"), apperr.InvalidArgument},
		"unknown connection":    {account.SignUpInput{Connection: "nope", Email: "z@example.com", Password: "a good password"}, apperr.InvalidArgument},
		"metadata key":          {account.SignUpInput{Connection: "legacy", Email: "z@example.com", Password: "a good password", UserMetadata: map[string]any{"$where": 1}}, apperr.InvalidArgument},
	} {
		_, err := h.svc.SignUp(ctx, c.in)
		if apperr.KindOf(err) != c.kind {
			t.Errorf("%s: %v, want %v", name, err, c.kind)
		}
	}
	// A password of 8 characters in 16 bytes meets the policy (characters,
	// not bytes).
	if _, err := h.svc.SignUp(ctx, signup("utf8@example.com", "", "ääääääää")); err != nil {
		t.Fatalf("8 two-byte characters: %v", err)
	}

	// The legacy store down: nothing is created, UNAVAILABLE.
	h.legacy.SetFailing(true)
	_, err = h.svc.SignUp(ctx, signup("later@example.com", "", "a good password"))
	wantKind(t, err, apperr.Unavailable)
	h.legacy.SetFailing(false)
	if n := h.userCount(); n != 2 {
		t.Fatalf("users = %d, want 2", n)
	}
}

func TestSignUpWithoutGetUserIsRefused(t *testing.T) {
	h := newHarness(t, nil)
	h.legacy.SetUnimplemented("GetUser")
	_, err := h.svc.SignUp(context.Background(), signup("a@example.com", "", "a good password"))
	wantKind(t, err, apperr.FailedPrecondition)
	if h.userCount() != 0 {
		t.Fatal("a user was created without the legacy check")
	}
}

func TestSignUpAfterCutOverDoesNotAskTheLegacyStore(t *testing.T) {
	h := newHarness(t, func(c *config.Connection) { c.LegacyEnabled = false })
	h.addLegacy("1", "legacy@example.com", "", "pw-legacy-1")
	if _, err := h.svc.SignUp(context.Background(), signup("legacy@example.com", "", "a good password")); err != nil {
		t.Fatalf("sign-up after cut-over: %v", err)
	}
	if n := h.legacy.GetUserCalls.Load() + h.legacy.LoginCalls.Load(); n != 0 {
		t.Fatalf("connector called %d times after cut-over", n)
	}
}

func TestResetOfMigratedUserReplacesTheHash(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	u, err := h.svc.SignUp(ctx, signup("ada@example.com", "", "old password"))
	if err != nil {
		t.Fatal(err)
	}
	tk, exp, err := h.svc.CreateTicketFor(ctx, "legacy", "ADA@example.com", 0)
	if err != nil || len(tk) != 43 || time.Until(exp) < 50*time.Minute {
		t.Fatalf("ticket %q expires %v: %v", tk, exp, err)
	}
	// The store holds only the ticket's SHA-256.
	var doc bson.M
	if err := h.db.Collection("reset_tickets").FindOne(ctx, bson.D{}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(doc["_id"].(string), tk) || len(doc["_id"].(string)) != 64 {
		t.Fatalf("stored ticket id %v is not a SHA-256", doc["_id"])
	}
	// A password the policy refuses gives the ticket back.
	_, err = h.svc.ResetPassword(ctx, tk, "ada@example.com")
	wantKind(t, err, apperr.InvalidArgument)
	id, err := h.svc.ResetPassword(ctx, tk, "new password")
	if err != nil || id != u.ID {
		t.Fatalf("reset: %q, %v", id, err)
	}
	if !h.verifies(u.ID, "new password") || h.verifies(u.ID, "old password") {
		t.Fatal("the hash was not replaced")
	}
	_, err = h.svc.ResetPassword(ctx, tk, "another password")
	wantKind(t, err, apperr.InvalidArgument)
	_, err = h.svc.ResetPassword(ctx, "not-a-ticket", "another password")
	wantKind(t, err, apperr.InvalidArgument)
	if _, _, err := h.svc.CreateTicketFor(ctx, "legacy", "ada@example.com", 30*24*time.Hour); apperr.KindOf(err) != apperr.InvalidArgument {
		t.Fatalf("ttl above the maximum: %v", err)
	}
}

func TestResetOfUnmigratedUserCreatesTheWholeUser(t *testing.T) {
	h := newHarness(t, nil)
	h.addLegacy("55", "grace@example.com", "grace", "legacy-pw")
	ctx := context.Background()
	tk, _, err := h.svc.CreateTicketFor(ctx, "legacy", "grace", 0)
	if err != nil {
		t.Fatal(err)
	}
	if h.userCount() != 0 {
		t.Fatal("issuing a ticket created a user")
	}
	// The legacy store down at confirmation: UNAVAILABLE, nothing written,
	// and the ticket still works afterwards.
	h.legacy.SetFailing(true)
	_, err = h.svc.ResetPassword(ctx, tk, "brand new password")
	wantKind(t, err, apperr.Unavailable)
	h.legacy.SetFailing(false)
	if h.userCount() != 0 {
		t.Fatal("a failed reset wrote a user")
	}
	id, err := h.svc.ResetPassword(ctx, tk, "brand new password")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := h.st.Get(ctx, id)
	if u.Origin != store.OriginMigratedOnReset || u.LegacyID != "55" || u.Username != "grace" || u.UserMetadata["locale"] != "fr" ||
		u.AppMetadata["plan"] != "gold" || u.MigratedAt.IsZero() || !h.verifies(id, "brand new password") {
		t.Fatalf("user created on reset: %+v", u)
	}
	if h.legacy.LoginCalls.Load() != 0 {
		t.Fatal("reset called the connector's Login")
	}
}

func TestConcurrentConfirmationsOfOneTicket(t *testing.T) {
	for _, migrated := range []bool{false, true} {
		t.Run(map[bool]string{false: "unmigrated", true: "migrated"}[migrated], func(t *testing.T) {
			h := newHarness(t, nil)
			ctx := context.Background()
			h.addLegacy("9", "race@example.com", "", "legacy-pw")
			if migrated {
				if _, err := h.svc.SignUp(ctx, signup("native@example.com", "", "old password")); err != nil {
					t.Fatal(err)
				}
			}
			ident := map[bool]string{false: "race@example.com", true: "native@example.com"}[migrated]
			tk, _, err := h.svc.CreateTicketFor(ctx, "legacy", ident, 0)
			if err != nil {
				t.Fatal(err)
			}
			const n = 30
			var wins, refused atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := h.svc.ResetPassword(ctx, tk, "password number "+string(rune('a'+i)))
					switch apperr.KindOf(err) {
					case apperr.Internal:
						if err == nil {
							wins.Add(1)
							return
						}
						t.Errorf("reset: %v", err)
					case apperr.InvalidArgument:
						refused.Add(1)
					default:
						t.Errorf("reset: %v", err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if wins.Load() != 1 || refused.Load() != n-1 {
				t.Fatalf("successes %d, refusals %d; want 1 and %d", wins.Load(), refused.Load(), n-1)
			}
			if h.userCount() != 1 {
				t.Fatalf("users = %d, want 1", h.userCount())
			}
		})
	}
}

func TestRequestPasswordResetRevealsNothingAndDeliversSignedTickets(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.addLegacy("7", "unmigrated@example.com", "", "legacy-pw")
	h.legacy.SetDelay(100 * time.Millisecond) // a slow legacy store must not show in the answer
	native, err := h.svc.SignUp(ctx, signup("native@example.com", "", "old password"))
	if err != nil {
		t.Fatal(err)
	}
	gone, err := h.svc.SignUp(ctx, signup("gone@example.com", "", "old password"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.Delete(ctx, gone.ID, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	h.hook.failures.Store(2) // the receiver fails twice: retried

	for _, ident := range []string{"native@example.com", "unmigrated@example.com", "nobody@example.com", "gone@example.com"} {
		start := time.Now()
		if err := h.svc.RequestPasswordReset(ctx, "legacy", ident); err != nil {
			t.Fatalf("%s: %v", ident, err)
		}
		if d := time.Since(start); d > 50*time.Millisecond {
			t.Errorf("%s: answered in %v; the look-up must not be in the answer's time", ident, d)
		}
	}
	wantKind(t, h.svc.RequestPasswordReset(ctx, "nope", "a@example.com"), apperr.InvalidArgument)
	h.svc.Wait()
	h.legacy.SetDelay(0)

	events := h.hook.received()
	if len(events) != 2 || h.hook.attempts.Load() != 4 || h.hook.badSig.Load() != 0 {
		t.Fatalf("deliveries %d (attempts %d, bad signatures %d), want 2 (4)", len(events), h.hook.attempts.Load(), h.hook.badSig.Load())
	}
	byEmail := map[string]account.ResetEvent{}
	for _, e := range events {
		byEmail[e.Email] = e
	}
	if e := byEmail["native@example.com"]; e.UserID != native.ID || e.Type != "password_reset" {
		t.Fatalf("native event: %+v", e)
	}
	e := byEmail["unmigrated@example.com"]
	if e.UserID != "" || e.LegacyID != "7" {
		t.Fatalf("unmigrated event: %+v", e)
	}
	id, err := h.svc.ResetPassword(ctx, e.Ticket, "brand new password")
	if err != nil || !h.verifies(id, "brand new password") {
		t.Fatalf("reset with the delivered ticket: %v", err)
	}
}

func TestWebhookRejectionIsNotRetried(t *testing.T) {
	h := newHarness(t, nil)
	h.hook.secret = "another secret" // our signature fails: 401
	if _, err := h.svc.SignUp(context.Background(), signup("a@example.com", "", "a good password")); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.RequestPasswordReset(context.Background(), "legacy", "a@example.com"); err != nil {
		t.Fatal(err)
	}
	h.svc.Wait()
	if h.hook.attempts.Load() != 1 {
		t.Fatalf("attempts = %d, want 1", h.hook.attempts.Load())
	}
}
