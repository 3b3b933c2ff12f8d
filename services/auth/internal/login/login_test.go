package login_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/trickle-auth/trickle/deploy/testenv/mongotest"
	"github.com/trickle-auth/trickle/deploy/testenv/redistest"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/connectortest"
	"github.com/trickle-auth/trickle/services/auth/internal/connset"
	"github.com/trickle-auth/trickle/services/auth/internal/legacy"
	"github.com/trickle-auth/trickle/services/auth/internal/lock"
	"github.com/trickle-auth/trickle/services/auth/internal/login"
	"github.com/trickle-auth/trickle/services/auth/internal/password"
	"github.com/trickle-auth/trickle/services/auth/internal/store"
	"github.com/trickle-auth/trickle/services/auth/internal/store/mongostore"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

// Cheap argon2id parameters keep the tests fast; the flow is the same.
var testParams = password.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

type harness struct {
	t      *testing.T
	db     *mongo.Database
	legacy *connectortest.Server
	rdb    *redis.Client
	prefix string
	conn   config.Connection
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, db: mongotest.Database(t), legacy: connectortest.Start(t)}
	h.rdb, h.prefix = redistest.Client(t)
	h.conn = config.Connection{
		Name: "legacy", ImportMode: true, LegacyEnabled: true,
		Connector: config.Connector{Address: h.legacy.Addr, Timeout: 2 * time.Second, TLS: config.ClientTLS{Insecure: true}},
	}
	return h
}

type instanceOpts struct {
	params password.Params
	locker lock.Locker
}

