package legacy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sony/gobreaker/v2"

	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
)

func setGuardDefaults(o *config.Guard) {
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 32
	}
	if o.BreakerFailures == 0 {
		o.BreakerFailures = 5
	}
	if o.BreakerCooldown <= 0 {
		o.BreakerCooldown = 10 * time.Second
	}
	if o.GetUserRetries < 0 {
		o.GetUserRetries = 0
	} else if o.GetUserRetries == 0 {
		o.GetUserRetries = 2
	}
}

// ErrCircuitOpen wraps ErrUnavailable when the breaker refuses a call.
var ErrCircuitOpen = fmt.Errorf("%w: circuit open after repeated failures", ErrUnavailable)

// Guarded is a Connector with a concurrency cap, a circuit breaker and
// GetUser retries in front of another Connector.
type Guarded struct {
	next    Connector
	slots   chan struct{}
	breaker *gobreaker.CircuitBreaker[*connectorv1.LegacyProfile]
	retries int
}

var _ Connector = (*Guarded)(nil)

// Guard wraps next. name labels the breaker (the connection name).
func Guard(name string, next Connector, o config.Guard) *Guarded {
	setGuardDefaults(&o)
	return &Guarded{
		next:  next,
		slots: make(chan struct{}, o.MaxConcurrent),
		breaker: gobreaker.NewCircuitBreaker[*connectorv1.LegacyProfile](gobreaker.Settings{
			Name:    name,
			Timeout: o.BreakerCooldown,
			ReadyToTrip: func(c gobreaker.Counts) bool {
				return c.ConsecutiveFailures >= o.BreakerFailures
			},
			// Only a failing store trips the breaker: "wrong password" and
			// "no such user" are healthy answers.
			IsSuccessful: func(err error) bool { return err == nil || !errors.Is(err, ErrUnavailable) },
			// Our own caller giving up says nothing about the store.
			IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
		}),
		retries: o.GetUserRetries,
	}
}

// Close closes the guarded client, if it can be closed (a reload retires
// a connection set's clients this way).
func (g *Guarded) Close() error {
	if c, ok := g.next.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// State reports the breaker state ("closed", "open", "half-open").
func (g *Guarded) State() string { return g.breaker.State().String() }

func (g *Guarded) call(ctx context.Context, fn func(context.Context) (*connectorv1.LegacyProfile, error)) (*connectorv1.LegacyProfile, error) {
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: no free connector slot before the deadline", ErrUnavailable)
	}
	defer func() { <-g.slots }()
	p, err := g.breaker.Execute(func() (*connectorv1.LegacyProfile, error) { return fn(ctx) })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return nil, ErrCircuitOpen
	}
	return p, err
}

// Login implements Connector.
func (g *Guarded) Login(ctx context.Context, identifier, password string) (*connectorv1.LegacyProfile, error) {
	return g.call(ctx, func(ctx context.Context) (*connectorv1.LegacyProfile, error) {
		return g.next.Login(ctx, identifier, password)
	})
}

// GetUser implements Connector, retrying while the store is unavailable
// and the circuit is closed.
func (g *Guarded) GetUser(ctx context.Context, identifier string) (*connectorv1.LegacyProfile, error) {
	backoff := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		p, err := g.call(ctx, func(ctx context.Context) (*connectorv1.LegacyProfile, error) {
			return g.next.GetUser(ctx, identifier)
		})
		if err == nil || !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrCircuitOpen) || attempt >= g.retries {
			return p, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

// CountUsers implements Connector (not retried: status pages can wait).
func (g *Guarded) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	_, err := g.call(ctx, func(ctx context.Context) (*connectorv1.LegacyProfile, error) {
		var err error
		n, err = g.next.CountUsers(ctx)
		return nil, err
	})
	return n, err
}
