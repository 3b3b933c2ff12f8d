// Package storetest is the conformance suite every user-store
// implementation passes (the model is Dex's storage/conformance).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/trickle-auth/trickle/services/auth/internal/store"
)

// Run runs the suite; newStore returns an empty store for each subtest.
func Run(t *testing.T, newStore func(t *testing.T) store.Backend) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Backend)
	}{
		{"CreateAndFind", testCreateAndFind},
		{"NotFound", testNotFound},
		{"DuplicateEmail", testDuplicateEmail},
		{"DuplicateUsername", testDuplicateUsername},
		{"DuplicateLegacyID", testDuplicateLegacyID},
		{"UsersWithoutUsername", testUsersWithoutUsername},
		{"ConnectionsAreSeparate", testConnectionsAreSeparate},
		{"MetadataRoundTrip", testMetadataRoundTrip},
		{"RecordLogin", testRecordLogin},
		{"ReplacePasswordHash", testReplacePasswordHash},
		{"ConcurrentCreateOneWins", testConcurrentCreateOneWins},
		{"FindByLegacyID", testFindByLegacyID},
		{"ListFiltersAndPages", testListFiltersAndPages},
		{"UpdateProfile", testUpdateProfile},
		{"UpdateProfileDuplicates", testUpdateProfileDuplicates},
		{"SetBlocked", testSetBlocked},
		{"DeleteAndTombstones", testDeleteAndTombstones},
		{"TicketsWorkOnce", testTicketsWorkOnce},
		{"ConcurrentTicketRedeemOneWins", testConcurrentTicketRedeem},
		{"ConcurrentTicketsOfOneUserOneWins", testConcurrentTicketsOfOneSubject},
		{"ResetEndsOtherTickets", testResetEndsOtherTickets},
		{"LiveTicketsBounded", testLiveTicketsBounded},
		{"BlockRevokesTickets", testBlockRevokesTickets},
		{"RestoreAfterRevoke", testRestoreAfterRevoke},
		{"CountUsers", testCountUsers},
		{"LegacyLoginCounters", testLegacyLoginCounters},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

func newUser(conn, email, username string) *store.User {
	return &store.User{
		Connection: conn, Email: email, Username: username, PasswordHash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		Origin: store.OriginMigratedOnLogin, LegacyID: "legacy-" + email, MigratedAt: time.Now().UTC().Truncate(time.Millisecond),
	}
}

func withLegacyID(u *store.User, id string) *store.User {
	u.LegacyID = id
	return u
}

// One copy per legacy user: a second user with the same legacy id in the
// connection is a duplicate even under another email; native users (no
// legacy id) never collide.
func testDuplicateLegacyID(t *testing.T, s store.Backend) {
	mustCreate(t, s, withLegacyID(newUser("legacy", "first@example.com", ""), "7"))
	wantDuplicate(t, s.Create(context.Background(), withLegacyID(newUser("legacy", "renamed@example.com", ""), "7")), "legacy_id")
	mustCreate(t, s, withLegacyID(newUser("other", "renamed@example.com", ""), "7"))
	for i := range 3 {
		native := withLegacyID(newUser("legacy", fmt.Sprintf("native%d@example.com", i), ""), "")
		native.Origin = store.OriginSignup
		mustCreate(t, s, native)
	}
}

func mustCreate(t *testing.T, s store.Backend, u *store.User) *store.User {
	t.Helper()
	if err := s.Create(context.Background(), u); err != nil {
		t.Fatalf("create %s: %v", u.Email, err)
	}
	return u
}

func testCreateAndFind(t *testing.T, s store.Backend) {
	ctx := context.Background()
	u := mustCreate(t, s, newUser("legacy", "  Ada@Example.COM ", "Ada"))
	if u.ID == "" || u.CreatedAt.IsZero() {
		t.Fatalf("Create did not fill id and created_at: %+v", u)
	}
	if u.Email != "ada@example.com" || u.Username != "ada" {
		t.Fatalf("not normalized: email %q username %q", u.Email, u.Username)
	}
	for _, ident := range []string{"ada@example.com", " ADA@example.com", "ada", "ADA "} {
		got, err := s.FindByIdentifier(ctx, "legacy", ident)
		if err != nil {
			t.Fatalf("find %q: %v", ident, err)
		}
		if got.ID != u.ID || got.LegacyID != u.LegacyID || got.Origin != store.OriginMigratedOnLogin || got.PasswordHash != u.PasswordHash {
			t.Fatalf("find %q returned %+v", ident, got)
		}
		if !got.MigratedAt.Equal(u.MigratedAt) {
			t.Fatalf("migrated_at %v, want %v", got.MigratedAt, u.MigratedAt)
		}
	}
	got, err := s.Get(ctx, u.ID)
	if err != nil || got.Email != "ada@example.com" {
		t.Fatalf("get: %+v, %v", got, err)
	}
}

func testNotFound(t *testing.T, s store.Backend) {
	ctx := context.Background()
	mustCreate(t, s, newUser("legacy", "a@example.com", ""))
	for _, ident := range []string{"b@example.com", "", "\x00", "\x00a@example.com", "\x01", "\x01a@example.com"} {
		if _, err := s.FindByIdentifier(ctx, "legacy", ident); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("find %q: %v, want ErrNotFound", ident, err)
		}
	}
	if _, err := s.Get(ctx, "no-such-id"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get: %v", err)
	}
}

