package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trickle-auth/trickle/services/auth/internal/store"
)

// keep is the live-ticket bound the ticket tests pass unless they test it.
const keep = 3

func mustTicket(t *testing.T, s store.Backend, hash, subject string, created time.Time, keep int) *store.Ticket {
	t.Helper()
	tk := &store.Ticket{Hash: hash, Connection: "legacy", UserID: "u-" + subject, Subject: subject, CreatedAt: created, ExpiresAt: created.Add(time.Hour)}
	if err := s.CreateTicket(context.Background(), tk, keep); err != nil {
		t.Fatalf("create ticket %s: %v", hash, err)
	}
	return tk
}

func wantInvalid(t *testing.T, s store.Backend, hash string, now time.Time, why string) {
	t.Helper()
	if got, err := s.RedeemTicket(context.Background(), hash, now, keep); !errors.Is(err, store.ErrTicketInvalid) {
		t.Fatalf("redeem %s (%s): %+v, %v; want ErrTicketInvalid", hash, why, got, err)
	}
}

func wantRedeem(t *testing.T, s store.Backend, hash string, now time.Time) *store.Ticket {
	t.Helper()
	got, err := s.RedeemTicket(context.Background(), hash, now, keep)
	if err != nil {
		t.Fatalf("redeem %s: %v", hash, err)
	}
	return got
}

func testTicketsWorkOnce(t *testing.T, s store.Backend) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	subject := store.TicketSubject("legacy", "", "9")
	tk := &store.Ticket{Hash: "h1", Connection: "legacy", Identifier: "a@example.com", LegacyID: "9", Subject: subject, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateTicket(ctx, tk, keep); err != nil {
		t.Fatal(err)
	}
	got := wantRedeem(t, s, "h1", now)
	if got.Identifier != "a@example.com" || got.LegacyID != "9" || got.Connection != "legacy" || got.Subject != subject ||
		got.Epoch != tk.Epoch || !got.ExpiresAt.Equal(tk.ExpiresAt) {
		t.Fatalf("redeem returned %+v, stored %+v", got, tk)
	}
	wantInvalid(t, s, "h1", now, "used")
	if err := s.RestoreTicket(ctx, got); err != nil {
		t.Fatal(err)
	}
	if got.Epoch != tk.Epoch+1 {
		t.Fatalf("restored at epoch %d, want %d", got.Epoch, tk.Epoch+1)
	}
	wantRedeem(t, s, "h1", now)
	wantInvalid(t, s, "h1", now, "used after restore")
	mustTicket(t, s, "h2", "user \"u\"", now, keep)
	wantInvalid(t, s, "h2", now.Add(time.Hour), "expired")
	wantInvalid(t, s, "nope", now, "unknown")
	// The subjects are distinct for the same id in different roles.
	if store.TicketSubject("a", "x", "") == store.TicketSubject("a", "", "x") || store.TicketSubject("a b", "", "c") == store.TicketSubject("a", "", "b c") {
		t.Fatal("ticket subjects collide")
	}
}

func testConcurrentTicketRedeem(t *testing.T, s store.Backend) {
	now := time.Now().UTC()
	mustTicket(t, s, "race", "race", now, keep)
	wins, losses := redeemAll(t, s, []string{"race"}, 50, now, keep)
	if wins != 1 || losses != 49 {
		t.Fatalf("wins %d losses %d, want 1 and 49", wins, losses)
	}
}

