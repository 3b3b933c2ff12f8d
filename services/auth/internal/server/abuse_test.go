package server_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/connectortest"
	"github.com/trickle-auth/trickle/services/auth/internal/server"
)

// outcomes counts the answers of a burst of calls by status code.
type outcomes struct {
	mu  sync.Mutex
	by  map[codes.Code]int
	ok  int
	bad []error
}

func (o *outcomes) add(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.by == nil {
		o.by = map[codes.Code]int{}
	}
	c := status.Code(err)
	o.by[c]++
	if err == nil {
		o.ok++
	} else if c != codes.Unauthenticated && c != codes.ResourceExhausted && c != codes.AlreadyExists {
		o.bad = append(o.bad, err)
	}
}

// burst runs n calls at once (released together) over the clients in turn.
func burst(n int, call func(i int) error) *outcomes {
	o := &outcomes{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			o.add(call(i))
		}()
	}
	close(start)
	wg.Wait()
	return o
}

// 200 simultaneous wrong logins for one account from one address, spread
// over two authd instances, check at most 10 passwords: for a user not
// migrated yet (each check is a legacy Login call) and for a migrated one.
// The right password sent in the middle of the burst is refused unchecked.
// Before the reservation, all 200 were checked and #150 got a token.
func TestParallelGuessesCheckAtMostTenPasswords(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	relaxAdmission(cfg) // every guess reaches the brute-force protection
	clients := []authv1.AuthServiceClient{authClient(t, e.start(cfg)), authClient(t, e.start(cfg))}
	e.legacy.Add(connectortest.User{Password: "enigma-1912", Profile: &connectorv1.LegacyProfile{LegacyId: "1002", Email: "alan@example.com", Username: "alan"}})
	ctx := context.Background()
	// Alan is migrated first; Grace stays in the legacy store.
	if _, err := clients[0].Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "alan", Password: "enigma-1912"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ ident, right string }{{"grace@example.com", "pa55-wörd"}, {"alan@example.com", "enigma-1912"}} {
		before := e.legacy.LoginCalls.Load()
		o := burst(200, func(i int) error {
			pw := fmt.Sprintf("guess-%d", i)
			if i == 150 {
				pw = u.right
			}
			_, err := clients[i%2].Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: u.ident, Password: pw})
			return err
		})
		checked := o.by[codes.Unauthenticated] + o.ok
		t.Logf("%s: %d checked (%d tokens), %d refused unchecked, %d legacy calls", u.ident, checked, o.ok, o.by[codes.ResourceExhausted], e.legacy.LoginCalls.Load()-before)
		if len(o.bad) > 0 {
			t.Fatalf("%s: unexpected answers: %v", u.ident, o.bad[:min(3, len(o.bad))])
		}
		if checked > 10 || o.by[codes.ResourceExhausted] < 190 {
			t.Fatalf("%s: %d of 200 parallel guesses were checked, want at most 10", u.ident, checked)
		}
		if calls := e.legacy.LoginCalls.Load() - before; calls > 10 {
			t.Fatalf("%s: %d legacy Login calls for 200 parallel guesses, want at most 10", u.ident, calls)
		}
		_, err := clients[0].Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: u.ident, Password: u.right})
		if reason := errorReason(err); reason != "TOO_MANY_ATTEMPTS" {
			t.Fatalf("%s: right password on a blocked account: %v (reason %q), want RESOURCE_EXHAUSTED TOO_MANY_ATTEMPTS", u.ident, err, reason)
		}
	}
}

