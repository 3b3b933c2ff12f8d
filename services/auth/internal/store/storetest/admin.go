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

func testFindByLegacyID(t *testing.T, s store.Backend) {
	ctx := context.Background()
	u := mustCreate(t, s, withLegacyID(newUser("legacy", "a@example.com", ""), "42"))
	got, err := s.FindByLegacyID(ctx, "legacy", "42")
	if err != nil || got.ID != u.ID {
		t.Fatalf("find by legacy id: %+v, %v", got, err)
	}
	for _, c := range [][2]string{{"legacy", "43"}, {"other", "42"}, {"legacy", ""}} {
		if _, err := s.FindByLegacyID(ctx, c[0], c[1]); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("find %v: %v, want ErrNotFound", c, err)
		}
	}
}

func testListFiltersAndPages(t *testing.T, s store.Backend) {
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Millisecond)
	var all []*store.User
	for i := range 7 {
		u := newUser("legacy", fmt.Sprintf("user%d@example.com", i), "")
		u.MigratedAt = base.Add(time.Duration(i) * time.Minute)
		all = append(all, mustCreate(t, s, u))
		time.Sleep(2 * time.Millisecond) // distinct UUIDv7 milliseconds
	}
	native := newUser("legacy", "native@other.org", "")
	native.Origin, native.MigratedAt, native.LegacyID = store.OriginSignup, time.Time{}, ""
	mustCreate(t, s, native)
	mustCreate(t, s, newUser("elsewhere", "user1@example.com", ""))

	// Pages of 3, newest first, no user twice.
	var seen []string
	after := ""
	for page := 0; ; page++ {
		users, more, err := s.List(ctx, store.ListQuery{Connection: "legacy", Limit: 3, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			seen = append(seen, u.Email)
		}
		if !more {
			break
		}
		after = users[len(users)-1].ID
		if page > 5 {
			t.Fatal("paging does not end")
		}
	}
	want := []string{"native@other.org"}
	for i := 6; i >= 0; i-- {
		want = append(want, all[i].Email)
	}
	if !reflect.DeepEqual(seen, want) {
		t.Fatalf("pages\n got %v\nwant %v", seen, want)
	}

	for name, c := range map[string]struct {
		q    store.ListQuery
		want int
	}{
		"email prefix":      {store.ListQuery{EmailPrefix: " USER1@"}, 2},
		"prefix in conn":    {store.ListQuery{Connection: "legacy", EmailPrefix: "user"}, 7},
		"regex chars":       {store.ListQuery{EmailPrefix: "user.*"}, 0},
		"migrated since":    {store.ListQuery{Connection: "legacy", MigratedSince: base.Add(5 * time.Minute)}, 2},
		"origin signup":     {store.ListQuery{Origin: store.OriginSignup}, 1},
		"origin migrated":   {store.ListQuery{Connection: "legacy", Origin: store.OriginMigratedOnLogin}, 7},
		"unknown connexion": {store.ListQuery{Connection: "nope"}, 0},
	} {
		c.q.Limit = 100
		users, more, err := s.List(ctx, c.q)
		if err != nil || len(users) != c.want || more {
			t.Errorf("%s: %d users (more=%v, %v), want %d", name, len(users), more, err, c.want)
		}
	}
}

func testUpdateProfile(t *testing.T, s store.Backend) {
	ctx := context.Background()
	u := withLegacyID(newUser("legacy", "old@example.com", "old"), "42")
	u.Name, u.UserMetadata = "Old Name", map[string]any{"a": "b"}
	mustCreate(t, s, u)
	got, _ := s.Get(ctx, u.ID)
	prev := got.UpdatedAt
	got.Email, got.Username, got.Name, got.Nickname = " New@Example.com", "", "", "nick"
	got.UserMetadata, got.AppMetadata = nil, map[string]any{"roles": []any{"x"}}
	if err := s.UpdateProfile(ctx, got, prev); err != nil {
		t.Fatal(err)
	}
	if !got.UpdatedAt.After(prev) {
		t.Fatalf("updated_at %v not after %v", got.UpdatedAt, prev)
	}
	back, _ := s.Get(ctx, u.ID)
	if back.Email != "new@example.com" || back.Username != "" || back.Name != "" || back.Nickname != "nick" ||
		back.UserMetadata != nil || back.AppMetadata["roles"] == nil || back.PasswordHash != u.PasswordHash || back.LegacyID != "42" {
		t.Fatalf("after update: %+v", back)
	}
	for _, ident := range []string{"new@example.com"} {
		if _, err := s.FindByIdentifier(ctx, "legacy", ident); err != nil {
			t.Fatalf("find %s after update: %v", ident, err)
		}
	}
	for _, ident := range []string{"old@example.com", "old"} {
		if _, err := s.FindByIdentifier(ctx, "legacy", ident); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("old identifier %s still finds the user: %v", ident, err)
		}
	}
	// Another user can now take the freed username, and users without one
	// do not collide.
	mustCreate(t, s, newUser("legacy", "x@example.com", "old"))
	mustCreate(t, s, newUser("legacy", "y@example.com", ""))
	// A stale update loses.
	back.Name = "stale"
	if err := s.UpdateProfile(ctx, back, prev); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}
	// Two updates within one millisecond both apply in turn.
	for i := range 2 {
		cur, _ := s.Get(ctx, u.ID)
		cur.Name = fmt.Sprint("n", i)
		if err := s.UpdateProfile(ctx, cur, cur.UpdatedAt); err != nil {
			t.Fatalf("quick update %d: %v", i, err)
		}
	}
	missing := newUser("legacy", "m@example.com", "")
	missing.ID = "missing"
	if err := s.UpdateProfile(ctx, missing, time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing user: %v", err)
	}
}

