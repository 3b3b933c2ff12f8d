package bruteforce_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/trickle-auth/trickle/deploy/testenv/redistest"
	"github.com/trickle-auth/trickle/services/auth/internal/bruteforce"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func login(acc ...bruteforce.Account) bruteforce.Attempt {
	return bruteforce.Attempt{Action: bruteforce.Login, Connection: "c", Accounts: acc, IP: "192.0.2.1"}
}

func denied(t *testing.T, err error, reason string) {
	t.Helper()
	d, ok := bruteforce.IsDenied(err)
	if !ok || d.Reason != reason || d.RetryAfter < time.Second {
		t.Fatalf("got %v, want denied %q with a retry delay", err, reason)
	}
}

// The reservation is taken before the check: 200 simultaneous wrong
// guesses for one account from one address get at most MaxFailures
// checks (with check-then-act all 200 were checked).
func TestParallelGuessesCheckAtMostMaxFailures(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	g := bruteforce.New(bruteforce.Config{MaxFailures: 10, IPFailuresPerHour: 10000}, rdb, prefix, quiet, nil)
	ctx := context.Background()
	var checked, refused atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := g.Reserve(ctx, login(bruteforce.SpelledAccount("ada@example.com")))
			if err != nil {
				if _, ok := bruteforce.IsDenied(err); ok {
					refused.Add(1)
				}
				return
			}
			checked.Add(1)
			time.Sleep(5 * time.Millisecond) // the password check
			r.Failed(ctx, "")
		}()
	}
	close(start)
	wg.Wait()
	if checked.Load() != 10 || refused.Load() != 190 {
		t.Fatalf("checked %d, refused %d; want 10 and 190", checked.Load(), refused.Load())
	}
}

