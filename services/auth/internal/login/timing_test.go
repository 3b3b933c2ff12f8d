package login_test

import (
	"context"
	"testing"
	"time"

	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
)

// I7: once the connection has seen a legacy refusal, a migrated user's
// wrong password waits at least as long as that refusal's legacy part (a
// deliberate wait, so a lower bound that cannot flake), and a correct
// password does not wait.
func TestMigratedWrongPasswordWaitsLikeALegacyRefusal(t *testing.T) {
	h := newHarness(t)
	h.addLegacy("17", "ada@example.com", "ada", "correct horse")
	svc := h.instance(instanceOpts{})
	ctx := context.Background()
	if _, err := svc.Login(ctx, "legacy", "ada", "correct horse"); err != nil {
		t.Fatal(err)
	}
	// Before any refusal there is nothing to copy: no wait is added.
	const delay = 200 * time.Millisecond
	h.legacy.SetDelay(delay)
	start := time.Now()
	_, err := svc.Login(ctx, "legacy", "nobody@example.com", "x")
	wantKind(t, err, apperr.Unauthenticated)
	if time.Since(start) < delay {
		t.Fatal("the legacy refusal returned before the connector answered")
	}
	for range 3 {
		start = time.Now()
		_, err = svc.Login(ctx, "legacy", "ada", "wrong horse")
		wantKind(t, err, apperr.Unauthenticated)
		if d := time.Since(start); d < delay {
			t.Fatalf("migrated wrong password answered after %v, before the %v a legacy refusal takes", d, delay)
		}
	}
	if _, err := svc.Login(ctx, "legacy", "ada", "correct horse"); err != nil {
		t.Fatal(err)
	}
	if calls := h.legacy.LoginCalls.Load(); calls != 2 {
		t.Fatalf("connector Login calls = %d, want 2 (the migration and the unknown user)", calls)
	}
}