func testUpdateProfileDuplicates(t *testing.T, s store.Backend) {
	ctx := context.Background()
	mustCreate(t, s, newUser("legacy", "taken@example.com", "taken"))
	u := mustCreate(t, s, newUser("legacy", "me@example.com", "me"))
	cur, _ := s.Get(ctx, u.ID)
	cur.Email = "TAKEN@example.com"
	wantDuplicate(t, s.UpdateProfile(ctx, cur, cur.UpdatedAt), "email")
	cur, _ = s.Get(ctx, u.ID)
	cur.Username = "Taken"
	wantDuplicate(t, s.UpdateProfile(ctx, cur, cur.UpdatedAt), "username")
	back, _ := s.Get(ctx, u.ID)
	if back.Email != "me@example.com" || back.Username != "me" {
		t.Fatalf("a refused update changed the user: %+v", back)
	}
}

func testSetBlocked(t *testing.T, s store.Backend) {
	ctx := context.Background()
	u := mustCreate(t, s, newUser("legacy", "b@example.com", ""))
	got, err := s.SetBlocked(ctx, u.ID, true)
	if err != nil || !got.Blocked || got.Email != u.Email {
		t.Fatalf("block: %+v, %v", got, err)
	}
	if got, _ := s.Get(ctx, u.ID); !got.Blocked {
		t.Fatal("block not stored")
	}
	if got, err := s.SetBlocked(ctx, u.ID, false); err != nil || got.Blocked {
		t.Fatalf("unblock: %+v, %v", got, err)
	}
	if _, err := s.SetBlocked(ctx, "missing", true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("block missing: %v", err)
	}
}

func testDeleteAndTombstones(t *testing.T, s store.Backend) {
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Millisecond)
	gone := mustCreate(t, s, withLegacyID(newUser("legacy", "gone@example.com", "gone"), "42"))
	if _, err := s.Delete(ctx, gone.ID, true, at); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, gone.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted user still there: %v", err)
	}
	for _, c := range []struct {
		legacyID string
		idents   []string
	}{{"42", nil}, {"", []string{"GONE@example.com"}}, {"", []string{"nobody", "gone"}}, {"999", []string{"gone"}}} {
		ts, err := s.FindTombstone(ctx, "legacy", c.legacyID, c.idents...)
		if err != nil || ts.UserID != gone.ID || ts.Email != "gone@example.com" || ts.Username != "gone" || ts.LegacyID != "42" || !ts.DeletedAt.Equal(at) {
			t.Fatalf("tombstone by %v: %+v, %v", c, ts, err)
		}
	}
	for _, c := range []struct {
		conn, legacyID string
		idents         []string
	}{{"other", "42", []string{"gone"}}, {"legacy", "43", []string{"else@example.com"}}, {"legacy", "", nil}, {"legacy", "", []string{""}}} {
		if _, err := s.FindTombstone(ctx, c.conn, c.legacyID, c.idents...); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("tombstone by %v: %v, want ErrNotFound", c, err)
		}
	}
	// allow_reimport: no tombstone.
	u := newUser("legacy", "back@example.com", "")
	u.LegacyID = "77"
	mustCreate(t, s, u)
	if _, err := s.Delete(ctx, u.ID, false, at); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindTombstone(ctx, "legacy", "77", "back@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete without tombstone left one: %v", err)
	}
	if _, err := s.Delete(ctx, u.ID, true, at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	// The email is free again.
	mustCreate(t, s, newUser("legacy", "gone@example.com", "gone"))
}

func testCountUsers(t *testing.T, s store.Backend) {
	ctx := context.Background()
	c, err := s.CountUsers(ctx, "legacy")
	if err != nil || c.Migrated != 0 || c.Native != 0 || !c.FirstMigration.IsZero() {
		t.Fatalf("empty: %+v, %v", c, err)
	}
	base := time.Now().UTC().Truncate(time.Millisecond)
	for i := range 3 {
		u := newUser("legacy", fmt.Sprintf("m%d@example.com", i), "")
		u.MigratedAt = base.Add(time.Duration(i) * time.Hour)
		mustCreate(t, s, u)
	}
	native := newUser("legacy", "n@example.com", "")
	native.Origin, native.MigratedAt = store.OriginSignup, time.Time{}
	mustCreate(t, s, native)
	mustCreate(t, s, newUser("other", "o@example.com", ""))
	c, err = s.CountUsers(ctx, "legacy")
	if err != nil || c.Migrated != 3 || c.Native != 1 || !c.FirstMigration.Equal(base) || !c.LastMigration.Equal(base.Add(2*time.Hour)) {
		t.Fatalf("counts: %+v, %v", c, err)
	}
}

func testLegacyLoginCounters(t *testing.T, s store.Backend) {
	ctx := context.Background()
	now := time.Now().UTC()
	var wg sync.WaitGroup
	for range 30 { // concurrent upserts of one new minute
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.RecordLegacyLogin(ctx, "legacy", now); err != nil {
				t.Errorf("record: %v", err)
			}
		}()
	}
	wg.Wait()
	for _, at := range []time.Duration{-30 * time.Minute, -3 * time.Hour, -25 * time.Hour} {
		if err := s.RecordLegacyLogin(ctx, "legacy", now.Add(at)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordLegacyLogin(ctx, "other", now); err != nil {
		t.Fatal(err)
	}
	for window, want := range map[time.Duration]int64{time.Hour: 31, 24 * time.Hour: 32, 48 * time.Hour: 33} {
		n, err := s.LegacyLogins(ctx, "legacy", now.Add(-window))
		if err != nil || n != want {
			t.Errorf("last %v: %d (%v), want %d", window, n, err, want)
		}
	}
}
