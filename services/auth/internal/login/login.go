// Package login is the heart of Trickle: a login either verifies a migrated
// user locally or, for a user not migrated yet, asks the legacy store once
// and copies the user into the store, whole, with a fresh password hash.
// See docs/ARCHITECTURE.md for the flow and invariants I1–I8.
package login

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/bruteforce"
	"github.com/trickle-auth/trickle/services/auth/internal/connset"
	"github.com/trickle-auth/trickle/services/auth/internal/identity"
	"github.com/trickle-auth/trickle/services/auth/internal/legacy"
	"github.com/trickle-auth/trickle/services/auth/internal/lock"
	"github.com/trickle-auth/trickle/services/auth/internal/password"
	"github.com/trickle-auth/trickle/services/auth/internal/store"
)

// Result of a successful login.
type Result struct {
	User *store.User
	// Migrated is true on the one login that copied the user.
	Migrated bool
}

// Store is what the login flow needs from the user store.
type Store interface {
	store.Store
	store.LegacyFinder
	store.Tombstones
}

// Service runs logins.
type Service struct {
	store   Store
	stats   store.Stats       // nil: legacy logins are not recorded
	locker  lock.Locker       // nil: no cross-replica lock
	guard   *bruteforce.Guard // nil: no brute-force protection
	hasher  *password.Hasher
	conns   *connset.ConnectionSource
	metrics *Metrics
	log     *slog.Logger
	now     func() time.Time

	flight    singleflight.Group
	flightKey []byte // keys singleflight by password without keeping it

	legacyTimes sync.Map // connection name -> *connTiming (see timing.go)
}

// Deps are what a Service is built from.
type Deps struct {
	Store       Store
	Stats       store.Stats
	Locker      lock.Locker
	Guard       *bruteforce.Guard
	Hasher      *password.Hasher
	Connections *connset.ConnectionSource
	Metrics     *Metrics
	Logger      *slog.Logger
}

// New returns a login service.
func New(d Deps) *Service {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics(nil)
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Service{
		store: d.Store, stats: d.Stats, locker: d.Locker, guard: d.Guard, hasher: d.Hasher,
		conns: d.Connections, metrics: d.Metrics, log: d.Logger, now: time.Now, flightKey: key,
	}
}

// Connections returns the connection set in force.
func (s *Service) Connections() *connset.Connections { return s.conns.Current() }

// Login authenticates identifier/password on the named connection for a
// caller whose address is unknown (tests, tools).
func (s *Service) Login(ctx context.Context, connection, identifier, pw string) (*Result, error) {
	return s.LoginFrom(ctx, connection, identifier, pw, "")
}

// LoginFrom authenticates identifier/password on the named connection for
// a client at clientIP, under the brute-force protection.
func (s *Service) LoginFrom(ctx context.Context, connection, identifier, pw, clientIP string) (*Result, error) {
	if err := identity.ValidateCredentials(connection, identifier, pw); err != nil {
		return nil, err
	}
	conn, ok := s.conns.Current().Get(connection)
	if !ok {
		return nil, apperr.New(apperr.InvalidArgument, "unknown connection %q", connection)
	}
	a := attempt{conn: conn, ident: store.Normalize(identifier), typed: identifier, pw: pw, ip: clientIP}
	res, outcome, err := s.login(ctx, &a)
	s.metrics.Logins.WithLabelValues(conn.Name, outcome).Inc()
	return res, err
}

// attempt is one login in progress.
type attempt struct {
	conn         *connset.Connection
	ident, typed string // normalized for the store, and as the client sent it
	pw, ip       string
	start        time.Time // I7: failures are timed from here (see timing.go)
}

