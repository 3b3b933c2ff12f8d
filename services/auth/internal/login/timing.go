package login

import (
	"context"
	mrand "math/rand/v2"
	"sync"
	"time"
)

// Failed logins must take indistinguishable time whatever the reason (I7):
//
//   - unknown user, or a user not migrated yet with a wrong password: the
//     legacy part (tombstone check, lock, second read, connector Login)
//     and then one dummy argon2id verification;
//   - a migrated user with a wrong password: one real argon2id
//     verification, then a wait drawn from the recent durations of the
//     legacy part of refused logins on the same connection.
//
// All three spend the same hashing work in the same bounded pool, and the
// wait reproduces the distribution of the legacy round trip instead of a
// fixed floor that would itself be recognisable. Until the connection has
// seen a legacy refusal there is nothing to draw from and no wait.

// legacySamples is how many recent durations are kept per connection.
const legacySamples = 128

// refusalTimes keeps recent durations of the legacy part of refused logins.
type refusalTimes struct {
	mu   sync.Mutex
	ring [legacySamples]time.Duration
	n    int // samples stored, up to len(ring)
	next int
}

func (r *refusalTimes) add(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ring[r.next] = d
	r.next = (r.next + 1) % len(r.ring)
	r.n = min(r.n+1, len(r.ring))
}

// draw returns one stored duration at random, or 0 with none stored.
func (r *refusalTimes) draw() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		return 0
	}
	return r.ring[mrand.IntN(r.n)]
}

// refusals returns the samples of a connection (by name: a reload keeps
// them).
func (s *Service) refusals(conn *Connection) *refusalTimes {
	if r, ok := s.legacyTimes.Load(conn.Name); ok {
		return r.(*refusalTimes)
	}
	r, _ := s.legacyTimes.LoadOrStore(conn.Name, &refusalTimes{})
	return r.(*refusalTimes)
}

// waitLikeLegacy makes a failure that did not ask the legacy store last as
// long as one that did, on connections that ask it.
func (s *Service) waitLikeLegacy(ctx context.Context, conn *Connection) {
	if !conn.UsesLegacy() {
		return
	}
	d := s.refusals(conn).draw()
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
