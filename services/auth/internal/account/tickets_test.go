package account_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/trickle-auth/trickle/services/auth/internal/account"
	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
)

const badTicketMsg = "the reset ticket is invalid, used or expired"

// wantBadTicket: the one answer for a dead ticket, whatever killed it.
func wantBadTicket(t *testing.T, err error, why string) {
	t.Helper()
	if apperr.KindOf(err) != apperr.InvalidArgument || err.Error() != badTicketMsg {
		t.Fatalf("%s: %v (kind %v), want INVALID_ARGUMENT %q", why, err, apperr.KindOf(err), badTicketMsg)
	}
}

// Many different live tickets of one user used at once: exactly one reset
// wins, the others are refused and nothing they carried reaches the user.
func TestParallelResetsWithDifferentTicketsOfOneUser(t *testing.T) {
	const n = 24
	for _, migrated := range []bool{false, true} {
		t.Run(map[bool]string{false: "unmigrated", true: "migrated"}[migrated], func(t *testing.T) {
			h := newHarness(t, nil)
			h.rebuild(func(d *account.Deps) { d.LiveTickets = n })
			ctx := context.Background()
			h.addLegacy("9", "race@example.com", "", "legacy-pw")
			if migrated {
				if _, err := h.svc.SignUp(ctx, signup("native@example.com", "", "old password")); err != nil {
					t.Fatal(err)
				}
			}
			ident := map[bool]string{false: "race@example.com", true: "native@example.com"}[migrated]
			tickets := make([]string, n)
			for i := range tickets {
				var err error
				if tickets[i], _, err = h.svc.CreateTicketFor(ctx, "legacy", ident, 0); err != nil {
					t.Fatal(err)
				}
			}
			var wins atomic.Int32
			var winner atomic.Value
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, tk := range tickets {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					pw := fmt.Sprintf("password number %02d", i)
					id, err := h.svc.ResetPassword(ctx, tk, pw)
					if err != nil {
						wantBadTicket(t, err, "a losing ticket")
						return
					}
					wins.Add(1)
					winner.Store([2]string{id, pw})
				}()
			}
			close(start)
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d of %d different tickets of one user reset the password, want exactly 1", wins.Load(), n)
			}
			if h.userCount() != 1 {
				t.Fatalf("users = %d, want 1", h.userCount())
			}
			w := winner.Load().([2]string)
			if !h.verifies(w[0], w[1]) {
				t.Fatal("the stored password is not the winner's")
			}
			for _, tk := range tickets {
				_, err := h.svc.ResetPassword(ctx, tk, "one more password")
				wantBadTicket(t, err, "a ticket after the race")
			}
		})
	}
}

func TestResetEndsTheUsersOtherTickets(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	u, err := h.svc.SignUp(ctx, signup("ada@example.com", "", "old password"))
	if err != nil {
		t.Fatal(err)
	}
	older, _, _ := h.svc.CreateTicketFor(ctx, "legacy", "ada@example.com", 0)
	newer, _, err := h.svc.CreateTicketFor(ctx, "legacy", "ada@example.com", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.ResetPassword(ctx, newer, "new password 1"); err != nil {
		t.Fatal(err)
	}
	_, err = h.svc.ResetPassword(ctx, older, "attacker password")
	wantBadTicket(t, err, "an older ticket after a reset with a newer one")
	if !h.verifies(u.ID, "new password 1") {
		t.Fatal("the older ticket changed the password")
	}
}

// Ten requests leave the three newest tickets usable.
func TestLiveTicketsPerUserAreBounded(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	if _, err := h.svc.SignUp(ctx, signup("ada@example.com", "", "old password")); err != nil {
		t.Fatal(err)
	}
	var tick atomic.Int64
	base := time.Now()
	account.SetClock(h.svc, func() time.Time { return base.Add(time.Duration(tick.Add(1)) * time.Second) })
	tickets := make([]string, 10)
	for i := range tickets {
		var err error
		if tickets[i], _, err = h.svc.CreateTicketFor(ctx, "legacy", "ada@example.com", 0); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := h.db.Collection("reset_tickets").CountDocuments(ctx, bson.D{}); n != account.DefaultLiveTickets {
		t.Errorf("%d tickets stored, want %d", n, account.DefaultLiveTickets)
	}
	for i, tk := range tickets[:10-account.DefaultLiveTickets] {
		_, err := h.svc.ResetPassword(ctx, tk, "new password")
		wantBadTicket(t, err, fmt.Sprintf("ticket %d of 10", i+1))
	}
	if _, err := h.svc.ResetPassword(ctx, tickets[10-account.DefaultLiveTickets], "new password"); err != nil {
		t.Fatalf("the third newest ticket: %v", err)
	}
}

func TestBlockedUsersTicketsDoNotWork(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	u, err := h.svc.SignUp(ctx, signup("ada@example.com", "", "old password"))
	if err != nil {
		t.Fatal(err)
	}
	before, _, err := h.svc.CreateTicketFor(ctx, "legacy", "ada@example.com", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.SetBlocked(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	_, err = h.svc.ResetPassword(ctx, before, "new password")
	wantBadTicket(t, err, "a blocked user's ticket")
	// No ticket is issued while blocked: the operator is told, a
	// self-service request sends nothing.
	_, _, err = h.svc.CreateTicketFor(ctx, "legacy", "ada@example.com", 0)
	wantKind(t, err, apperr.FailedPrecondition)
	if err := h.svc.RequestPasswordReset(ctx, "legacy", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	h.svc.Wait()
	if n := len(h.hook.received()); n != 0 {
		t.Fatalf("%d tickets delivered for a blocked user", n)
	}
	if _, err := h.st.SetBlocked(ctx, u.ID, false); err != nil {
		t.Fatal(err)
	}
	_, err = h.svc.ResetPassword(ctx, before, "new password")
	wantBadTicket(t, err, "a ticket issued before the block, after the unblock")
	if !h.verifies(u.ID, "old password") {
		t.Fatal("a dead ticket changed the password")
	}
	after, _, err := h.svc.CreateTicketFor(ctx, "legacy", "ada@example.com", 0)
	if err != nil {
		t.Fatal(err)
	}
	// The blocked flag alone refuses too (a block written without revoking
	// tickets, e.g. by an older replica during a rolling upgrade).
	if _, err := h.db.Collection("users").UpdateOne(ctx, bson.D{{Key: "_id", Value: u.ID}}, bson.D{{Key: "$set", Value: bson.D{{Key: "blocked", Value: true}}}}); err != nil {
		t.Fatal(err)
	}
	_, err = h.svc.ResetPassword(ctx, after, "new password")
	wantBadTicket(t, err, "a ticket of a user blocked without revocation")
	if !h.verifies(u.ID, "old password") {
		t.Fatal("a blocked user's password was reset")
	}
}