// Concurrent logins of one honest user are queued, not refused: 60 right
// passwords at once for one account, with room for 10 checks, all pass.
// And while the budget holds failures plus attempts in flight, a guess
// waits; it is refused once the failures alone fill it.
func TestConcurrentSuccessesWaitInsteadOfBeingRefused(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	g := bruteforce.New(bruteforce.Config{MaxFailures: 10}, rdb, prefix, quiet, nil)
	ctx := context.Background()
	var inFlight, most, passed atomic.Int64
	var wg sync.WaitGroup
	for range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := g.Reserve(ctx, login(bruteforce.SpelledAccount("ada")))
			if err != nil {
				t.Errorf("a right password was refused: %v", err)
				return
			}
			n := inFlight.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(10 * time.Millisecond) // the check
			inFlight.Add(-1)
			passed.Add(1)
			r.Succeeded(ctx)
		}()
	}
	wg.Wait()
	if passed.Load() != 60 || most.Load() > 10 {
		t.Fatalf("%d of 60 passed, %d checked at once; want 60 and at most 10", passed.Load(), most.Load())
	}
	short := bruteforce.New(bruteforce.Config{MaxFailures: 1, MaxWait: 200 * time.Millisecond}, rdb, prefix+"short:", quiet, nil)
	held, err := short.Reserve(ctx, login("c:bob"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = short.Reserve(ctx, login("c:bob"))
	denied(t, err, "busy")
	held.Cancel(ctx)
	if r, err := short.Reserve(ctx, login("c:bob")); err != nil {
		t.Fatalf("after the attempt in flight settled: %v", err)
	} else {
		r.Failed(ctx, "")
	}
	_, err = short.Reserve(ctx, login("c:bob"))
	denied(t, err, "blocked")
}

// Every spelling a collation treats as equal shares one budget.
func TestSpellingsShareOneBudget(t *testing.T) {
	for _, s := range []string{"ADA@example.com", "àda@example.com", " ada@example.com ", "ＡＤＡ@ｅｘａｍｐｌｅ.com", "Ádá@Example.COM"} {
		if got := bruteforce.Canonical(s); got != "ada@example.com" {
			t.Errorf("Canonical(%q) = %q", s, got)
		}
	}
	if bruteforce.Canonical("straße") != bruteforce.Canonical("STRASSE") {
		t.Error("ß and SS fold differently")
	}
	if bruteforce.Canonical("bob@example.com") == bruteforce.Canonical("bób@example.org") {
		t.Error("different addresses folded together")
	}
	rdb, prefix := redistest.Client(t)
	g := bruteforce.New(bruteforce.Config{MaxFailures: 4}, rdb, prefix, quiet, nil)
	ctx := context.Background()
	for _, s := range []string{"ada@example.com", "ADA@example.com", "àda@example.com", "ada@example.com "} {
		r, err := g.Reserve(ctx, login(bruteforce.SpelledAccount(s)))
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		r.Failed(ctx, "")
	}
	_, err := g.Reserve(ctx, login(bruteforce.SpelledAccount("Ada@Example.com")))
	denied(t, err, "blocked")
}

// A refusal that names the legacy account ties the spelling to it: the
// username and the email of one legacy user end up on one budget.
func TestLegacyAccountJoinsSpellings(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	g := bruteforce.New(bruteforce.Config{MaxFailures: 6}, rdb, prefix, quiet, nil)
	ctx := context.Background()
	checked := 0
	for i := range 40 {
		spelling := []string{"ada@example.com", "ada", "a.lovelace"}[i%3]
		r, err := g.Reserve(ctx, login(bruteforce.SpelledAccount(spelling)))
		if err != nil {
			denied(t, err, "blocked")
			continue
		}
		checked++
		r.Failed(ctx, "42") // the legacy store matched user 42 each time
	}
	// Each new spelling may get one check before the store names the
	// account; after that all three share the account's 6.
	if checked > 6+2 {
		t.Fatalf("%d passwords checked across three spellings of one account, want at most 8", checked)
	}
	// A migrated user's account is its legacy id: the same budget.
	_, err := g.Reserve(ctx, login(bruteforce.UserAccount("u-1", "42")))
	denied(t, err, "blocked")
	// An admin unblock of the account frees every spelling.
	if _, err := g.Unblock(ctx, "c", bruteforce.LegacyAccount("42"), bruteforce.SpelledAccount("ada@example.com"), bruteforce.SpelledAccount("ada"), bruteforce.SpelledAccount("a.lovelace")); err != nil {
		t.Fatal(err)
	}
	if r, err := g.Reserve(ctx, login(bruteforce.SpelledAccount("ada"))); err != nil {
		t.Fatalf("after unblock: %v", err)
	} else {
		r.Succeeded(ctx)
	}
}

func TestSuccessEndsTheStreakAndCancelRefunds(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	g := bruteforce.New(bruteforce.Config{MaxFailures: 3}, rdb, prefix, quiet, nil)
	ctx := context.Background()
	acc := bruteforce.SpelledAccount("ada")
	fail := func(n int) {
		for range n {
			r, err := g.Reserve(ctx, login(acc))
			if err != nil {
				t.Fatal(err)
			}
			r.Failed(ctx, "")
		}
	}
	fail(2)
	r, err := g.Reserve(ctx, login(acc))
	if err != nil {
		t.Fatal(err)
	}
	r.Succeeded(ctx)
	fail(2)
	for range 5 { // attempts that decided nothing (store down) cost nothing
		r, err := g.Reserve(ctx, login(acc))
		if err != nil {
			t.Fatalf("cancelled attempts were counted: %v", err)
		}
		r.Cancel(ctx)
	}
	fail(1)
	_, err = g.Reserve(ctx, login(acc))
	denied(t, err, "blocked")
}

func TestBlockExpires(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	g := bruteforce.New(bruteforce.Config{MaxFailures: 1, BlockFor: 300 * time.Millisecond}, rdb, prefix, quiet, nil)
	ctx := context.Background()
	r, _ := g.Reserve(ctx, login("c:ada"))
	r.Failed(ctx, "")
	if _, err := g.Reserve(ctx, login("c:ada")); err == nil {
		t.Fatal("not blocked")
	}
	time.Sleep(400 * time.Millisecond)
	if _, err := g.Reserve(ctx, login("c:ada")); err != nil {
		t.Fatalf("block did not expire: %v", err)
	}
}

// IPv6 clients are budgeted per /64: rotating the interface identifier
// does not buy new guesses; another /64 is another client.
func TestIPv6SharesABudgetPer64(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	g := bruteforce.New(bruteforce.Config{MaxFailures: 5}, rdb, prefix, quiet, nil)
	ctx := context.Background()
	for i := range 5 {
		a := login("c:ada")
		a.IP = fmt.Sprintf("2001:db8:1:2::%x", i+1)
		r, err := g.Reserve(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		r.Failed(ctx, "")
	}
	a := login("c:ada")
	a.IP = "2001:db8:1:2:ffff:ffff:ffff:fffe"
	_, err := g.Reserve(ctx, a)
	denied(t, err, "blocked")
	a.IP = "2001:db8:1:3::1"
	if _, err := g.Reserve(ctx, a); err != nil {
		t.Fatalf("another /64: %v", err)
	}
	for in, want := range map[string]string{"::ffff:192.0.2.7": "192.0.2.7", "2001:db8::1%eth0": "2001:db8::/64", "": "unknown"} {
		if got := bruteforce.ClientNet(in); got != want {
			t.Errorf("ClientNet(%q) = %q, want %q", in, got, want)
		}
	}
}

// Failures from one network across many accounts throttle that network,
// also when they arrive all at once; successes never do.
func TestIPThrottleAcrossAccounts(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	g := bruteforce.New(bruteforce.Config{MaxFailures: 10, IPFailuresPerHour: 30}, rdb, prefix, quiet, nil)
	ctx := context.Background()
	honest := login("c:same-user")
	honest.IP = "198.51.100.7"
	for i := range 100 {
		r, err := g.Reserve(ctx, honest)
		if err != nil {
			t.Fatalf("attempt %d of a busy but honest address: %v", i, err)
		}
		r.Succeeded(ctx)
	}
	var checked atomic.Int64
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := login(bruteforce.SpelledAccount(fmt.Sprintf("user%d", i)))
			a.IP = "203.0.113.9"
			if r, err := g.Reserve(ctx, a); err == nil {
				checked.Add(1)
				r.Failed(ctx, "")
			}
		}()
	}
	wg.Wait()
	if checked.Load() != 30 {
		t.Fatalf("%d of 100 parallel failures across accounts were checked, want 30", checked.Load())
	}
	a := login("c:fresh")
	a.IP = "203.0.113.9"
	_, err := g.Reserve(ctx, a)
	denied(t, err, "rate_limited")
	a.IP = "198.51.100.1"
	if _, err := g.Reserve(ctx, a); err != nil {
		t.Fatalf("another address was throttled: %v", err)
	}
}