// guarded reserves the attempt's unit of the brute-force budgets of its
// accounts (every spelling of the identifier shares one), runs check and
// settles: a success frees the unit, a wrong password keeps it.
func (s *Service) guarded(ctx context.Context, a *attempt, check func() (*Result, string, error), accounts ...bruteforce.Account) (*Result, string, error) {
	accounts = append(accounts, bruteforce.SpelledAccount(a.typed))
	resv, err := s.guard.Reserve(ctx, bruteforce.Attempt{Action: bruteforce.Login, Connection: a.conn.Name, Accounts: accounts, IP: a.ip})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, OutcomeError, apperr.Wrap(apperr.Unavailable, err, "login timed out")
		}
		return nil, OutcomeThrottled, bruteforce.AsAppError(err)
	}
	res, outcome, err := check()
	switch {
	case err == nil:
		resv.Succeeded(ctx)
	case errors.Is(err, apperr.ErrInvalidCredentials):
		resv.Failed(ctx, refusedLegacyID(err))
		err = apperr.ErrInvalidCredentials
	default: // nothing was decided about the password
		resv.Cancel(ctx)
	}
	return res, outcome, err
}

func (s *Service) login(ctx context.Context, a *attempt) (*Result, string, error) {
	conn, ident, pw := a.conn, a.ident, a.pw
	a.start = time.Now()
	u, err := s.store.FindByIdentifier(ctx, conn.Name, ident)
	switch {
	case err == nil:
		return s.guarded(ctx, a, func() (*Result, string, error) {
			spent := time.Since(a.start)
			res, outcome, err := s.verifyLocal(ctx, conn, u, pw)
			if outcome == OutcomeInvalid {
				s.waitLikeLegacy(ctx, conn, spent) // as long as asking the legacy store (I7)
			}
			return res, outcome, err
		}, bruteforce.UserAccount(u.ID, u.LegacyID))
	case !errors.Is(err, store.ErrNotFound):
		return nil, OutcomeError, apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
	}
	return s.guarded(ctx, a, func() (*Result, string, error) { return s.loginUnknown(ctx, a) })
}

// loginUnknown is a login of an identifier the store does not have: a user
// not migrated yet, a deleted one, or nobody.
func (s *Service) loginUnknown(ctx context.Context, a *attempt) (*Result, string, error) {
	conn, ident, pw, start := a.conn, a.ident, a.pw, a.start
	if !conn.UsesLegacy() {
		s.dummyVerify(ctx, conn, pw, "")
		return nil, OutcomeInvalid, apperr.ErrInvalidCredentials
	}
	// I5: a user deleted from Trickle is not re-imported. Checked before
	// the connector call (no legacy load for deleted users) and again on the
	// profile the legacy store returns (its other identifiers).
	switch _, err := s.store.FindTombstone(ctx, conn.Name, "", ident); {
	case err == nil:
		spent := time.Since(start)
		s.dummyVerify(ctx, conn, pw, "") // same cost as a wrong password (I7)
		s.waitLikeLegacy(ctx, conn, spent)
		return nil, OutcomeDeleted, apperr.ErrInvalidCredentials
	case !errors.Is(err, store.ErrNotFound):
		return nil, OutcomeError, apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
	}
	res, outcome, err := s.migrateShared(ctx, conn, ident, pw)
	switch outcome {
	case OutcomeLegacyRefused:
		// The legacy part of a refusal is what a migrated user's wrong
		// password waits for; the dummy verification is the hashing work
		// that path does (I7, see timing.go).
		// Capped: a long wait for a concurrent migration's lock is not
		// worth copying onto every migrated user's typo.
		s.refusals(conn).add(min(time.Since(start), conn.Connector.Timeout))
		s.dummyVerify(ctx, conn, pw, "")
	case OutcomeDeleted:
		s.dummyVerify(ctx, conn, pw, "")
	}
	return res, outcome, err
}

// flightResult is shared by the logins singleflight collapsed together.
type flightResult struct {
	res     *Result
	outcome string
	claimed atomic.Bool // the first caller to claim reports migrated: true
}