// Sign-up answers "already exists" to a probe of a taken address, and
// each probe costs a legacy GetUser: probes are counted per client
// network. Reset requests are counted per identifier, so one user cannot
// be sent 200 tickets.
func TestSignUpProbesAndResetFloodsAreThrottled(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	relaxAdmission(cfg)
	for i := range 30 {
		e.legacy.Add(connectortest.User{Password: "x-long-password", Profile: &connectorv1.LegacyProfile{
			LegacyId: fmt.Sprint(5000 + i), Email: fmt.Sprintf("taken%d@example.com", i)}})
	}
	client := authClient(t, e.start(cfg))
	ctx := context.Background()
	getUsers := e.legacy.GetUserCalls.Load()
	o := burst(300, func(i int) error {
		_, err := client.SignUp(ctx, &authv1.SignUpRequest{Connection: "legacy", Email: fmt.Sprintf("taken%d@example.com", i%30), Password: "a-long-new-password"})
		return err
	})
	t.Logf("300 sign-up probes: %d answered ALREADY_EXISTS, %d refused unchecked, %d legacy GetUser calls",
		o.by[codes.AlreadyExists], o.by[codes.ResourceExhausted], e.legacy.GetUserCalls.Load()-getUsers)
	if len(o.bad) > 0 || o.ok > 0 {
		t.Fatalf("unexpected answers: %d ok, %v", o.ok, o.bad)
	}
	if o.by[codes.AlreadyExists] > 20 || e.legacy.GetUserCalls.Load()-getUsers > 20 {
		t.Fatalf("%d probes answered, %d legacy GetUser calls; want at most 20 (sign_up.per_ip_per_hour)",
			o.by[codes.AlreadyExists], e.legacy.GetUserCalls.Load()-getUsers)
	}

	getUsers = e.legacy.GetUserCalls.Load()
	o = burst(200, func(i int) error {
		ident := []string{"grace@example.com", "GRACE@example.com", " grace@example.com", "grace"}[i%4]
		_, err := client.RequestPasswordReset(ctx, &authv1.RequestPasswordResetRequest{Connection: "legacy", Identifier: ident})
		return err
	})
	t.Logf("200 reset requests for one user in 4 spellings: %d accepted, %d refused", o.ok, o.by[codes.ResourceExhausted])
	// The email spellings share one budget of 5, the username has its own.
	if o.ok > 10 || o.by[codes.ResourceExhausted] < 190 {
		t.Fatalf("%d of 200 reset requests for one user were accepted, want at most 10", o.ok)
	}
}

// A blocked account stays blocked while 5,000 logins of other accounts
// from 5,000 addresses flood two instances: its right password, sent
// throughout the flood, is never checked. Under attacker load the guard
// must not fail open (before, an exhausted Redis pool counted as "Redis
// down" and let every password through).
func TestBlockedAccountStaysBlockedUnderAFlood(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.TrustedProxies = []string{"127.0.0.0/8"} // the test's load balancer sets x-forwarded-for
	// A small Redis pool that attacker load exhausts: an exhausted pool
	// must refuse attempts, never let them through unchecked.
	cfg.Redis.PoolSize, cfg.Redis.PoolTimeout = 2, 2*time.Millisecond
	// The flood goes to a connection without a legacy store: the cheapest
	// login there is, so the most of them per second.
	cfg.Connections = append(cfg.Connections, config.Connection{Name: "native"})
	srvs := []*server.Server{e.start(cfg), e.start(cfg)}
	clients := []authv1.AuthServiceClient{authClient(t, srvs[0]), authClient(t, srvs[1])}
	from := func(ip string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), "x-forwarded-for", ip)
	}
	const attacker = "203.0.113.66"
	for i := range 10 {
		_, err := clients[i%2].Login(from(attacker), &authv1.LoginRequest{Connection: "legacy", Identifier: "grace@example.com", Password: fmt.Sprintf("guess-%d", i)})
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("guess %d: %v", i, err)
		}
	}

	const flood, workers = 5000, 100
	var next atomic.Int64
	var floodAnswers, victim outcomes
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < flood; i = next.Add(1) - 1 {
				ip := fmt.Sprintf("198.18.%d.%d", i/250, i%250+1)
				_, err := clients[i%2].Login(from(ip), &authv1.LoginRequest{Connection: "native", Identifier: fmt.Sprintf("nobody%d@example.com", i), Password: "x"})
				floodAnswers.add(err)
			}
		}()
	}
	// The blocked account's owner keeps trying, with the right password
	// and another spelling, for as long as the flood lasts.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; next.Load() < flood; i++ {
			_, err := clients[i%2].Login(from(attacker), &authv1.LoginRequest{Connection: "legacy", Identifier: "Grace@Example.com", Password: "pa55-wörd"})
			victim.add(err)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	wg.Wait()
	t.Logf("flood: %v; blocked account during it: %v", floodAnswers.by, victim.by)
	if victim.ok > 0 || victim.by[codes.Unauthenticated] > 0 || victim.by[codes.ResourceExhausted] == 0 {
		t.Fatalf("a blocked account's password was checked under load: %v", victim.by)
	}
	for _, srv := range srvs {
		if n := metric(t, srv.OpsAddr(), "trickle_bruteforce_unavailable_total"); n != 0 {
			t.Fatalf("the guard failed open %v times while Redis was up", n)
		}
	}
}

// errorReason is the trickle.auth.v1 ErrorInfo reason of a call's error.
func errorReason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == "trickle.auth.v1" {
			return info.GetReason()
		}
	}
	return ""
}
