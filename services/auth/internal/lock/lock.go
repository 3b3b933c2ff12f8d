// Package lock is the migration lock: at most one legacy Login call in flight
// per (connection, identifier) across all replicas (invariant I2). It only
// saves work; uniqueness of users is the store's job (I1), so callers go on
// without the lock when its backend is down.
package lock

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrBusy means another holder has the lock.
var ErrBusy = errors.New("lock: held by another caller")

// Locker hands out leases on keys. Any error other than ErrBusy means the
// lock backend is unavailable.
type Locker interface {
	TryAcquire(ctx context.Context, key string, ttl time.Duration) (Lease, error)
}

// Lease is a held lock. Release frees it only if it is still this lease's:
// a lease that expired and was taken by someone else stays theirs.
type Lease interface {
	Release(ctx context.Context) error
}

func newToken() string {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Redis is a Locker over one Redis server: SET NX PX with a random token,
// released by compare-and-delete.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ Locker = (*Redis)(nil)

// NewRedis returns a Redis locker whose keys start with prefix.
func NewRedis(rdb redis.UniversalClient, prefix string) *Redis {
	return &Redis{rdb: rdb, prefix: prefix}
}

// releaseScript deletes the key only when it still holds our token.
var releaseScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)

// TryAcquire implements Locker.
func (r *Redis) TryAcquire(ctx context.Context, key string, ttl time.Duration) (Lease, error) {
	token := newToken()
	k := r.prefix + key
	ok, err := r.rdb.SetNX(ctx, k, token, ttl).Result()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrBusy
	}
	return &redisLease{rdb: r.rdb, key: k, token: token}, nil
}

type redisLease struct {
	rdb   redis.UniversalClient
	key   string
	token string
}

func (l *redisLease) Release(ctx context.Context) error {
	return releaseScript.Run(ctx, l.rdb, []string{l.key}, l.token).Err()
}

// Local is an in-process Locker for a single replica without Redis (the
// local runner). Its leases expire like Redis ones.
type Local struct {
	mu   sync.Mutex
	held map[string]localHold
}

type localHold struct {
	token   string
	expires time.Time
}

var _ Locker = (*Local)(nil)

// NewLocal returns an empty in-process locker.
func NewLocal() *Local { return &Local{held: map[string]localHold{}} }

// TryAcquire implements Locker.
func (l *Local) TryAcquire(_ context.Context, key string, ttl time.Duration) (Lease, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if h, ok := l.held[key]; ok && now.Before(h.expires) {
		return nil, ErrBusy
	}
	// Drop expired holds now and then so the map does not grow forever.
	if len(l.held) > 1024 {
		for k, h := range l.held {
			if !now.Before(h.expires) {
				delete(l.held, k)
			}
		}
	}
	token := newToken()
	l.held[key] = localHold{token: token, expires: now.Add(ttl)}
	return &localLease{l: l, key: key, token: token}, nil
}

type localLease struct {
	l     *Local
	key   string
	token string
}

func (ll *localLease) Release(context.Context) error {
	ll.l.mu.Lock()
	defer ll.l.mu.Unlock()
	if h, ok := ll.l.held[ll.key]; ok && h.token == ll.token {
		delete(ll.l.held, ll.key)
	}
	return nil
}