// migrateShared collapses identical concurrent first logins in this process
// (same connection, identifier and password) into one migration.
func (s *Service) migrateShared(ctx context.Context, conn *connset.Connection, ident, pw string) (*Result, string, error) {
	mac := hmac.New(sha256.New, s.flightKey)
	mac.Write([]byte(pw))
	key := conn.Name + "\x00" + ident + "\x00" + hex.EncodeToString(mac.Sum(nil))

	ch := s.flight.DoChan(key, func() (any, error) {
		// The migration outlives a caller that gives up: others may share
		// it, and finishing it is harmless.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*conn.LockTTL+conn.Connector.Timeout)
		defer cancel()
		res, outcome, err := s.migrate(mctx, conn, ident, pw)
		return &flightResult{res: res, outcome: outcome}, err
	})
	select {
	case <-ctx.Done():
		return nil, OutcomeError, apperr.Wrap(apperr.Unavailable, ctx.Err(), "login timed out")
	case r := <-ch:
		fr := r.Val.(*flightResult)
		if r.Err != nil {
			return nil, fr.outcome, r.Err
		}
		res := *fr.res
		res.Migrated = res.Migrated && fr.claimed.CompareAndSwap(false, true)
		return &res, fr.outcome, nil
	}
}

// migrate runs the cross-replica part: take the lock, read the store again,
// ask the legacy store, insert the whole user.
func (s *Service) migrate(ctx context.Context, conn *connset.Connection, ident, pw string) (*Result, string, error) {
	lease, u, err := s.acquire(ctx, conn, ident)
	if err != nil {
		return nil, OutcomeError, err
	}
	if u != nil { // another login finished the migration while we waited
		return s.verifyLocal(ctx, conn, u, pw)
	}
	if lease != nil {
		defer func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			if err := lease.Release(rctx); err != nil {
				s.log.Warn("release migration lock", "connection", conn.Name, "err", err)
			}
		}()
		// Read again: another replica may have finished just before we
		// took the lock.
		u, err := s.store.FindByIdentifier(ctx, conn.Name, ident)
		if err == nil {
			return s.verifyLocal(ctx, conn, u, pw)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, OutcomeError, apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
		}
	}

	start := time.Now()
	profile, err := conn.Legacy.Login(ctx, ident, pw)
	s.observeLegacy(conn, "Login", start, err)
	s.recordLegacyLogin(ctx, conn)
	switch {
	case errors.Is(err, legacy.ErrRejected):
		return nil, OutcomeLegacyRefused, &legacyRefusal{legacyID: matchedLegacyID(err)}
	case err != nil:
		s.log.Warn("legacy login unavailable", "connection", conn.Name, "err", err)
		return nil, OutcomeLegacyUnavailable, apperr.WithReason(apperr.Wrap(apperr.Unavailable, err, "legacy store unavailable"), apperr.ReasonLegacyUnavailable)
	}

	user, err := identity.UserFromProfile(conn, profile, store.OriginMigratedOnLogin, s.now())
	if err != nil {
		s.log.Warn("legacy profile refused", "connection", conn.Name, "legacy_id", profile.GetLegacyId(), "reason", apperr.Message(err))
		return nil, OutcomeRejectedProfile, err
	}
	switch _, err := s.store.FindTombstone(ctx, conn.Name, user.LegacyID, user.Email, user.Username); {
	case err == nil:
		s.log.Info("deleted user not re-imported", "connection", conn.Name, "legacy_id", user.LegacyID)
		return nil, OutcomeDeleted, apperr.ErrInvalidCredentials
	case !errors.Is(err, store.ErrNotFound):
		return nil, OutcomeError, apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
	}
	// A legacy user already migrated under another identifier (its email
	// changed in Trickle) is caught by the insert itself: the unique
	// legacy_key index answers "duplicate legacy_id" and afterCreateFailed
	// verifies against the Trickle copy, which is the truth. No lookup here:
	// that saves a store round trip on every first login.
	user.PasswordHash, err = s.newHash(ctx, profile, pw)
	if err != nil {
		return nil, OutcomeError, err
	}
	// This login is counted in the inserted document itself: one write
	// instead of an insert and an update.
	user.LoginsCount, user.LastLoginAt = 1, s.now().UTC().Truncate(time.Millisecond)
	if err := s.store.Create(ctx, user); err != nil {
		return s.afterCreateFailed(ctx, conn, user, pw, err)
	}
	s.metrics.Migrations.WithLabelValues(conn.Name, "login").Inc()
	s.log.Info("user migrated", "connection", conn.Name, "user_id", user.ID, "legacy_id", user.LegacyID)
	return &Result{User: user, Migrated: true}, OutcomeMigrated, nil
}

