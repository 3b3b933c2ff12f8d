package login

import (
	"context"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/trickle-auth/trickle/passwordhash"
	"github.com/trickle-auth/trickle/services/auth/internal/connset"
)

// Failed logins must take indistinguishable time whatever the reason (I7):
//
//   - unknown user, or a user not migrated yet with a wrong password: the
//     legacy part (the first read, tombstone check, lock, second read,
//     connector Login) and then one dummy verification per hash format of
//     the connection;
//   - a user in the store (migrated, or bulk-imported with a legacy hash)
//     with a wrong password: the first read, one real verification of the
//     user's hash, one dummy verification per other format of the
//     connection, then a wait that brings the time spent outside hashing to
//     a duration drawn from the recent legacy parts of refused logins on the
//     same connection (a read that finds a user is not the same time as one
//     that finds none, so that read is part of the legacy part and counted
//     in the wait).
//
// So every failure does the same hashing work, in the same bounded pool:
// one verification of each format the connection's users have. The
// formats are learnt from the stored hashes the connection verifies (the
// latest hash of each format is kept as the dummy of that format, as the
// SQL connectors keep theirs); the service's own argon2id is always one of
// them. The wait reproduces the distribution of the legacy round trip
// instead of a fixed floor that would itself be recognisable. Until the
// connection has seen a legacy refusal there is nothing to draw from and no
// wait; until it has verified a user of a format, that format is not
// imitated (a restart forgets them, so the first failures after it may
// differ).

// maxDummyFormats bounds the dummy verifications of one failure.
const maxDummyFormats = 4

// connTiming is what a connection keeps for I7.
type connTiming struct {
	refusals refusalTimes

	mu      sync.Mutex
	formats []string          // formats seen, oldest first; argon2id always
	like    map[string]string // format -> latest stored hash of it ("": the hasher's own)
}

// remember records stored as the dummy of its format and returns the
// format ("" when it has none).
func (c *connTiming) remember(stored string) string {
	f := passwordhash.StoredFormat(stored)
	if f == "" {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, seen := c.like[f]; !seen {
		c.formats = append(c.formats, f)
		if len(c.formats) > maxDummyFormats {
			// Forget the oldest other than argon2id (formats[0]).
			delete(c.like, c.formats[1])
			c.formats = append(c.formats[:1], c.formats[2:]...)
		}
	}
	c.like[f] = stored
	return f
}

// dummies returns one stored hash of every format but except.
func (c *connTiming) dummies(except string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.formats))
	for _, f := range c.formats {
		if f != except {
			out = append(out, c.like[f])
		}
	}
	return out
}

// dummyVerify verifies pw against the connection's hash of every format but
// except (the format just verified for real, or "" for none), discarding
// the results.
func (s *Service) dummyVerify(ctx context.Context, conn *connset.Connection, pw, except string) {
	for _, like := range s.timing(conn).dummies(except) {
		s.hasher.DummyVerify(ctx, pw, like)
	}
}

// legacySamples is how many recent durations are kept per connection.
const legacySamples = 128

// refusalTimes keeps recent durations of the legacy part of refused logins.
type refusalTimes struct {
	mu   sync.Mutex
	ring [legacySamples]time.Duration
	n    int // samples stored, up to len(ring)
	next int
	over time.Duration // moving average of how late waits woke up
}

// late records how late a wait woke up.
func (r *refusalTimes) late(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.over += (max(d, 0) - r.over) / 8
}

func (r *refusalTimes) lateness() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.over
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

// timing returns what a connection keeps for I7 (by name: a reload keeps
// it).
func (s *Service) timing(conn *connset.Connection) *connTiming {
	if t, ok := s.legacyTimes.Load(conn.Name); ok {
		return t.(*connTiming)
	}
	fresh := &connTiming{
		formats: []string{passwordhash.FormatArgon2id},
		like:    map[string]string{passwordhash.FormatArgon2id: ""},
	}
	t, _ := s.legacyTimes.LoadOrStore(conn.Name, fresh)
	return t.(*connTiming)
}

// refusals returns the legacy refusal samples of a connection.
func (s *Service) refusals(conn *connset.Connection) *refusalTimes { return &s.timing(conn).refusals }

// waitLikeLegacy makes a failure that did not ask the legacy store last as
// long as one that did, on connections that ask it: spent is the time this
// failure already spent outside hashing. On a busy machine a timer wakes
// its goroutine late, and the legacy part it imitates already holds its
// own wake-ups: the recent lateness is taken off the wait.
func (s *Service) waitLikeLegacy(ctx context.Context, conn *connset.Connection, spent time.Duration) {
	if !conn.UsesLegacy() {
		return
	}
	r := s.refusals(conn)
	d := r.draw() - spent - r.lateness()
	if d <= 0 {
		return
	}
	start := time.Now()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		r.late(time.Since(start) - d)
	case <-ctx.Done():
	}
}