// instance builds one auth service replica: its own MongoDB client, Redis
// locker, connector client and singleflight, sharing the harness's stores.
func (h *harness) instance(opts instanceOpts) *login.Service {
	t := h.t
	t.Helper()
	client, err := mongo.Connect(options.Client().ApplyURI(mongotest.URI(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	st, err := mongostore.New(context.Background(), client.Database(h.db.Name()))
	if err != nil {
		t.Fatal(err)
	}
	if opts.params == (password.Params{}) {
		opts.params = testParams
	}
	hasher, err := password.NewHasher(opts.params, 0)
	if err != nil {
		t.Fatal(err)
	}
	if opts.locker == nil {
		opts.locker = lock.NewRedis(h.rdb, h.prefix)
	}
	conns, err := connset.NewConnections([]config.Connection{h.conn}, func(c config.Connector) (legacy.Connector, error) {
		cl, err := legacy.Dial(c)
		if err == nil {
			t.Cleanup(func() { _ = cl.Close() })
		}
		return cl, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return login.New(login.Deps{Store: st, Stats: st, Locker: opts.locker, Hasher: hasher, Connections: connset.NewConnectionSource(conns)})
}

func (h *harness) addLegacy(id, email, username, pw string) *connectorv1.LegacyProfile {
	um, _ := structpb.NewStruct(map[string]any{"locale": "fr", "prefs": map[string]any{"theme": "dark"}})
	am, _ := structpb.NewStruct(map[string]any{"roles": []any{"editor"}, "plan": "gold"})
	p := &connectorv1.LegacyProfile{
		LegacyId: id, Email: email, EmailVerified: true, Username: username, Name: "Ada Lovelace",
		GivenName: "Ada", FamilyName: "Lovelace", UserMetadata: um, AppMetadata: am,
	}
	h.legacy.Add(connectortest.User{Password: pw, Profile: p})
	return p
}

func (h *harness) userCount() int64 {
	h.t.Helper()
	n, err := h.db.Collection("users").CountDocuments(context.Background(), bson.D{})
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func wantKind(t *testing.T, err error, kind apperr.Kind) {
	t.Helper()
	if apperr.KindOf(err) != kind {
		t.Fatalf("got %v (kind %v), want kind %v", err, apperr.KindOf(err), kind)
	}
}

func TestFirstLoginMigratesWholeUserAndSecondIsLocal(t *testing.T) {
	h := newHarness(t)
	h.addLegacy("17", "Ada@Example.com", "ada", "correct horse")
	svc := h.instance(instanceOpts{})
	ctx := context.Background()

	res, err := svc.Login(ctx, "legacy", " ADA@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	u := res.User
	if !res.Migrated || u.Email != "ada@example.com" || u.Username != "ada" || u.LegacyID != "17" || u.Origin != store.OriginMigratedOnLogin {
		t.Fatalf("first login: migrated=%v user=%+v", res.Migrated, u)
	}
	if u.UserMetadata["locale"] != "fr" || u.AppMetadata["plan"] != "gold" || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("profile not copied whole: %+v", u)
	}
	if got := h.legacy.LoginCalls.Load(); got != 1 {
		t.Fatalf("connector Login calls = %d, want 1", got)
	}

	for _, ident := range []string{"ada@example.com", "ADA"} {
		res, err = svc.Login(ctx, "legacy", ident, "correct horse")
		if err != nil || res.Migrated {
			t.Fatalf("later login as %q: migrated=%v err=%v", ident, res != nil && res.Migrated, err)
		}
	}
	if got := h.legacy.LoginCalls.Load(); got != 1 {
		t.Fatalf("later logins called the connector: %d calls", got)
	}
	var doc bson.M
	if err := h.db.Collection("users").FindOne(ctx, bson.D{}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc["logins_count"] != int64(3) || doc["user_metadata"] == nil || doc["app_metadata"] == nil {
		t.Fatalf("stored document: %v", doc)
	}
	if h.userCount() != 1 {
		t.Fatalf("users = %d", h.userCount())
	}
}

func TestFailedLoginsLookAlikeAndWriteNothing(t *testing.T) {
	h := newHarness(t)
	h.addLegacy("1", "ada@example.com", "", "right-password")
	h.addLegacy("2", "bob@example.com", "", "bob-password")
	svc := h.instance(instanceOpts{})
	ctx := context.Background()
	if _, err := svc.Login(ctx, "legacy", "bob@example.com", "bob-password"); err != nil {
		t.Fatal(err)
	}

	var msgs []string
	for _, c := range []struct{ ident, pw string }{
		{"ada@example.com", "wrong"},          // unmigrated, wrong password
		{"nobody@example.com", "whatever"},    // unknown everywhere
		{"bob@example.com", "wrong-password"}, // migrated, wrong password
	} {
		_, err := svc.Login(ctx, "legacy", c.ident, c.pw)
		if !errors.Is(err, apperr.ErrInvalidCredentials) {
			t.Fatalf("%s: got %v, want invalid credentials", c.ident, err)
		}
		msgs = append(msgs, apperr.Message(err))
	}
	if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
		t.Fatalf("failures are distinguishable: %q", msgs)
	}
	if h.userCount() != 1 {
		t.Fatalf("users = %d, want only bob", h.userCount())
	}
	// The refused user can still migrate with the right password.
	if res, err := svc.Login(ctx, "legacy", "ada@example.com", "right-password"); err != nil || !res.Migrated {
		t.Fatalf("login after a wrong password: %v", err)
	}
}

func TestLegacyStoreFailuresAreUnavailableAndWriteNothing(t *testing.T) {
	h := newHarness(t)
	h.conn.Connector.Timeout = 300 * time.Millisecond
	h.addLegacy("1", "ada@example.com", "", "pw-123456")
	svc := h.instance(instanceOpts{})
	ctx := context.Background()

	h.legacy.SetFailing(true)
	_, err := svc.Login(ctx, "legacy", "ada@example.com", "pw-123456")
	wantKind(t, err, apperr.Unavailable)
	h.legacy.SetFailing(false)

	h.legacy.SetDelay(2 * time.Second)
	start := time.Now()
	_, err = svc.Login(ctx, "legacy", "ada@example.com", "pw-123456")
	wantKind(t, err, apperr.Unavailable)
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("a hanging connector held the login for %v; the deadline is 300ms", d)
	}
	h.legacy.SetDelay(0)

	h.legacy.Stop()
	_, err = svc.Login(ctx, "legacy", "ada@example.com", "pw-123456")
	wantKind(t, err, apperr.Unavailable)
	if h.userCount() != 0 {
		t.Fatalf("users = %d after failures, want 0", h.userCount())
	}
}

func TestInvalidLegacyProfilesAreRefusedWithAReason(t *testing.T) {
	h := newHarness(t)
	h.conn.RequiresUsername = true
	h.addLegacy("1", "", "noemail", "pw-123456")
	h.addLegacy("2", "not-an-email", "bademail", "pw-123456")
	h.addLegacy("3", "ada@example.com", "ada", "pw-123456")
	// Same email as user 3 under another legacy id: a legacy data problem.
	h.legacy.Add(connectortest.User{Password: "pw-other", Profile: &connectorv1.LegacyProfile{LegacyId: "4", Email: "ADA@example.com", Username: "ada2"}})
	h.addLegacy("5", "nouser@example.com", "", "pw-123456")
	svc := h.instance(instanceOpts{})
	ctx := context.Background()
	if _, err := svc.Login(ctx, "legacy", "ada", "pw-123456"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ ident, pw, reason string }{
		{"noemail", "pw-123456", "has no email"},
		{"bademail", "pw-123456", "malformed email"},
		{"ada2", "pw-other", "email is already used"},
		{"nouser@example.com", "pw-123456", "requires one"},
	} {
		_, err := svc.Login(ctx, "legacy", c.ident, c.pw)
		wantKind(t, err, apperr.FailedPrecondition)
		if !strings.Contains(apperr.Message(err), c.reason) {
			t.Fatalf("%s: reason %q does not say %q", c.ident, apperr.Message(err), c.reason)
		}
	}
	if h.userCount() != 1 {
		t.Fatalf("users = %d, want 1", h.userCount())
	}
}

func TestCutOverNeverCallsTheConnector(t *testing.T) {
	h := newHarness(t)
	h.addLegacy("1", "ada@example.com", "", "pw-123456")
	h.addLegacy("2", "bob@example.com", "", "pw-123456")
	ctx := context.Background()
	if _, err := h.instance(instanceOpts{}).Login(ctx, "legacy", "ada@example.com", "pw-123456"); err != nil {
		t.Fatal(err)
	}
	calls := h.legacy.LoginCalls.Load()
	h.conn.LegacyEnabled = false
	svc := h.instance(instanceOpts{})
	if _, err := svc.Login(ctx, "legacy", "ada@example.com", "pw-123456"); err != nil {
		t.Fatalf("migrated user after cut-over: %v", err)
	}
	if _, err := svc.Login(ctx, "legacy", "bob@example.com", "pw-123456"); !errors.Is(err, apperr.ErrInvalidCredentials) {
		t.Fatalf("unmigrated user after cut-over: %v", err)
	}
	if got := h.legacy.LoginCalls.Load(); got != calls {
		t.Fatalf("connector called %d times after cut-over", got-calls)
	}
}

func TestBadInput(t *testing.T) {
	h := newHarness(t)
	svc := h.instance(instanceOpts{})
	ctx := context.Background()
	for name, c := range map[string]struct{ conn, ident, pw string }{
		"unknown connection": {"nope", "a@example.com", "pw"},
		"empty identifier":   {"legacy", "  ", "pw"},
		"NUL in identifier":  {"legacy", "a\x00@example.com", "pw"},
		"invalid UTF-8":      {"legacy", "a\xff@example.com", "pw"},
		"long identifier":    {"legacy", strings.Repeat("a", 400) + "@example.com", "pw"},
		"empty password":     {"legacy", "a@example.com", ""},
		"password > 1024":    {"legacy", "a@example.com", strings.Repeat("p", 1025)},
	} {
		_, err := svc.Login(ctx, c.conn, c.ident, c.pw)
		if apperr.KindOf(err) != apperr.InvalidArgument {
			t.Errorf("%s: got %v, want INVALID_ARGUMENT", name, err)
		}
	}
	if h.legacy.LoginCalls.Load() != 0 {
		t.Fatal("bad input reached the connector")
	}
}

func TestLongPasswordIsNeverTruncated(t *testing.T) {
	h := newHarness(t)
	pw := strings.Repeat("ä", 512) // 1024 bytes
	h.addLegacy("1", "ada@example.com", "", pw)
	svc := h.instance(instanceOpts{})
	ctx := context.Background()
	if _, err := svc.Login(ctx, "legacy", "ada@example.com", pw); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Login(ctx, "legacy", "ada@example.com", pw[:1022]); !errors.Is(err, apperr.ErrInvalidCredentials) {
		t.Fatalf("a prefix of the password logged in: %v", err)
	}
}

func TestRehashWhenParametersChange(t *testing.T) {
	h := newHarness(t)
	h.addLegacy("1", "ada@example.com", "", "pw-123456")
	ctx := context.Background()
	if _, err := h.instance(instanceOpts{}).Login(ctx, "legacy", "ada@example.com", "pw-123456"); err != nil {
		t.Fatal(err)
	}
	stronger := testParams
	stronger.MemoryKiB, stronger.Time = 128, 2
	res, err := h.instance(instanceOpts{params: stronger}).Login(ctx, "legacy", "ada@example.com", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Hash string `bson:"password_hash"`
	}
	if err := h.db.Collection("users").FindOne(ctx, bson.D{}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc.Hash, "m=128,t=2,p=1") || doc.Hash != res.User.PasswordHash {
		t.Fatalf("stored hash %q was not rehashed with m=128,t=2", doc.Hash)
	}
}

func TestLegacyHashMeetingPolicyIsAdopted(t *testing.T) {
	h := newHarness(t)
	adopter := h.instance(instanceOpts{})
	hasher, _ := password.NewHasher(testParams, 1)
	modern, err := hasher.Hash(context.Background(), "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	p := h.addLegacy("1", "ada@example.com", "", "pw-123456")
	p.PasswordHash = &connectorv1.LegacyPasswordHash{Hash: modern, Format: "argon2id"}
	res, err := adopter.Login(context.Background(), "legacy", "ada@example.com", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	if res.User.PasswordHash != modern {
		t.Fatal("a legacy argon2id hash at policy was hashed again instead of adopted")
	}
}

// 200 concurrent first logins of one user over 3 replicas sharing MongoDB
// and Redis: one user document, one legacy call, one "migrated".
func TestConcurrentFirstLoginsAcrossReplicas(t *testing.T) {
	for _, redisUp := range []bool{true, false} {
		t.Run(fmt.Sprintf("redis_up=%v", redisUp), func(t *testing.T) {
			h := newHarness(t)
			h.addLegacy("7", "storm@example.com", "storm", "pw-123456")
			h.legacy.SetDelay(50 * time.Millisecond) // widen the race window
			var locker lock.Locker
			if !redisUp {
				dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
				t.Cleanup(func() { _ = dead.Close() })
				locker = lock.NewRedis(dead, "x:")
			}
			replicas := []*login.Service{h.instance(instanceOpts{locker: locker}), h.instance(instanceOpts{locker: locker}), h.instance(instanceOpts{locker: locker})}
			var wg sync.WaitGroup
			var migrated, failed atomic.Int32
			start := make(chan struct{})
			for i := range 200 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					ident := []string{"storm@example.com", "STORM@example.com", "storm"}[i%3]
					res, err := replicas[i%3].Login(context.Background(), "legacy", ident, "pw-123456")
					if err != nil {
						failed.Add(1)
						t.Errorf("login %d: %v", i, err)
						return
					}
					if res.Migrated {
						migrated.Add(1)
					}
				}()
			}
			close(start)
			wg.Wait()
			if n := h.userCount(); n != 1 {
				t.Fatalf("user documents = %d, want 1", n)
			}
			calls := h.legacy.LoginCalls.Load()
			// With the lock, one call per identifier spelling at most (the
			// lock is per normalized identifier: "storm" and the email are
			// different keys); every spelling normalizes to two keys here.
			if redisUp && calls > 2 {
				t.Fatalf("connector Login calls = %d with the lock, want at most 2 (one per identifier)", calls)
			}
			if migrated.Load() != 1 {
				t.Fatalf("migrated=true reported %d times, want 1", migrated.Load())
			}
			t.Logf("redis up=%v: legacy Login calls=%d, user documents=1", redisUp, calls)
		})
	}
}

func (h *harness) store() *mongostore.Store {
	st, err := mongostore.New(context.Background(), h.db)
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

// I5: a deleted user is not re-imported, whichever identifier it uses, and
// the check happens before the legacy store is asked when it can.
func TestDeletedUserIsNotReimported(t *testing.T) {
	h := newHarness(t)
	h.addLegacy("17", "ada@example.com", "ada", "pw-123456")
	h.addLegacy("18", "bob@example.com", "bob", "pw-123456")
	svc := h.instance(instanceOpts{})
	st := h.store()
	ctx := context.Background()
	res, err := svc.Login(ctx, "legacy", "ada", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Delete(ctx, res.User.ID, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	calls := h.legacy.LoginCalls.Load()
	for _, ident := range []string{"ada@example.com", "ADA"} {
		if _, err := svc.Login(ctx, "legacy", ident, "pw-123456"); !errors.Is(err, apperr.ErrInvalidCredentials) {
			t.Fatalf("login of a deleted user as %s: %v, want invalid credentials", ident, err)
		}
	}
	if h.legacy.LoginCalls.Load() != calls {
		t.Fatal("a tombstoned identifier reached the legacy store")
	}

	// Bob's email changed in Trickle before the delete: the tombstone holds
	// the new email, the legacy store the old one. The legacy id catches it.
	res, err = svc.Login(ctx, "legacy", "bob@example.com", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	u := res.User
	cur, _ := st.Get(ctx, u.ID)
	prev := cur.UpdatedAt
	cur.Email, cur.Username = "robert@example.com", "robert"
	if err := st.UpdateProfile(ctx, cur, prev); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Delete(ctx, u.ID, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Login(ctx, "legacy", "bob@example.com", "pw-123456"); !errors.Is(err, apperr.ErrInvalidCredentials) {
		t.Fatalf("deleted user with a changed email: %v", err)
	}
	if h.userCount() != 0 {
		t.Fatalf("users = %d, want 0", h.userCount())
	}
	n, err := st.LegacyLogins(ctx, "legacy", time.Now().Add(-time.Hour))
	if err != nil || n != 3 { // ada's migration, bob's migration, bob's refused re-import
		t.Fatalf("legacy logins recorded = %d (%v), want 3", n, err)
	}
}

func TestDeleteWithAllowReimportMigratesAgain(t *testing.T) {
	h := newHarness(t)
	h.addLegacy("17", "ada@example.com", "ada", "pw-123456")
	svc := h.instance(instanceOpts{})
	ctx := context.Background()
	res, err := svc.Login(ctx, "legacy", "ada", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.store().Delete(ctx, res.User.ID, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	res2, err := svc.Login(ctx, "legacy", "ada", "pw-123456")
	if err != nil || !res2.Migrated || res2.User.ID == res.User.ID {
		t.Fatalf("re-import after allow_reimport: %+v, %v", res2, err)
	}
}

// A migrated user whose email changed in Trickle logs in with the old
// email and the legacy password: no second copy is made.
func TestMigratedUserWithChangedEmailIsNotCopiedTwice(t *testing.T) {
	h := newHarness(t)
	h.addLegacy("17", "ada@example.com", "", "pw-123456")
	svc := h.instance(instanceOpts{})
	st := h.store()
	ctx := context.Background()
	res, err := svc.Login(ctx, "legacy", "ada@example.com", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := st.Get(ctx, res.User.ID)
	cur.Email = "ada.lovelace@example.com"
	if err := st.UpdateProfile(ctx, cur, cur.UpdatedAt); err != nil {
		t.Fatal(err)
	}
	res2, err := svc.Login(ctx, "legacy", "ada@example.com", "pw-123456")
	if err != nil || res2.Migrated || res2.User.ID != res.User.ID {
		t.Fatalf("login with the old email: %+v, %v", res2, err)
	}
	if h.userCount() != 1 {
		t.Fatalf("users = %d, want 1", h.userCount())
	}
}