// Sign-ups that hit an existing identifier are probes; reset requests
// count whether or not they succeed.
func TestSignUpAndResetQuotas(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	g := bruteforce.New(bruteforce.Config{SignUp: bruteforce.Quota{PerIdentifierPerHour: 3, PerIPPerHour: 10},
		ResetRequest: bruteforce.Quota{PerIdentifierPerHour: 2, PerIPPerHour: 100}}, rdb, prefix, quiet, nil)
	ctx := context.Background()
	attempt := func(action bruteforce.Action, ident string) bruteforce.Attempt {
		return bruteforce.Attempt{Action: action, Connection: "c", Accounts: []bruteforce.Account{bruteforce.SpelledAccount(ident)}, IP: "192.0.2.9"}
	}
	for range 20 { // real sign-ups give their unit back
		r, err := g.Reserve(ctx, attempt(bruteforce.SignUp, "new@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		r.Succeeded(ctx)
	}
	probes := 0
	for i := range 30 {
		r, err := g.Reserve(ctx, attempt(bruteforce.SignUp, fmt.Sprintf("taken%d@example.com", i/3)))
		if err != nil {
			denied(t, err, "rate_limited")
			continue
		}
		probes++
		r.Failed(ctx, "")
	}
	if probes != 10 {
		t.Fatalf("%d sign-up probes answered from one address, want 10", probes)
	}
	for i := range 2 {
		r, err := g.Reserve(ctx, attempt(bruteforce.ResetRequest, "ADA@example.com"))
		if err != nil {
			t.Fatalf("reset request %d: %v", i, err)
		}
		r.Succeeded(ctx)
	}
	_, err := g.Reserve(ctx, attempt(bruteforce.ResetRequest, "ada@example.com"))
	denied(t, err, "rate_limited")
}

// An exhausted client pool is load, not an outage: the attempt is refused
// and not counted as "protection unavailable". A client that gave up is
// neither.
func TestPoolExhaustionAndCancelDoNotFailOpen(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	busy := redis.NewClient(&redis.Options{Addr: redistest.Addr(), PoolSize: 1, PoolTimeout: 50 * time.Millisecond, MinIdleConns: 0})
	t.Cleanup(func() { _ = busy.Close() })
	reg := prometheus.NewRegistry()
	g := bruteforce.New(bruteforce.Config{}, busy, prefix, quiet, reg)
	ctx := context.Background()
	hold := make(chan struct{})
	go func() { // holds the only connection for a second
		defer close(hold)
		_ = busy.BLPop(ctx, time.Second, prefix+"never").Err()
	}()
	time.Sleep(100 * time.Millisecond)
	_, err := g.Reserve(ctx, login("c:ada"))
	denied(t, err, "overloaded")
	<-hold

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := g.Reserve(cctx, login("c:ada")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	if n := testutil.ToFloat64(counter(t, reg, "trickle_bruteforce_unavailable_total")); n != 0 {
		t.Fatalf("unavailable_total = %v after overload and a cancelled caller, want 0", n)
	}
	_ = rdb
}

func TestRedisDownPolicy(t *testing.T) {
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = dead.Close() })
	reg := prometheus.NewRegistry()
	open := bruteforce.New(bruteforce.Config{}, dead, "x:", quiet, reg)
	r, err := open.Reserve(context.Background(), login("c:ada"))
	if err != nil {
		t.Fatalf("fail_open: %v", err)
	}
	r.Failed(context.Background(), "1") // a nil reservation settles as a no-op
	if n := testutil.ToFloat64(counter(t, reg, "trickle_bruteforce_unavailable_total")); n != 1 {
		t.Fatalf("unavailable_total = %v, want 1", n)
	}
	closed := bruteforce.New(bruteforce.Config{WhenUnavailable: bruteforce.FailClosed}, dead, "x:", quiet, nil)
	if _, err := closed.Reserve(context.Background(), login("c:ada")); !errors.Is(err, bruteforce.ErrUnavailable) {
		t.Fatalf("fail_closed: %v", err)
	}
	bad := bruteforce.Config{WhenUnavailable: "maybe"}
	bad.SetDefaults()
	if bad.Validate() == nil {
		t.Fatal("an unknown policy was accepted")
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			c := prometheus.NewCounter(prometheus.CounterOpts{Name: name})
			c.Add(mf.GetMetric()[0].GetCounter().GetValue())
			return c
		}
	}
	t.Fatalf("metric %s not registered", name)
	return nil
}

func TestRetryAfterSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", 300 * time.Millisecond: "1", 1500 * time.Millisecond: "2", time.Hour: "3600"} {
		if got := bruteforce.RetryAfterSeconds(d); got != want {
			t.Errorf("%v: %s, want %s", d, got, want)
		}
	}
}
