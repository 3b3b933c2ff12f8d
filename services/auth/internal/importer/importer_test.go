package importer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/trickle-auth/trickle/deploy/testenv/mongotest"
	"github.com/trickle-auth/trickle/passwordhash"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/connectortest"
	"github.com/trickle-auth/trickle/services/auth/internal/connset"
	"github.com/trickle-auth/trickle/services/auth/internal/importer"
	"github.com/trickle-auth/trickle/services/auth/internal/legacy"
	"github.com/trickle-auth/trickle/services/auth/internal/lock"
	"github.com/trickle-auth/trickle/services/auth/internal/login"
	"github.com/trickle-auth/trickle/services/auth/internal/password"
	"github.com/trickle-auth/trickle/services/auth/internal/store"
	"github.com/trickle-auth/trickle/services/auth/internal/store/mongostore"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

// Hashes made by the software that uses each format (from
// connectors/kit/sqlcore/presettest/testdata/hashes.json), all of Password.
const (
	Password   = "correct horse battery staple"
	HashPHPass = "$P$6FdWEJzcPqQG3mAOMBreIAZYEpWqEx/"
	HashDjango = "pbkdf2_sha256$1000$daaHEVzuF2O3zlwI0r7g1L$vxwgrggHEW3/REgNZMWMlwiieVmrv4NnSHJTSsFJwr8="
	HashBcrypt = "$2y$05$VUKL8ozhxboumFQzbarDHeHQ3K.eLbLrnHXCeVlc4LSRRJmph79fy"
	HashASPNet = "4mstFakM5+QgC2QrBPqvFNtc7Hk="
	SaltASPNet = "Rhv1I/msgX/thhbALlq/YQ=="
)

var hashes = []*connectorv1.LegacyPasswordHash{{Hash: HashPHPass}, {Hash: HashDjango}, {Hash: HashBcrypt}}

