// Package redistest connects tests to the real Redis server (REDIS_ADDR,
// default 127.0.0.1:6379) and gives each test its own key prefix, so that
// packages running in parallel never see each other's keys.
package redistest

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trickle-auth/trickle/deploy/testenv"
)

// Addr is the Redis address tests use.
func Addr() string { return testenv.Env("REDIS_ADDR", "127.0.0.1:6379") }

// Client returns a client of the test Redis and a key prefix unique to the
// test. Keys under the prefix are deleted when the test ends.
func Client(t testing.TB) (*redis.Client, string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: Addr()})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		testenv.Unavailable(t, "Redis at "+Addr(), err)
	}
	prefix := testenv.UniqueName("test:") + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		_ = rdb.Close()
	})
	return rdb, prefix
}
