// Package bruteforce protects logins (and, for users not migrated yet, the
// legacy store behind them) from password guessing, and sign-up and reset
// requests from being used as oracles.
//
// Every guarded attempt reserves its unit of each budget BEFORE the work,
// in one Redis script (check-and-increment), and settles it afterwards: a
// success gives the unit back, a failure keeps it. So parallel guesses
// cannot all pass a check made before any of them failed: 200 simultaneous
// wrong logins check at most MaxFailures passwords.
//
// Budgets are keyed by the account however it is spelled (see Account and
// Canonical), per client network (IPv4 address, IPv6 /64), and every client
// network has an hourly budget of failures across accounts (Auth0's
// "suspicious IP throttling": failures, not attempts, count, so a busy NAT
// of honest users is not throttled).
//
// State lives in Redis so all replicas share it. When Redis is unreachable
// the policy decides (fail_open by default: logins keep working, counted in
// trickle_bruteforce_unavailable_total). A client-side pool exhaustion is
// not "unreachable": it is overload, and the attempt is refused.
package bruteforce

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
)

// Action is what an attempt does; each has its own budgets.
type Action string

// The guarded actions.
const (
	Login        Action = "login"
	SignUp       Action = "signup"
	ResetRequest Action = "reset_request"
	ResetConfirm Action = "reset_confirm"
)

// Policy when Redis is unreachable.
const (
	FailOpen   = "fail_open"
	FailClosed = "fail_closed"
)

// Quota is an hourly budget (sliding window) of one action.
type Quota struct {
	// PerIdentifierPerHour bounds the attempts on one account; 0 uses the
	// default, -1 switches the bound off.
	PerIdentifierPerHour int `yaml:"per_identifier_per_hour"`
	// PerIPPerHour bounds the attempts from one client network.
	PerIPPerHour int `yaml:"per_ip_per_hour"`
}

// Config of the protection. Zero values get Auth0-like defaults.
type Config struct {
	// MaxFailures consecutive failed logins block (account, client network).
	// Default 10 (Auth0's).
	MaxFailures int `yaml:"max_failures"`
	// BlockFor is how long a block (and a failure streak) lasts unless an
	// admin unblocks it. Default 24h.
	BlockFor time.Duration `yaml:"block_for"`
	// IPFailuresPerHour is how many failed logins one client network may
	// have across all accounts in any hour; beyond it the network is
	// throttled until the window slides. Default 100.
	IPFailuresPerHour int `yaml:"ip_failures_per_hour"`
	// IPBurst is kept for old configuration files; the sliding window has
	// no separate burst and ignores it.
	IPBurst int `yaml:"ip_burst"`
	// SignUp counts sign-ups that did not create a user (an existing
	// identifier is a probe). Defaults: 5 per identifier, 20 per network.
	SignUp Quota `yaml:"sign_up"`
	// ResetRequest counts every reset request (the answer is the same
	// whether the user exists). Defaults: 5 per identifier, 30 per network.
	ResetRequest Quota `yaml:"reset_request"`
	// ResetConfirm counts reset confirmations with a ticket that did not
	// work. Default: 20 per network (tickets are not guessable; this caps
	// the load).
	ResetConfirm Quota `yaml:"reset_confirm"`
	// WhenUnavailable is fail_open (default: attempts go through unchecked
	// while Redis is unreachable, and are counted) or fail_closed (they are
	// refused with UNAVAILABLE: no guessing ever goes unchecked, but a
	// Redis outage stops every login).
	WhenUnavailable string `yaml:"when_unavailable"`
	// MaxWait is how long an attempt may wait while attempts in flight
	// fill its budget (concurrent logins of one user): they may succeed
	// and free room. Past it the attempt is refused (busy). Default 5s.
	MaxWait time.Duration `yaml:"max_wait"`
	// Disabled turns the protection off (tests, or a proxy that does it).
	Disabled bool `yaml:"disabled"`
}

// SetDefaults fills the zero values.
func (c *Config) SetDefaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MaxFailures, 10)
	if c.BlockFor <= 0 {
		c.BlockFor = 24 * time.Hour
	}
	def(&c.IPFailuresPerHour, 100)
	def(&c.SignUp.PerIdentifierPerHour, 5)
	def(&c.SignUp.PerIPPerHour, 20)
	def(&c.ResetRequest.PerIdentifierPerHour, 5)
	def(&c.ResetRequest.PerIPPerHour, 30)
	def(&c.ResetConfirm.PerIPPerHour, 20)
	c.ResetConfirm.PerIdentifierPerHour = -1 // a ticket names no account before it is checked
	if c.MaxWait <= 0 {
		c.MaxWait = 5 * time.Second
	}
	if c.WhenUnavailable == "" {
		c.WhenUnavailable = FailOpen
	}
}