type env struct {
	t      *testing.T
	db     *mongo.Database
	st     *mongostore.Store
	imp    *importer.Service
	logins *login.Service
	legacy *connectortest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, db: mongotest.Database(t), legacy: connectortest.Start(t)}
	var err error
	if e.st, err = mongostore.New(context.Background(), e.db); err != nil {
		t.Fatal(err)
	}
	conn := config.Connection{
		Name: "legacy", ImportMode: true, LegacyEnabled: true,
		Connector: config.Connector{Address: e.legacy.Addr, Timeout: 5 * time.Second, TLS: config.ClientTLS{Insecure: true}},
	}
	conns, err := connset.NewConnections([]config.Connection{conn}, func(c config.Connector) (legacy.Connector, error) {
		cl, err := legacy.Dial(c)
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { _ = cl.Close() })
		return legacy.Guard(c.Address, cl, c.Guard), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	src := connset.NewConnectionSource(conns)
	hasher, err := password.NewHasher(password.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	if err != nil {
		t.Fatal(err)
	}
	e.imp = importer.New(e.st, src, hasher.Verifier(), nil)
	e.logins = login.New(login.Deps{Store: e.st, Stats: e.st, Locker: lock.NewLocal(), Hasher: hasher, Connections: src})
	return e
}

func profile(i int, h *connectorv1.LegacyPasswordHash) *connectorv1.LegacyProfile {
	um, _ := structpb.NewStruct(map[string]any{"locale": "de", "n": float64(i)})
	return &connectorv1.LegacyProfile{
		LegacyId: fmt.Sprint(i), Email: fmt.Sprintf("user%d@example.com", i), Username: fmt.Sprintf("user%d", i),
		EmailVerified: true, Name: fmt.Sprintf("User %d", i), UserMetadata: um, PasswordHash: h,
	}
}

// users are n profiles with ids from+1..from+n, hashes cycling through
// phpass, Django and bcrypt.
func users(from, n int) []*connectorv1.LegacyProfile {
	out := make([]*connectorv1.LegacyProfile, n)
	for i := range out {
		out[i] = profile(from+i+1, hashes[(from+i)%len(hashes)])
	}
	return out
}

func (e *env) countUsers() int64 {
	n, err := e.db.Collection("users").CountDocuments(context.Background(), bson.D{})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// assertUnique fails unless every legacy id appears exactly once.
func (e *env) assertUnique(want int) {
	e.t.Helper()
	cur, err := e.db.Collection("users").Find(context.Background(), bson.D{})
	if err != nil {
		e.t.Fatal(err)
	}
	var docs []struct {
		LegacyID string `bson:"legacy_id"`
	}
	if err := cur.All(context.Background(), &docs); err != nil {
		e.t.Fatal(err)
	}
	seen := map[string]int{}
	for _, d := range docs {
		seen[d.LegacyID]++
		if seen[d.LegacyID] > 1 {
			e.t.Errorf("legacy id %s stored %d times", d.LegacyID, seen[d.LegacyID])
		}
	}
	if len(docs) != want || len(seen) != want {
		e.t.Fatalf("%d users, %d distinct legacy ids; want %d", len(docs), len(seen), want)
	}
}

func tally(rs []importer.Result) importer.Counts {
	var c importer.Counts
	for _, r := range rs {
		c.Add(r)
	}
	return c
}

func TestImportedUsersLogInWithLegacyHashAndAreRehashed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	batch := []*connectorv1.LegacyProfile{
		profile(1, &connectorv1.LegacyPasswordHash{Hash: HashPHPass}),
		profile(2, &connectorv1.LegacyPasswordHash{Hash: HashDjango, Format: passwordhash.FormatDjangoPBKDF2SHA256}),
		profile(3, &connectorv1.LegacyPasswordHash{Hash: HashBcrypt}),
		profile(4, &connectorv1.LegacyPasswordHash{Hash: HashASPNet, Salt: SaltASPNet, Format: passwordhash.FormatASPNetMembershipSHA1}),
		profile(5, &connectorv1.LegacyPasswordHash{Hash: "0123456789abcdef"}),                   // not recognisable
		profile(6, &connectorv1.LegacyPasswordHash{Hash: HashPHPass, Format: "no-such-format"}), // unknown format
		profile(7, nil), // no hash
		profile(8, &connectorv1.LegacyPasswordHash{Hash: "$2y$05$tooshort"}), // malformed bcrypt
		{LegacyId: "9", Email: "not an email", PasswordHash: &connectorv1.LegacyPasswordHash{Hash: HashBcrypt}},
	}
	rs, err := e.imp.Import(ctx, "legacy", batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		want := importer.Failed
		if i < 4 {
			want = importer.Imported
		}
		if r.Outcome != want || r.LegacyID != batch[i].GetLegacyId() {
			t.Errorf("user %s: outcome %d (%q), want %d", batch[i].GetLegacyId(), r.Outcome, r.Reason, want)
		}
		if r.Outcome == importer.Failed && r.Reason == "" {
			t.Errorf("user %s failed without a reason", r.LegacyID)
		}
		for _, h := range []string{HashPHPass, HashBcrypt, "tooshort"} {
			if strings.Contains(r.Reason, h) {
				t.Errorf("reason %q leaks the hash", r.Reason)
			}
		}
	}
	if !strings.Contains(rs[6].Reason, "no password hash") || !strings.Contains(rs[8].Reason, "email") {
		t.Errorf("reasons: %q, %q", rs[6].Reason, rs[8].Reason)
	}

	for i := 1; i <= 4; i++ {
		email := fmt.Sprintf("user%d@example.com", i)
		before, err := e.st.FindByIdentifier(ctx, "legacy", email)
		if err != nil {
			t.Fatal(err)
		}
		if before.Origin != store.OriginImported || before.LoginsCount != 0 || before.MigratedAt.IsZero() || before.UserMetadata["locale"] != "de" {
			t.Fatalf("imported user %d: %+v", i, before)
		}
		if strings.HasPrefix(before.PasswordHash, "$argon2id$") {
			t.Fatalf("user %d already has an argon2id hash before the first login", i)
		}
		if _, err := e.logins.Login(ctx, "legacy", email, "wrong password"); err == nil {
			t.Fatalf("user %d: wrong password accepted", i)
		}
		res, err := e.logins.Login(ctx, "legacy", email, Password)
		if err != nil {
			t.Fatalf("first login of imported user %d: %v", i, err)
		}
		if res.Migrated || res.User.ID != before.ID {
			t.Errorf("user %d: migrated=%v id=%s, want the imported user %s", i, res.Migrated, res.User.ID, before.ID)
		}
		after, _ := e.st.Get(ctx, before.ID)
		if !strings.HasPrefix(after.PasswordHash, "$argon2id$") || after.LoginsCount != 1 || after.Origin != store.OriginImported {
			t.Errorf("user %d after first login: hash %.10q logins %d origin %s", i, after.PasswordHash, after.LoginsCount, after.Origin)
		}
		if _, err := e.logins.Login(ctx, "legacy", fmt.Sprintf("user%d", i), Password); err != nil {
			t.Errorf("second login of user %d (argon2id): %v", i, err)
		}
	}
	if n := e.legacy.LoginCalls.Load(); n != 0 {
		t.Errorf("imported users' logins called the legacy store %d times", n)
	}
	if n := e.countUsers(); n != 4 {
		t.Errorf("%d users stored, want 4", n)
	}
}

func TestReimportChangesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	batch := users(0, 30)
	rs, err := e.imp.Import(ctx, "legacy", batch)
	if err != nil {
		t.Fatal(err)
	}
	if c := tally(rs); c.Imported != 30 {
		t.Fatalf("first import: %+v", c)
	}
	// One user logs in (rehashed), one changes email, one is blocked.
	if _, err := e.logins.Login(ctx, "legacy", "user1@example.com", Password); err != nil {
		t.Fatal(err)
	}
	u2, _ := e.st.FindByIdentifier(ctx, "legacy", "user2@example.com")
	prev := u2.UpdatedAt
	u2.Email, u2.Name = "renamed@example.com", "Renamed"
	if err := e.st.UpdateProfile(ctx, u2, prev); err != nil {
		t.Fatal(err)
	}
	snapshot := func() map[string]string {
		cur, err := e.db.Collection("users").Find(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.D
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, d := range docs {
			m[fmt.Sprint(d[0].Value)] = fmt.Sprint(d)
		}
		return m
	}
	before := snapshot()

	rs, err = e.imp.Import(ctx, "legacy", users(0, 30))
	if err != nil {
		t.Fatal(err)
	}
	if c := tally(rs); c.SkippedExists != 30 {
		t.Fatalf("re-import: %+v, want 30 skipped", c)
	}
	for _, r := range rs {
		if r.UserID == "" {
			t.Errorf("skipped user %s without the existing user's id", r.LegacyID)
		}
	}
	after := snapshot()
	if len(after) != len(before) {
		t.Fatalf("re-import changed the user count: %d -> %d", len(before), len(after))
	}
	for id, d := range before {
		if after[id] != d {
			t.Errorf("re-import changed user %s:\n before %s\n after  %s", id, d, after[id])
		}
	}
	if u, _ := e.st.Get(ctx, u2.ID); u.Email != "renamed@example.com" {
		t.Errorf("changed email overwritten: %s", u.Email)
	}
}

func TestImportRespectsTombstonesAndOtherUsers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.imp.Import(ctx, "legacy", users(0, 3)); err != nil {
		t.Fatal(err)
	}
	u1, _ := e.st.FindByIdentifier(ctx, "legacy", "user1@example.com")
	if _, err := e.st.Delete(ctx, u1.ID, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	// A native user holds the email of legacy user 4.
	if err := e.st.Create(ctx, &store.User{Connection: "legacy", Email: "user4@example.com", PasswordHash: "x", Origin: store.OriginSignup}); err != nil {
		t.Fatal(err)
	}
	rs, err := e.imp.Import(ctx, "legacy", users(0, 4))
	if err != nil {
		t.Fatal(err)
	}
	want := []importer.Outcome{importer.SkippedTombstoned, importer.SkippedExists, importer.SkippedExists, importer.Failed}
	for i, r := range rs {
		if r.Outcome != want[i] {
			t.Errorf("user %s: outcome %d (%q), want %d", r.LegacyID, r.Outcome, r.Reason, want[i])
		}
	}
	if !strings.Contains(rs[3].Reason, "email is already used by another user") {
		t.Errorf("collision reason: %q", rs[3].Reason)
	}
	if _, err := e.st.FindByIdentifier(ctx, "legacy", "user1@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted user re-imported: %v", err)
	}
	if _, err := e.imp.Import(ctx, "nope", users(0, 1)); err == nil {
		t.Error("import into an unknown connection accepted")
	}
	if _, err := e.imp.Import(ctx, "legacy", users(100, importer.MaxBatch+1)); err == nil {
		t.Error("oversized batch accepted")
	}
}

