package lock_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trickle-auth/trickle/deploy/testenv/redistest"
	"github.com/trickle-auth/trickle/services/auth/internal/lock"
)

func lockers(t *testing.T) map[string]lock.Locker {
	rdb, prefix := redistest.Client(t)
	return map[string]lock.Locker{
		"redis": lock.NewRedis(rdb, prefix),
		"local": lock.NewLocal(),
	}
}

func TestSecondAcquireIsBusyUntilRelease(t *testing.T) {
	ctx := context.Background()
	for name, l := range lockers(t) {
		t.Run(name, func(t *testing.T) {
			lease, err := l.TryAcquire(ctx, "conn:ada", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.TryAcquire(ctx, "conn:ada", time.Minute); !errors.Is(err, lock.ErrBusy) {
				t.Fatalf("second acquire: %v, want ErrBusy", err)
			}
			if other, err := l.TryAcquire(ctx, "conn:bob", time.Minute); err != nil {
				t.Fatalf("other key: %v", err)
			} else {
				_ = other.Release(ctx)
			}
			if err := lease.Release(ctx); err != nil {
				t.Fatal(err)
			}
			again, err := l.TryAcquire(ctx, "conn:ada", time.Minute)
			if err != nil {
				t.Fatalf("after release: %v", err)
			}
			_ = again.Release(ctx)
		})
	}
}

// A holder that outlived its TTL must not release the next holder's lock.
func TestExpiredLeaseDoesNotReleaseNewHolder(t *testing.T) {
	ctx := context.Background()
	for name, l := range lockers(t) {
		t.Run(name, func(t *testing.T) {
			old, err := l.TryAcquire(ctx, "k", 50*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(120 * time.Millisecond)
			cur, err := l.TryAcquire(ctx, "k", time.Minute)
			if err != nil {
				t.Fatalf("acquire after expiry: %v", err)
			}
			if err := old.Release(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := l.TryAcquire(ctx, "k", time.Minute); !errors.Is(err, lock.ErrBusy) {
				t.Fatalf("stale release freed the new holder's lock: %v", err)
			}
			_ = cur.Release(ctx)
		})
	}
}

func TestOneWinnerUnderContention(t *testing.T) {
	ctx := context.Background()
	for name, l := range lockers(t) {
		t.Run(name, func(t *testing.T) {
			var winners, busy atomic.Int32
			var wg sync.WaitGroup
			for range 64 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := l.TryAcquire(ctx, "storm", time.Minute)
					switch {
					case err == nil:
						winners.Add(1)
					case errors.Is(err, lock.ErrBusy):
						busy.Add(1)
					default:
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if winners.Load() != 1 || busy.Load() != 63 {
				t.Fatalf("winners %d busy %d", winners.Load(), busy.Load())
			}
		})
	}
}

func TestRedisDownIsAnErrorNotBusy(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()
	_, err := lock.NewRedis(rdb, "x:").TryAcquire(context.Background(), "k", time.Second)
	if err == nil || errors.Is(err, lock.ErrBusy) {
		t.Fatalf("got %v, want a connection error", err)
	}
}