// Validate reports a configuration that cannot work.
func (c *Config) Validate() error {
	if c.WhenUnavailable != FailOpen && c.WhenUnavailable != FailClosed {
		return fmt.Errorf("brute_force.when_unavailable must be %s or %s, not %q", FailOpen, FailClosed, c.WhenUnavailable)
	}
	if c.MaxFailures < 0 || c.IPFailuresPerHour < 0 {
		return errors.New("brute_force.max_failures and ip_failures_per_hour must not be negative")
	}
	return nil
}

// Denied is returned when an attempt is refused; RetryAfter says when to
// come back.
type Denied struct {
	Reason     string // "blocked", "rate_limited", "busy" or "overloaded"
	RetryAfter time.Duration
}

func (d *Denied) Error() string { return "too many attempts (" + d.Reason + ")" }

// ErrUnavailable is returned under fail_closed while Redis is unreachable.
var ErrUnavailable = errors.New("brute-force protection unavailable")

// Guard is the brute-force protection.
type Guard struct {
	cfg    Config
	rdb    redis.UniversalClient
	prefix string
	log    *slog.Logger
	now    func() time.Time

	failOpen, overloaded prometheus.Counter
	denied               *prometheus.CounterVec
	lastWarn             atomic.Int64 // unix seconds of the last "unavailable" log line
}

// New returns a guard over rdb; with rdb nil the guard counts nothing and
// allows everything (single-replica local runs without Redis).
func New(cfg Config, rdb redis.UniversalClient, prefix string, log *slog.Logger, reg prometheus.Registerer) *Guard {
	cfg.SetDefaults()
	if log == nil {
		log = slog.Default()
	}
	g := &Guard{
		cfg: cfg, rdb: rdb, prefix: prefix + "bf:", log: log, now: time.Now,
		failOpen: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "trickle", Name: "bruteforce_unavailable_total", Help: "Attempts let through unchecked because Redis was unreachable (fail_open).",
		}),
		overloaded: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "trickle", Name: "bruteforce_overloaded_total", Help: "Attempts refused because the Redis client pool was exhausted.",
		}),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "trickle", Name: "bruteforce_denied_total", Help: "Attempts refused by the brute-force protection.",
		}, []string{"action", "reason"}),
	}
	if reg != nil {
		reg.MustRegister(g.failOpen, g.overloaded, g.denied)
	}
	return g
}

func (g *Guard) active() bool { return g != nil && !g.cfg.Disabled && g.rdb != nil }

// hashed turns an account or alias into a key part that holds no email and
// into which no separator can be injected.
func hashed(connection, s string) string {
	h := sha256.Sum256([]byte(connection + "\x00" + s))
	return hex.EncodeToString(h[:16])
}

// onError decides what a Redis error means for the attempt: the caller
// gave up (its context error), overload (refused), or Redis unreachable
// (the configured policy).
func (g *Guard) onError(ctx context.Context, action Action, err error) error {
	if ctx.Err() != nil {
		return ctx.Err() // the client left: nothing to count, nothing to let through
	}
	if errors.Is(err, redis.ErrPoolTimeout) {
		g.overloaded.Inc()
		g.denied.WithLabelValues(string(action), "overloaded").Inc()
		return &Denied{Reason: "overloaded", RetryAfter: time.Second}
	}
	if g.cfg.WhenUnavailable == FailClosed {
		g.warn("brute-force protection unavailable, refusing the attempt", err)
		return ErrUnavailable
	}
	g.failOpen.Inc()
	g.warn("brute-force protection unavailable, letting the attempt through", err)
	return nil
}

// warn logs at most once a second: an outage under load must not flood
// the log with one line per attempt.
func (g *Guard) warn(msg string, err error) {
	now := g.now().Unix()
	if last := g.lastWarn.Load(); last != now && g.lastWarn.CompareAndSwap(last, now) {
		g.log.Warn(msg, "err", err)
	}
}

// RetryAfterSeconds formats a Retry-After value (whole seconds, at least 1).
func RetryAfterSeconds(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	return strconv.Itoa(max(s, 1))
}

// AsAppError turns a refusal of Reserve into the error callers see:
// RESOURCE_EXHAUSTED with the time to wait, UNAVAILABLE under fail_closed,
// the caller's own context error as it is.
func AsAppError(err error) error {
	if d, ok := IsDenied(err); ok {
		return &apperr.Error{Kind: apperr.ResourceExhausted, Msg: "too many attempts, try again later", RetryAfter: d.RetryAfter, Reason: apperr.ReasonTooManyAttempts}
	}
	if errors.Is(err, ErrUnavailable) {
		return apperr.Wrap(apperr.Unavailable, err, "brute-force protection unavailable")
	}
	return err
}
