package bruteforce_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trickle-auth/trickle/deploy/testenv/redistest"
	"github.com/trickle-auth/trickle/services/auth/internal/bruteforce"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestBlockAfterConsecutiveFailuresPerIP(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	g := bruteforce.New(bruteforce.Config{MaxFailures: 10, IPFailuresPerHour: 1000, IPBurst: 1000}, rdb, prefix, quiet, nil)
	ctx := context.Background()
	attempts := 0
	for {
		if err := g.Allow(ctx, "c", "ada@example.com", "10.0.0.1"); err != nil {
			var d *bruteforce.Denied
			if !errors.As(err, &d) || d.Reason != "blocked" || d.RetryAfter <= 0 {
				t.Fatalf("got %v", err)
			}
			break
		}
		attempts++
		g.Failure(ctx, "c", "ada@example.com", "10.0.0.1")
		if attempts > 20 {
			t.Fatal("never blocked")
		}
	}
	if attempts != 10 {
		t.Fatalf("blocked after %d failed attempts, want 10", attempts)
	}
	// Another IP and another identifier are not affected.
	if err := g.Allow(ctx, "c", "ada@example.com", "10.0.0.2"); err != nil {
		t.Fatalf("other IP: %v", err)
	}
	if err := g.Allow(ctx, "c", "bob@example.com", "10.0.0.1"); err != nil {
		t.Fatalf("other identifier: %v", err)
	}
	// An admin unblock clears it.
	if n, err := g.Unblock(ctx, "c", "ada@example.com"); err != nil || n != 1 {
		t.Fatalf("unblock: %d, %v", n, err)
	}
	if err := g.Allow(ctx, "c", "ada@example.com", "10.0.0.1"); err != nil {
		t.Fatalf("after unblock: %v", err)
	}
}

func TestSuccessResetsTheStreak(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	g := bruteforce.New(bruteforce.Config{MaxFailures: 3, IPFailuresPerHour: 1000, IPBurst: 1000}, rdb, prefix, quiet, nil)
	ctx := context.Background()
	for range 2 {
		g.Failure(ctx, "c", "ada", "ip")
	}
	g.Success(ctx, "c", "ada", "ip")
	for range 2 {
		g.Failure(ctx, "c", "ada", "ip")
	}
	if err := g.Allow(ctx, "c", "ada", "ip"); err != nil {
		t.Fatalf("failures were not consecutive, yet: %v", err)
	}
}

func TestBlockExpires(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	g := bruteforce.New(bruteforce.Config{MaxFailures: 1, BlockFor: 200 * time.Millisecond, IPFailuresPerHour: 1000, IPBurst: 1000}, rdb, prefix, quiet, nil)
	ctx := context.Background()
	g.Failure(ctx, "c", "ada", "ip")
	if err := g.Allow(ctx, "c", "ada", "ip"); err == nil {
		t.Fatal("not blocked")
	}
	time.Sleep(300 * time.Millisecond)
	if err := g.Allow(ctx, "c", "ada", "ip"); err != nil {
		t.Fatalf("block did not expire: %v", err)
	}
}

// Failures from one IP across many identifiers throttle that IP, and only
// that IP; successes never do.
func TestIPThrottleAcrossIdentifiers(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	g := bruteforce.New(bruteforce.Config{IPFailuresPerHour: 30, IPBurst: 10}, rdb, prefix, quiet, nil)
	ctx := context.Background()
	for i := range 200 {
		if err := g.Allow(ctx, "c", "same-user", "198.51.100.7"); err != nil {
			t.Fatalf("attempt %d from a busy but honest IP was refused: %v", i, err)
		}
		g.Success(ctx, "c", "same-user", "198.51.100.7")
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.Failure(ctx, "c", fmt.Sprintf("user%d", i), "203.0.113.9")
		}()
	}
	wg.Wait()
	err := g.Allow(ctx, "c", "fresh-user", "203.0.113.9")
	var d *bruteforce.Denied
	if !errors.As(err, &d) || d.Reason != "rate_limited" || d.RetryAfter <= 0 {
		t.Fatalf("after 50 failures across identifiers: %v, want rate_limited", err)
	}
	if err := g.Allow(ctx, "c", "fresh-user", "198.51.100.1"); err != nil {
		t.Fatalf("another IP was throttled: %v", err)
	}
}

func TestRedisDownFailsOpen(t *testing.T) {
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	defer dead.Close()
	g := bruteforce.New(bruteforce.Config{}, dead, "x:", quiet, nil)
	if err := g.Allow(context.Background(), "c", "ada", "ip"); err != nil {
		t.Fatalf("Redis down must not block logins: %v", err)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", 300 * time.Millisecond: "1", 1500 * time.Millisecond: "2", time.Hour: "3600"} {
		if got := bruteforce.RetryAfterSeconds(d); got != want {
			t.Errorf("%v: %s, want %s", d, got, want)
		}
	}
}