// redeemAll redeems each hash from n goroutines in all (cycling through
// hashes), all started at once.
func redeemAll(t *testing.T, s store.Backend, hashes []string, n int, now time.Time, keep int) (wins, losses int32) {
	t.Helper()
	var w, l atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := s.RedeemTicket(context.Background(), hashes[i%len(hashes)], now, keep)
			switch {
			case err == nil:
				w.Add(1)
			case errors.Is(err, store.ErrTicketInvalid):
				l.Add(1)
			default:
				t.Errorf("redeem: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	return w.Load(), l.Load()
}

// Different live tickets of one user used at once: exactly one reset wins,
// on every server (FerretDB's conditional updates would let several win).
func testConcurrentTicketsOfOneSubject(t *testing.T, s store.Backend) {
	const n = 40
	now := time.Now().UTC().Truncate(time.Millisecond)
	for round := range 3 {
		subject := fmt.Sprintf("user-%d", round)
		hashes := make([]string, n)
		for i := range hashes {
			hashes[i] = fmt.Sprintf("r%d-%02d", round, i)
			mustTicket(t, s, hashes[i], subject, now.Add(time.Duration(i)*time.Millisecond), n)
		}
		wins, losses := redeemAll(t, s, hashes, n, now, n)
		if wins != 1 || losses != n-1 {
			t.Fatalf("round %d: %d of %d different tickets of one user won (%d refused), want exactly 1", round, wins, n, losses)
		}
		for _, h := range hashes {
			if _, err := s.RedeemTicket(context.Background(), h, now, n); !errors.Is(err, store.ErrTicketInvalid) {
				t.Fatalf("round %d: ticket %s works after the race: %v", round, h, err)
			}
		}
	}
}

func testResetEndsOtherTickets(t *testing.T, s store.Backend) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i, h := range []string{"a1", "a2", "a3"} {
		mustTicket(t, s, h, "ada", now.Add(time.Duration(i)*time.Millisecond), keep)
	}
	other := mustTicket(t, s, "b1", "bob", now, keep)
	wantRedeem(t, s, "a2", now)
	wantInvalid(t, s, "a1", now, "older ticket after a reset")
	wantInvalid(t, s, "a3", now, "newer ticket after a reset")
	// A ticket issued after the reset works, at the next epoch.
	next := mustTicket(t, s, "a4", "ada", now.Add(time.Second), keep)
	if got := wantRedeem(t, s, "a4", now); got.Epoch != next.Epoch || next.Epoch == 0 {
		t.Fatalf("ticket after a reset at epoch %d (redeemed %d), want > 0", next.Epoch, got.Epoch)
	}
	// Other users are untouched.
	if got := wantRedeem(t, s, "b1", now); got.Subject != other.Subject {
		t.Fatalf("redeemed %+v", got)
	}
	// A reset that fails and gives its ticket back keeps the others dead.
	mustTicket(t, s, "a5", "ada", now.Add(2*time.Second), keep)
	mustTicket(t, s, "a6", "ada", now.Add(3*time.Second), keep)
	got := wantRedeem(t, s, "a5", now)
	if err := s.RestoreTicket(context.Background(), got); err != nil {
		t.Fatal(err)
	}
	wantInvalid(t, s, "a6", now, "sibling of a restored ticket")
	wantRedeem(t, s, "a5", now)
}

// 100 requests at once for one user leave only the keep newest usable.
func testLiveTicketsBounded(t *testing.T, s store.Backend) {
	const n = 100
	now := time.Now().UTC().Truncate(time.Millisecond)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk := &store.Ticket{Hash: fmt.Sprintf("b%03d", i), Connection: "legacy", UserID: "u", Subject: "bounded", CreatedAt: now.Add(time.Duration(i) * time.Millisecond), ExpiresAt: now.Add(time.Hour)}
			if err := s.CreateTicket(context.Background(), tk, keep); err != nil {
				t.Errorf("create: %v", err)
			}
		}()
	}
	wg.Wait()
	// Oldest first: redeeming stops at the first success, which ends the epoch.
	for i := range n - keep {
		wantInvalid(t, s, fmt.Sprintf("b%03d", i), now, "older than the newest 3")
	}
	wantRedeem(t, s, fmt.Sprintf("b%03d", n-keep), now)
	// Same-millisecond tickets are ordered too (by hash): exactly keep
	// survive, s4, s3 and s2.
	for i := range 5 {
		mustTicket(t, s, fmt.Sprintf("s%d", i), "same-ms", now, keep)
	}
	wantInvalid(t, s, "s0", now, "same millisecond, beyond the newest 3")
	wantInvalid(t, s, "s1", now, "same millisecond, beyond the newest 3")
	wantRedeem(t, s, "s2", now)
}

func testBlockRevokesTickets(t *testing.T, s store.Backend) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := mustCreate(t, s, newUser("legacy", "blocked@example.com", ""))
	subject := store.TicketSubject(u.Connection, u.ID, u.LegacyID)
	mustTicket(t, s, "before-block", subject, now, keep)
	if _, err := s.SetBlocked(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetBlocked(ctx, u.ID, false); err != nil {
		t.Fatal(err)
	}
	wantInvalid(t, s, "before-block", now, "issued before a block, after the unblock")
	mustTicket(t, s, "after-unblock", subject, now.Add(time.Second), keep)
	wantRedeem(t, s, "after-unblock", now)
	// RevokeTickets on its own, and for a subject that has none.
	mustTicket(t, s, "revoked", subject, now.Add(2*time.Second), keep)
	if err := s.RevokeTickets(ctx, subject); err != nil {
		t.Fatal(err)
	}
	wantInvalid(t, s, "revoked", now, "revoked")
	if err := s.RevokeTickets(ctx, "nobody"); err != nil {
		t.Fatal(err)
	}
}

// A ticket given back after a failed reset stays dead if the user was
// blocked in between.
func testRestoreAfterRevoke(t *testing.T, s store.Backend) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	mustTicket(t, s, "x", "restore", now, keep)
	got := wantRedeem(t, s, "x", now)
	if err := s.RevokeTickets(context.Background(), "restore"); err != nil {
		t.Fatal(err)
	}
	if err := s.RestoreTicket(context.Background(), got); !errors.Is(err, store.ErrTicketInvalid) {
		t.Fatalf("restore after a revocation: %v, want ErrTicketInvalid", err)
	}
	wantInvalid(t, s, "x", now, "restored after a revocation")
}
