// Package bruteforce protects logins (and, for users not migrated yet, the
// legacy store behind them) from password guessing: after MaxFailures
// consecutive failures for one (connection, identifier, client IP) that
// triple is blocked until an admin unblocks it or the block expires, and
// every client IP is throttled across identifiers once it fails too often
// (Auth0's "suspicious IP throttling": failures, not attempts, count, so a
// busy NAT of honest users is not throttled). State lives in Redis
// so all replicas share it; when Redis is down the guard fails open (logins
// must keep working, invariant I2's spirit) and counts it.
package bruteforce

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Config of the protection. Zero values get Auth0-like defaults.
type Config struct {
	// MaxFailures consecutive failures block (connection, identifier, IP).
	// Default 10 (Auth0's).
	MaxFailures int `yaml:"max_failures"`
	// BlockFor is how long a block (and a failure streak) lasts unless an
	// admin unblocks it. Default 24h.
	BlockFor time.Duration `yaml:"block_for"`
	// IPFailuresPerHour is the sustained rate of failed logins one client
	// IP may have across all identifiers, after a burst of IPBurst; beyond
	// it the IP is throttled until the bucket refills. Default 100 and 100.
	IPFailuresPerHour int `yaml:"ip_failures_per_hour"`
	IPBurst           int `yaml:"ip_burst"`
	// Disabled turns the protection off (tests, or a proxy that does it).
	Disabled bool `yaml:"disabled"`
}

// SetDefaults fills the zero values.
func (c *Config) SetDefaults() {
	if c.MaxFailures <= 0 {
		c.MaxFailures = 10
	}
	if c.BlockFor <= 0 {
		c.BlockFor = 24 * time.Hour
	}
	if c.IPFailuresPerHour <= 0 {
		c.IPFailuresPerHour = 100
	}
	if c.IPBurst <= 0 {
		c.IPBurst = 100
	}
}

// Denied is returned when an attempt is refused; RetryAfter says when to
// come back.
type Denied struct {
	Reason     string // "blocked" or "rate_limited"
	RetryAfter time.Duration
}

func (d *Denied) Error() string { return "too many attempts (" + d.Reason + ")" }

// Guard is the brute-force protection.
type Guard struct {
	cfg      Config
	rdb      redis.UniversalClient
	limiter  *redis_rate.Limiter
	prefix   string
	log      *slog.Logger
	failOpen prometheus.Counter
	denied   *prometheus.CounterVec
}

// New returns a guard over rdb; with rdb nil the guard only counts nothing
// and allows everything (single-replica local runs without Redis).
func New(cfg Config, rdb redis.UniversalClient, prefix string, log *slog.Logger, reg prometheus.Registerer) *Guard {
	cfg.SetDefaults()
	g := &Guard{
		cfg: cfg, rdb: rdb, prefix: prefix + "bf:", log: log,
		failOpen: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "trickle", Name: "bruteforce_unavailable_total", Help: "Login attempts let through unchecked because Redis was unavailable.",
		}),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "trickle", Name: "bruteforce_denied_total", Help: "Login attempts refused by the brute-force protection.",
		}, []string{"reason"}),
	}
	if rdb != nil {
		g.limiter = redis_rate.NewLimiter(rdb)
	}
	if reg != nil {
		reg.MustRegister(g.failOpen, g.denied)
	}
	return g
}

func (g *Guard) active() bool { return !g.cfg.Disabled && g.rdb != nil }

// subject hashes (connection, identifier) so keys hold no emails and no
// separator can be injected.
func subject(connection, identifier string) string {
	h := sha256.Sum256([]byte(connection + "\x00" + identifier))
	return hex.EncodeToString(h[:16])
}

func (g *Guard) failKey(connection, identifier, ip string) string {
	return g.prefix + "fail:" + subject(connection, identifier) + ":" + ip
}

// Allow checks an attempt before any password work: the IP's throttle,
// then the (connection, identifier, IP) block. It returns *Denied or nil.
func (g *Guard) Allow(ctx context.Context, connection, identifier, ip string) error {
	if !g.active() {
		return nil
	}
	throttled, err := g.rdb.PTTL(ctx, g.ipThrottleKey(ip)).Result()
	if err != nil {
		return g.openOnError(err)
	}
	if throttled > 0 {
		g.denied.WithLabelValues("rate_limited").Inc()
		return &Denied{Reason: "rate_limited", RetryAfter: throttled}
	}
	key := g.failKey(connection, identifier, ip)
	n, err := g.rdb.Get(ctx, key).Int()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return g.openOnError(err)
	}
	if n >= g.cfg.MaxFailures {
		ttl, _ := g.rdb.PTTL(ctx, key).Result()
		g.denied.WithLabelValues("blocked").Inc()
		return &Denied{Reason: "blocked", RetryAfter: max(ttl, time.Second)}
	}
	return nil
}

// Failure records a failed attempt (wrong password or unknown user).
func (g *Guard) Failure(ctx context.Context, connection, identifier, ip string) {
	if !g.active() {
		return
	}
	key := g.failKey(connection, identifier, ip)
	pipe := g.rdb.TxPipeline()
	pipe.Incr(ctx, key)
	pipe.PExpire(ctx, key, g.cfg.BlockFor)
	if _, err := pipe.Exec(ctx); err != nil {
		_ = g.openOnError(err)
		return
	}
	// The failure also spends one token of the IP's bucket; an empty bucket
	// throttles the IP until the next token is due.
	res, err := g.limiter.Allow(ctx, g.prefix+"ipfail:"+ip, redis_rate.Limit{Rate: g.cfg.IPFailuresPerHour, Burst: g.cfg.IPBurst, Period: time.Hour})
	if err != nil {
		_ = g.openOnError(err)
		return
	}
	if res.Allowed == 0 && res.RetryAfter > 0 {
		if err := g.rdb.Set(ctx, g.ipThrottleKey(ip), "1", res.RetryAfter).Err(); err != nil {
			_ = g.openOnError(err)
		}
	}
}

func (g *Guard) ipThrottleKey(ip string) string { return g.prefix + "ipthrottle:" + ip }

// Success ends a failure streak.
func (g *Guard) Success(ctx context.Context, connection, identifier, ip string) {
	if !g.active() {
		return
	}
	if err := g.rdb.Del(ctx, g.failKey(connection, identifier, ip)).Err(); err != nil {
		_ = g.openOnError(err)
	}
}

// Unblock clears every block and failure streak of the identifier, from
// every IP (an admin action).
func (g *Guard) Unblock(ctx context.Context, connection, identifier string) (int, error) {
	if g.rdb == nil {
		return 0, nil
	}
	var cleared int
	iter := g.rdb.Scan(ctx, 0, g.prefix+"fail:"+subject(connection, identifier)+":*", 200).Iterator()
	for iter.Next(ctx) {
		if err := g.rdb.Del(ctx, iter.Val()).Err(); err != nil {
			return cleared, err
		}
		cleared++
	}
	return cleared, iter.Err()
}

func (g *Guard) openOnError(err error) error {
	g.failOpen.Inc()
	g.log.Warn("brute-force protection unavailable, letting the attempt through", "err", err)
	return nil
}

// RetryAfterSeconds formats a Retry-After value (whole seconds, at least 1).
func RetryAfterSeconds(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	return strconv.Itoa(max(s, 1))
}
