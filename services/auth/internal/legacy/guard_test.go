package legacy_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/connectortest"
	"github.com/trickle-auth/trickle/services/auth/internal/legacy"
)

func dial(t *testing.T, addr string, timeout time.Duration) *legacy.Client {
	t.Helper()
	c, err := legacy.Dial(config.Connector{Address: addr, Timeout: timeout, TLS: config.ClientTLS{Insecure: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func seeded(t *testing.T) *connectortest.Server {
	s := connectortest.Start(t)
	s.Add(connectortest.User{Password: "pw", Profile: &connectorv1.LegacyProfile{LegacyId: "1", Email: "a@example.com"}})
	return s
}

// A storm of first logins reaches the connector with bounded concurrency.
func TestConcurrencyCapBoundsTheStorm(t *testing.T) {
	s := seeded(t)
	s.SetDelay(20 * time.Millisecond)
	g := legacy.Guard("c", dial(t, s.Addr, 5*time.Second), config.Guard{MaxConcurrent: 4})
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := g.Login(context.Background(), "a@example.com", "pw"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if m := s.MaxConcurrentLogins(); m > 4 || m < 2 {
		t.Fatalf("max concurrent Login calls at the connector = %d, want 2..4", m)
	}
}

// A dead legacy store opens the circuit: calls fail fast without reaching it.
func TestBreakerFailsFastWhenTheStoreIsDown(t *testing.T) {
	s := seeded(t)
	s.SetFailing(true)
	g := legacy.Guard("c", dial(t, s.Addr, time.Second), config.Guard{BreakerFailures: 3, BreakerCooldown: 300 * time.Millisecond, GetUserRetries: -1})
	ctx := context.Background()
	for range 3 {
		if _, err := g.Login(ctx, "a@example.com", "pw"); !errors.Is(err, legacy.ErrUnavailable) {
			t.Fatalf("got %v, want unavailable", err)
		}
	}
	before := s.LoginCalls.Load()
	start := time.Now()
	_, err := g.Login(ctx, "a@example.com", "pw")
	if !errors.Is(err, legacy.ErrCircuitOpen) || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("open circuit: %v after %v", err, time.Since(start))
	}
	if s.LoginCalls.Load() != before {
		t.Fatal("an open circuit still called the connector")
	}
	// Wrong passwords are healthy answers and never trip the breaker.
	s.SetFailing(false)
	time.Sleep(350 * time.Millisecond) // half-open
	for range 5 {
		if _, err := g.Login(ctx, "a@example.com", "wrong"); !errors.Is(err, legacy.ErrRejected) {
			t.Fatalf("after recovery: %v", err)
		}
	}
	if g.State() != "closed" {
		t.Fatalf("breaker %s after healthy answers", g.State())
	}
}

// GetUser is retried on UNAVAILABLE; Login never is.
func TestOnlyGetUserIsRetried(t *testing.T) {
	s := seeded(t)
	s.SetFailing(true)
	g := legacy.Guard("c", dial(t, s.Addr, time.Second), config.Guard{GetUserRetries: 2, BreakerFailures: 100})
	ctx := context.Background()
	if _, err := g.GetUser(ctx, "a@example.com"); !errors.Is(err, legacy.ErrUnavailable) {
		t.Fatalf("GetUser: %v", err)
	}
	if n := s.GetUserCalls.Load(); n != 3 {
		t.Fatalf("GetUser calls = %d, want 1 + 2 retries", n)
	}
	if _, err := g.Login(ctx, "a@example.com", "pw"); !errors.Is(err, legacy.ErrUnavailable) {
		t.Fatalf("Login: %v", err)
	}
	if n := s.LoginCalls.Load(); n != 1 {
		t.Fatalf("Login calls = %d, want 1 (never retried)", n)
	}
	// Not found is an answer, not a failure: no retry.
	s.SetFailing(false)
	before := s.GetUserCalls.Load()
	if _, err := g.GetUser(ctx, "nobody@example.com"); !errors.Is(err, legacy.ErrNotFound) {
		t.Fatalf("GetUser unknown: %v", err)
	}
	if s.GetUserCalls.Load()-before != 1 {
		t.Fatal("NOT_FOUND was retried")
	}
}