// afterCreateFailed handles a failed insert. A duplicate of the same legacy
// user means another login won the race: verify against its document. A
// duplicate of someone else is a profile the operator must fix.
func (s *Service) afterCreateFailed(ctx context.Context, conn *connset.Connection, user *store.User, pw string, err error) (*Result, string, error) {
	var dup *store.DuplicateError
	if !errors.As(err, &dup) {
		return nil, OutcomeError, apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
	}
	var existing *store.User
	var ferr error
	switch dup.Field {
	case "legacy_id":
		// The same legacy user was copied meanwhile, possibly under an
		// email since changed in Trickle.
		existing, ferr = s.store.FindByLegacyID(ctx, conn.Name, user.LegacyID)
	case "username":
		existing, ferr = s.store.FindByIdentifier(ctx, conn.Name, user.Username)
	default:
		existing, ferr = s.store.FindByIdentifier(ctx, conn.Name, user.Email)
	}
	if ferr != nil {
		return nil, OutcomeError, apperr.Wrap(apperr.Unavailable, ferr, "user store unavailable")
	}
	if existing.LegacyID != "" && existing.LegacyID == user.LegacyID {
		return s.verifyLocal(ctx, conn, existing, pw)
	}
	s.log.Warn("legacy profile collides with another user", "connection", conn.Name, "legacy_id", user.LegacyID, "field", dup.Field, "other_user_id", existing.ID)
	return nil, OutcomeRejectedProfile, apperr.WithReason(apperr.New(apperr.FailedPrecondition,
		"legacy user %s cannot be migrated: its %s is already used by another user of connection %q", user.LegacyID, dup.Field, conn.Name), apperr.ReasonMigrationRefused)
}

// acquire takes the migration lock. It returns (lease, nil) when held,
// (nil, user) when the user appeared in the store while waiting, and
// (nil, nil) when the lock backend is down (migrate without it: the unique
// indexes still hold I1).
func (s *Service) acquire(ctx context.Context, conn *connset.Connection, ident string) (lock.Lease, *store.User, error) {
	if s.locker == nil {
		return nil, nil, nil
	}
	key := conn.Name + ":" + ident
	backoff := 10 * time.Millisecond
	waited := false
	for {
		lease, err := s.locker.TryAcquire(ctx, key, conn.LockTTL)
		switch {
		case err == nil:
			return lease, nil, nil
		case !errors.Is(err, lock.ErrBusy):
			if ctx.Err() != nil {
				return nil, nil, apperr.Wrap(apperr.Unavailable, ctx.Err(), "login timed out")
			}
			s.metrics.LockUnavailable.WithLabelValues(conn.Name).Inc()
			s.log.Warn("migration lock unavailable, migrating without it", "connection", conn.Name, "err", err)
			return nil, nil, nil
		}
		if !waited {
			waited = true
			s.metrics.LockWaits.WithLabelValues(conn.Name).Inc()
		}
		// Someone else is migrating this identifier: wait, then see whether
		// they finished. If they failed (wrong password), try ourselves.
		jitter := time.Duration(mrand.Int64N(int64(backoff)/2 + 1))
		select {
		case <-ctx.Done():
			return nil, nil, apperr.Wrap(apperr.Unavailable, ctx.Err(), "timed out waiting for a concurrent migration")
		case <-time.After(backoff + jitter):
		}
		backoff = min(backoff*2, 250*time.Millisecond)
		u, err := s.store.FindByIdentifier(ctx, conn.Name, ident)
		if err == nil {
			return nil, u, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, nil, apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
		}
	}
}

// newHash returns the hash to store: the legacy hash itself when it already
// meets the policy and holds the whole password (no second hashing),
// otherwise a fresh argon2id hash.
func (s *Service) newHash(ctx context.Context, p *connectorv1.LegacyProfile, pw string) (string, error) {
	if h := p.GetPasswordHash(); h != nil && h.GetHash() != "" && s.hasher.MeetsPolicy(h.GetHash(), pw) {
		return h.GetHash(), nil
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return "", apperr.Wrap(apperr.Unavailable, err, "could not hash the password")
	}
	return hash, nil
}