func (e *env) addLegacy(ps []*connectorv1.LegacyProfile) {
	for _, p := range ps {
		e.legacy.Add(connectortest.User{Password: Password, Profile: p})
	}
}

func TestConcurrentImportAndLazyLoginsNeverDuplicate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 150
	e.addLegacy(users(0, n))

	var wg sync.WaitGroup
	var importErr error
	var final importer.Progress
	wg.Add(1)
	go func() {
		defer wg.Done()
		importErr = e.imp.FromConnector(ctx, importer.FromConnectorParams{Connection: "legacy"}, func(p importer.Progress) error {
			final = p
			return nil
		})
	}()
	// Meanwhile every fifth user logs in, twice, from 8 goroutines (a
	// login storm that FerretDB under -race can serve): some before the
	// import reaches them (lazy migration), some after.
	var todo []int
	for i := n; i >= 1; i -= 5 {
		todo = append(todo, i, i)
	}
	next := make(chan int, len(todo))
	for _, i := range todo {
		next <- i
	}
	close(next)
	errs := make(chan error, len(todo))
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if _, err := e.logins.Login(ctx, "legacy", fmt.Sprintf("user%d@example.com", i), Password); err != nil {
					errs <- fmt.Errorf("login of user %d: %w", i, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if importErr != nil {
		t.Fatal(importErr)
	}
	e.assertUnique(n)
	c := final.Counts
	if !final.Done || c.Failed != 0 || c.Imported+c.SkippedExists != n || c.Imported == 0 {
		t.Errorf("final progress %+v", final)
	}
	t.Logf("imported %d, skipped (migrated by a login first) %d, legacy logins %d", c.Imported, c.SkippedExists, e.legacy.LoginCalls.Load())
}

func TestInterruptedImportResumesFromCheckpoint(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 1234
	e.addLegacy(users(0, n))
	e.addLegacy([]*connectorv1.LegacyProfile{profile(n+1, &connectorv1.LegacyPasswordHash{Hash: "garbage"})})

	stop := errors.New("operator pressed ctrl-c")
	var first importer.Progress
	err := e.imp.FromConnector(ctx, importer.FromConnectorParams{Connection: "legacy"}, func(p importer.Progress) error {
		first = p
		return stop // after the first batch
	})
	if !errors.Is(err, stop) {
		t.Fatalf("interrupted import: %v", err)
	}
	if first.Checkpoint != "500" || first.Counts.Imported != 500 || first.LegacyTotal == nil || *first.LegacyTotal != n+1 {
		t.Fatalf("first batch progress %+v", first)
	}

	var last importer.Progress
	var failures []importer.Result
	err = e.imp.FromConnector(ctx, importer.FromConnectorParams{Connection: "legacy", Resume: true}, func(p importer.Progress) error {
		last = p
		failures = append(failures, p.Failures...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if last.StartedAfter != "500" || !last.Done || last.Counts.Imported != n-500 || last.Counts.Failed != 1 || last.Checkpoint != fmt.Sprint(n+1) {
		t.Fatalf("resumed import progress %+v", last)
	}
	if len(failures) != 1 || failures[0].LegacyID != fmt.Sprint(n+1) || failures[0].Reason == "" {
		t.Errorf("failures %+v", failures)
	}
	e.assertUnique(n)

	// From the start again: everything is there already.
	err = e.imp.FromConnector(ctx, importer.FromConnectorParams{Connection: "legacy"}, func(p importer.Progress) error { last = p; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if last.Counts.SkippedExists != n || last.Counts.Imported != 0 {
		t.Errorf("re-run: %+v", last.Counts)
	}
	e.assertUnique(n)
}

func TestExportUnmigrated(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 40
	e.addLegacy(users(0, n))
	// 10 imported, 1 of them deleted (tombstone); 1 more migrated on login.
	if _, err := e.imp.Import(ctx, "legacy", users(0, 10)); err != nil {
		t.Fatal(err)
	}
	u3, _ := e.st.FindByIdentifier(ctx, "legacy", "user3@example.com")
	if _, err := e.st.Delete(ctx, u3.ID, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.logins.Login(ctx, "legacy", "user20@example.com", Password); err != nil {
		t.Fatal(err)
	}
	var got []string
	var last importer.ExportBatch
	err := e.imp.ExportUnmigrated(ctx, "legacy", "", 0, func(b *importer.ExportBatch) error {
		for _, u := range b.Users {
			if u.GetPasswordHash() != nil {
				t.Errorf("export of %s carries a password hash", u.GetLegacyId())
			}
			got = append(got, u.GetLegacyId())
		}
		last = *b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n-11 || last.Scanned != n || last.Migrated != 10 || last.Tombstoned != 1 {
		t.Fatalf("export: %d users (%v), totals %+v", len(got), got, last)
	}
	for _, id := range got {
		if id == "3" || id == "20" || id == "5" {
			t.Errorf("exported %s, which is migrated or deleted", id)
		}
	}
}

func TestConnectorWithoutListUsers(t *testing.T) {
	e := newEnv(t)
	e.legacy.SetUnimplemented("ListUsers")
	err := e.imp.FromConnector(context.Background(), importer.FromConnectorParams{Connection: "legacy"}, func(importer.Progress) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "cannot list users") {
		t.Fatalf("got %v, want a clear FAILED_PRECONDITION", err)
	}
}