func wantDuplicate(t *testing.T, err error, field string) {
	t.Helper()
	var dup *store.DuplicateError
	if !errors.As(err, &dup) || !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("got %v, want a duplicate %s", err, field)
	}
	if dup.Field != field {
		t.Fatalf("duplicate field = %q, want %q", dup.Field, field)
	}
}

func testDuplicateEmail(t *testing.T, s store.Backend) {
	mustCreate(t, s, newUser("legacy", "a@example.com", "a"))
	wantDuplicate(t, s.Create(context.Background(), newUser("legacy", "A@EXAMPLE.com", "other")), "email")
}

func testDuplicateUsername(t *testing.T, s store.Backend) {
	mustCreate(t, s, newUser("legacy", "a@example.com", "ada"))
	wantDuplicate(t, s.Create(context.Background(), newUser("legacy", "b@example.com", "ADA")), "username")
}

func testUsersWithoutUsername(t *testing.T, s store.Backend) {
	for i := range 3 {
		mustCreate(t, s, newUser("legacy", fmt.Sprintf("u%d@example.com", i), ""))
	}
}

func testConnectionsAreSeparate(t *testing.T, s store.Backend) {
	ctx := context.Background()
	a := mustCreate(t, s, newUser("one", "a@example.com", "a"))
	b := mustCreate(t, s, newUser("two", "a@example.com", "a"))
	got, err := s.FindByIdentifier(ctx, "two", "a@example.com")
	if err != nil || got.ID != b.ID || got.ID == a.ID {
		t.Fatalf("find in connection two: %+v, %v", got, err)
	}
}

func testMetadataRoundTrip(t *testing.T, s store.Backend) {
	u := newUser("legacy", "m@example.com", "")
	u.UserMetadata = map[string]any{
		"locale": "fr", "score": 12.5, "newsletter": true, "nothing": nil,
		"address": map[string]any{"city": "Lyon", "zip": "69001"},
		"tags":    []any{"a", 2.0, map[string]any{"k": "v"}},
	}
	u.AppMetadata = map[string]any{"roles": []any{"admin"}, "plan": "gold"}
	mustCreate(t, s, u)
	got, err := s.Get(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.UserMetadata, u.UserMetadata) {
		t.Fatalf("user_metadata\n got %#v\nwant %#v", got.UserMetadata, u.UserMetadata)
	}
	if !reflect.DeepEqual(got.AppMetadata, u.AppMetadata) {
		t.Fatalf("app_metadata\n got %#v\nwant %#v", got.AppMetadata, u.AppMetadata)
	}
}

func testRecordLogin(t *testing.T, s store.Backend) {
	ctx := context.Background()
	u := mustCreate(t, s, newUser("legacy", "l@example.com", ""))
	at := time.Now().UTC().Truncate(time.Millisecond)
	for range 2 {
		if err := s.RecordLogin(ctx, u.ID, at); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Get(ctx, u.ID)
	if err != nil || got.LoginsCount != 2 || !got.LastLoginAt.Equal(at) {
		t.Fatalf("after two logins: count %d last %v (%v)", got.LoginsCount, got.LastLoginAt, err)
	}
	if err := s.RecordLogin(ctx, "missing", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("record login of a missing user: %v", err)
	}
}

func testReplacePasswordHash(t *testing.T, s store.Backend) {
	ctx := context.Background()
	u := mustCreate(t, s, newUser("legacy", "h@example.com", ""))
	if err := s.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, "new-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, "new-2"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale replace: %v, want ErrConflict", err)
	}
	got, _ := s.Get(ctx, u.ID)
	if got.PasswordHash != "new-1" {
		t.Fatalf("hash = %q, want new-1", got.PasswordHash)
	}
	if err := s.ReplacePasswordHash(ctx, "missing", "a", "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("replace on missing user: %v", err)
	}
}

func testConcurrentCreateOneWins(t *testing.T, s store.Backend) {
	const n = 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, dups := 0, 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Alternate the username so both indexes see contention.
			err := s.Create(context.Background(), newUser("legacy", "race@example.com", fmt.Sprintf("racer%d", i%2)))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case errors.Is(err, store.ErrDuplicate):
				dups++
			default:
				t.Errorf("create: %v", err)
			}
		}()
	}
	wg.Wait()
	if created != 1 || dups != n-1 {
		t.Fatalf("created %d, duplicates %d; want 1 and %d", created, dups, n-1)
	}
}