// verifyLocal checks the password against the stored user, rehashing when
// the stored hash is weaker than the policy.
func (s *Service) verifyLocal(ctx context.Context, conn *connset.Connection, u *store.User, pw string) (*Result, string, error) {
	ok, rehash, err := s.verifyHash(ctx, conn, u.PasswordHash, pw)
	if err != nil {
		if ctx.Err() != nil {
			return nil, OutcomeError, apperr.Wrap(apperr.Unavailable, err, "login timed out")
		}
		s.log.Error("stored password hash unusable", "connection", conn.Name, "user_id", u.ID, "err", err)
		return nil, OutcomeError, apperr.ErrInvalidCredentials
	}
	if !ok {
		return nil, OutcomeInvalid, apperr.ErrInvalidCredentials
	}
	if u.Blocked {
		return nil, OutcomeBlocked, apperr.WithReason(apperr.New(apperr.PermissionDenied, "user is blocked"), apperr.ReasonUserBlocked)
	}
	if rehash {
		s.rehash(ctx, conn, u, pw)
	}
	s.recordLogin(ctx, u)
	return &Result{User: u}, OutcomeLocal, nil
}

// verifyHash verifies pw against a stored hash of any format (argon2id,
// an adopted or bulk-imported legacy hash) with the one verifier. A failure
// then verifies pw against the connection's hash of every other format, so
// that it costs what any other failure on the connection costs (I7, see
// timing.go).
func (s *Service) verifyHash(ctx context.Context, conn *connset.Connection, stored, pw string) (ok, rehash bool, err error) {
	ok, rehash, err = s.hasher.Verify(ctx, pw, stored)
	own := ""
	if err == nil {
		own = s.timing(conn).remember(stored)
	}
	if !ok && ctx.Err() == nil {
		s.dummyVerify(ctx, conn, pw, own)
	}
	return ok, rehash, err
}

func (s *Service) rehash(ctx context.Context, conn *connset.Connection, u *store.User, pw string) {
	fresh, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		s.log.Warn("rehash failed", "connection", conn.Name, "user_id", u.ID, "err", err)
		return
	}
	// Conditional: a concurrent password reset wins over a rehash.
	if err := s.store.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, fresh); err != nil {
		if !errors.Is(err, store.ErrConflict) {
			s.log.Warn("rehash not stored", "connection", conn.Name, "user_id", u.ID, "err", err)
		}
		return
	}
	u.PasswordHash = fresh
	s.metrics.Rehashes.WithLabelValues(conn.Name).Inc()
}

func (s *Service) recordLogin(ctx context.Context, u *store.User) {
	at := s.now().UTC().Truncate(time.Millisecond)
	if err := s.store.RecordLogin(ctx, u.ID, at); err != nil {
		// The login itself succeeded; a missed counter is not worth failing it.
		s.log.Warn("record login", "user_id", u.ID, "err", err)
		return
	}
	u.LoginsCount++
	u.LastLoginAt = at
}

// recordLegacyLogin counts a login that needed the legacy store, for the
// migration status. A missed count is not worth failing the login.
func (s *Service) recordLegacyLogin(ctx context.Context, conn *connset.Connection) {
	if s.stats == nil {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := s.stats.RecordLegacyLogin(rctx, conn.Name, s.now()); err != nil {
		s.log.Warn("record legacy login", "connection", conn.Name, "err", err)
	}
}

func (s *Service) observeLegacy(conn *connset.Connection, method string, start time.Time, err error) {
	result := "ok"
	switch {
	case errors.Is(err, legacy.ErrRejected), errors.Is(err, legacy.ErrNotFound):
		result = "refused"
	case err != nil:
		result = "unavailable"
	}
	s.metrics.LegacyLatency.WithLabelValues(conn.Name, method, result).Observe(time.Since(start).Seconds())
}
