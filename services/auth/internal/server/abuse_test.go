package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/connectortest"
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
	}
}

// Sign-up answers "already exists" to a probe of a taken address, and
// each probe costs a legacy GetUser: probes are counted per client
// network. Reset requests are counted per identifier, so one user cannot
// be sent 200 tickets.
func TestSignUpProbesAndResetFloodsAreThrottled(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
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
