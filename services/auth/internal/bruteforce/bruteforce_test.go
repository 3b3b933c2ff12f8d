package bruteforce_test

import (
	"context"
	"errors"
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
	g := bruteforce.New(bruteforce.Config{MaxFailures: 10, IPPerMinute: 1000, IPBurst: 1000}, rdb, prefix, quiet, nil)
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
	g := bruteforce.New(bruteforce.Config{MaxFailures: 3, IPPerMinute: 1000, IPBurst: 1000}, rdb, prefix, quiet, nil)
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
	g := bruteforce.New(bruteforce.Config{MaxFailures: 1, BlockFor: 200 * time.Millisecond, IPPerMinute: 1000, IPBurst: 1000}, rdb, prefix, quiet, nil)
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

// Concurrent guessing from one IP across many identifiers hits the IP limit.
func TestIPRateLimitAcrossIdentifiers(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	g := bruteforce.New(bruteforce.Config{IPPerMinute: 30, IPBurst: 10}, rdb, prefix, quiet, nil)
	ctx := context.Background()
	var mu sync.Mutex
	allowed, limited := 0, 0
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := g.Allow(ctx, "c", "user"+string(rune('a'+i%26)), "203.0.113.9")
			mu.Lock()
			defer mu.Unlock()
			var d *bruteforce.Denied
			switch {
			case err == nil:
				allowed++
			case errors.As(err, &d) && d.Reason == "rate_limited" && d.RetryAfter > 0:
				limited++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if allowed > 11 || limited < 39 {
		t.Fatalf("allowed %d, limited %d; want about the burst (10) allowed", allowed, limited)
	}
	if err := g.Allow(ctx, "c", "x", "198.51.100.1"); err != nil {
		t.Fatalf("another IP was limited: %v", err)
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
