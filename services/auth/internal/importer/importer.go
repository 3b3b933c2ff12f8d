// Package importer bulk-imports legacy users, with their legacy password
// hashes, alongside lazy migration. Auth0 refuses to mix the two
// (DUPLICATED_USER); here they work together because both only ever
// insert-if-absent: a user is written whole in one unique insert, and a
// duplicate key means "someone else (a login, an earlier import) was
// first", so the import skips the user and never overwrites it. Nothing
// depends on conditional updates, which FerretDB does not make atomic.
//
// An imported user keeps the legacy hash (stored as is when its format can
// be detected from it, otherwise wrapped with its format and salt, see
// passwordhash.EncodeStored); the first login verifies it with the same
// verifier (passwordhash, through password.Hasher) and replaces it with
// argon2id.
package importer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/trickle-auth/trickle/passwordhash"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/connset"
	"github.com/trickle-auth/trickle/services/auth/internal/identity"
	"github.com/trickle-auth/trickle/services/auth/internal/legacy"
	"github.com/trickle-auth/trickle/services/auth/internal/store"
)

// Store is what the import needs from the user store.
type Store interface {
	store.Store
	store.Tombstones
	// CreateMany inserts users, each on its own (insert-if-absent):
	// errs[i] is nil or a *store.DuplicateError.
	CreateMany(ctx context.Context, users []*store.User) (errs []error, err error)
	// LegacyIDs maps the legacy id of every user of the connection to its
	// user id, in one pass (see mongostore: FerretDB indexes _id only).
	LegacyIDs(ctx context.Context, connection string) (map[string]string, error)
	ListTombstones(ctx context.Context, connection string) ([]store.Tombstone, error)
	// Delete removes a user (here: one the import itself just inserted,
	// when a tombstone appeared meanwhile).
	Delete(ctx context.Context, id string, tombstone bool, at time.Time) (*store.User, error)
	SaveImportCheckpoint(ctx context.Context, connection, legacyID string, at time.Time) error
	ImportCheckpoint(ctx context.Context, connection string) (string, time.Time, error)
}

// Outcome is what happened to one legacy user.
type Outcome int

// The outcomes.
const (
	Imported Outcome = iota + 1
	SkippedExists
	SkippedTombstoned
	Failed
)

// Result is the outcome for one legacy user. Reason never holds a hash.
type Result struct {
	LegacyID string
	Outcome  Outcome
	Reason   string
	UserID   string
}

// Counts sums outcomes.
type Counts struct {
	Imported, SkippedExists, SkippedTombstoned, Failed int64
}

// Add counts r.
func (c *Counts) Add(r Result) {
	switch r.Outcome {
	case Imported:
		c.Imported++
	case SkippedExists:
		c.SkippedExists++
	case SkippedTombstoned:
		c.SkippedTombstoned++
	default:
		c.Failed++
	}
}

// Total is the number of users counted.
func (c Counts) Total() int64 {
	return c.Imported + c.SkippedExists + c.SkippedTombstoned + c.Failed
}

// Limits.
const (
	// MaxBatch is the most users one Import call takes.
	MaxBatch = 1000
	// connectorBatch is how many users of a connector stream are imported
	// (and checkpointed) together.
	connectorBatch = 500
)

// Service runs imports and exports.
type Service struct {
	store    Store
	conns    *connset.ConnectionSource
	verifier *passwordhash.Verifier
	formats  map[string]bool
	log      *slog.Logger
	now      func() time.Time

	mu      sync.Mutex
	indexes map[string]*legacyIndex // by connection
}

// legacyIndex is a connection's legacy id -> user id, read once and kept
// up to date with the import's own inserts. It may miss users migrated by
// logins since it was read: their inserts then collide on the unique
// email or username and are skipped as existing. It is re-read when older
// than indexTTL, and at the start of every import from a connector.
type legacyIndex struct {
	mu     sync.Mutex
	ids    map[string]string
	readAt time.Time
}

const indexTTL = time.Minute

func (x *legacyIndex) get(legacyID string) (string, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	id, ok := x.ids[legacyID]
	return id, ok
}

func (x *legacyIndex) put(legacyID, userID string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.ids[legacyID] = userID
}

// New returns an import service. verifier must be the one the login flow
// verifies imported hashes with (password.Hasher.Verifier).
func New(st Store, conns *connset.ConnectionSource, verifier *passwordhash.Verifier, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	formats := map[string]bool{}
	for _, f := range passwordhash.Formats() {
		formats[f] = true
	}
	return &Service{store: st, conns: conns, verifier: verifier, formats: formats, log: log, now: time.Now, indexes: map[string]*legacyIndex{}}
}

// index returns the connection's legacy index, read again when fresh is
// set or it is older than indexTTL.
func (s *Service) index(ctx context.Context, connection string, fresh bool) (*legacyIndex, error) {
	s.mu.Lock()
	x := s.indexes[connection]
	s.mu.Unlock()
	if x != nil && !fresh && time.Since(x.readAt) < indexTTL {
		return x, nil
	}
	start := time.Now()
	ids, err := s.store.LegacyIDs(ctx, connection)
	if err != nil {
		return nil, err
	}
	x = &legacyIndex{ids: ids, readAt: start}
	s.mu.Lock()
	s.indexes[connection] = x
	s.mu.Unlock()
	s.log.Debug("legacy id index read", "connection", connection, "users", len(ids), "duration_ms", time.Since(start).Milliseconds())
	return x, nil
}

// tombstones is a connection's tombstones by legacy id and identifier.
type tombstones map[string]bool

func (s *Service) tombstones(ctx context.Context, connection string) (tombstones, error) {
	ts, err := s.store.ListTombstones(ctx, connection)
	if err != nil {
		return nil, err
	}
	out := tombstones{}
	for _, t := range ts {
		for _, k := range []string{"l:" + t.LegacyID, "i:" + store.Normalize(t.Email), "i:" + store.Normalize(t.Username)} {
			if len(k) > 2 {
				out[k] = true
			}
		}
	}
	return out, nil
}

func (t tombstones) match(legacyID, email, username string) bool {
	return (legacyID != "" && t["l:"+legacyID]) || (email != "" && t["i:"+store.Normalize(email)]) || (username != "" && t["i:"+store.Normalize(username)])
}

func (s *Service) connection(name string) (*connset.Connection, error) {
	if name == "" {
		return nil, apperr.New(apperr.InvalidArgument, "connection is required")
	}
	conn, ok := s.conns.Current().Get(name)
	if !ok {
		return nil, apperr.New(apperr.NotFound, "connection %q is not configured", name)
	}
	return conn, nil
}

// Import imports one batch of legacy users into the connection and returns
// one result per user, in order. A user-store failure fails the whole call
// (UNAVAILABLE) so that the caller retries the batch; retrying is safe.
func (s *Service) Import(ctx context.Context, connection string, users []*connectorv1.LegacyProfile) ([]Result, error) {
	conn, err := s.connection(connection)
	if err != nil {
		return nil, err
	}
	if len(users) > MaxBatch {
		return nil, apperr.New(apperr.InvalidArgument, "at most %d users per call", MaxBatch)
	}
	return s.importBatch(ctx, conn, users)
}

func (s *Service) importBatch(ctx context.Context, conn *connset.Connection, users []*connectorv1.LegacyProfile) ([]Result, error) {
	results, err := s.importUsers(ctx, conn, users, false)
	if err != nil {
		if ctx.Err() != nil {
			return nil, apperr.Wrap(apperr.Unavailable, ctx.Err(), "import canceled")
		}
		return nil, apperr.Wrap(apperr.Unavailable, err, "user store unavailable; retry the batch")
	}
	var c Counts
	for _, r := range results {
		c.Add(r)
	}
	s.log.Info("import batch", "connection", conn.Name, "users", len(users), "imported", c.Imported,
		"skipped_exists", c.SkippedExists, "skipped_tombstoned", c.SkippedTombstoned, "failed", c.Failed)
	return results, nil
}

// importUsers imports a batch. Its error is the user store's (the batch
// fails and may be retried); everything about a user itself is a Result.
func (s *Service) importUsers(ctx context.Context, conn *connset.Connection, profiles []*connectorv1.LegacyProfile, freshIndex bool) ([]Result, error) {
	idx, err := s.index(ctx, conn.Name, freshIndex)
	if err != nil {
		return nil, err
	}
	tombs, err := s.tombstones(ctx, conn.Name)
	if err != nil {
		return nil, err
	}
	results := make([]Result, len(profiles))
	b := s.plan(conn, profiles, results, idx, tombs)
	// The insert-if-absent: unique indexes on email and username decide
	// between this import and concurrent logins or imports.
	errs, err := s.store.CreateMany(ctx, b.users)
	if err != nil {
		return nil, err
	}
	var inserted []int
	for j, e := range errs {
		r, u := &results[b.at[j]], b.users[j]
		if e == nil {
			r.Outcome, r.UserID = Imported, u.ID
			idx.put(u.LegacyID, u.ID)
			inserted = append(inserted, j)
			continue
		}
		if err := s.classifyDuplicate(ctx, conn.Name, u, r, idx); err != nil {
			return nil, err
		}
	}
	if len(inserted) == 0 {
		return results, nil
	}
	return results, s.undoTombstoned(ctx, conn.Name, b, inserted, results, len(tombs))
}

// batch is the users of one import call that are to be inserted.
type batch struct {
	users []*store.User
	at    []int // users[j] is profiles[at[j]]
}

// plan validates every profile, records in results the ones that are not
// inserted (invalid, twice in the batch, tombstoned, already there) and
// returns the others.
func (s *Service) plan(conn *connset.Connection, profiles []*connectorv1.LegacyProfile, results []Result, idx *legacyIndex, tombs tombstones) batch {
	var b batch
	inBatch := map[string]bool{}
	for i, p := range profiles {
		r := &results[i]
		r.LegacyID = p.GetLegacyId()
		user, reason := s.prepare(conn, p)
		switch {
		case reason != "":
			r.Outcome, r.Reason = Failed, reason
			continue
		case inBatch[user.LegacyID]:
			r.Outcome, r.Reason = Failed, "legacy_id appears twice in the batch"
			continue
		}
		inBatch[user.LegacyID] = true
		// I5: a user deleted from Trickle is not re-imported (checked
		// first: the index may still list a user deleted since it was read).
		if tombs.match(user.LegacyID, user.Email, user.Username) {
			r.Outcome, r.Reason = SkippedTombstoned, "deleted from Trickle earlier (tombstone)"
			continue
		}
		// Already there under its legacy id (perhaps with a changed
		// email): the Trickle copy is the truth.
		if id, ok := idx.get(user.LegacyID); ok {
			r.Outcome, r.UserID = SkippedExists, id
			continue
		}
		b.users, b.at = append(b.users, user), append(b.at, i)
	}
	return b
}

// undoTombstoned removes the inserted users whose tombstone appeared after
// the snapshot: such a user was deleted meanwhile; our insert succeeded
// only once that user was gone, and its tombstone is written before the
// user is removed, so it is visible now.
func (s *Service) undoTombstoned(ctx context.Context, connection string, b batch, inserted []int, results []Result, before int) error {
	after, err := s.tombstones(ctx, connection)
	if err != nil {
		return err
	}
	if len(after) == before {
		return nil
	}
	for _, j := range inserted {
		u := b.users[j]
		if !after.match(u.LegacyID, u.Email, u.Username) {
			continue
		}
		if _, err := s.store.Delete(ctx, u.ID, false, s.now()); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		r := &results[b.at[j]]
		r.Outcome, r.UserID, r.Reason = SkippedTombstoned, "", "deleted from Trickle earlier (tombstone)"
	}
	return nil
}

// prepare validates a profile and its hash into the user to insert, or
// returns why it cannot be imported.
func (s *Service) prepare(conn *connset.Connection, p *connectorv1.LegacyProfile) (*store.User, string) {
	user, err := identity.UserFromProfile(conn, p, store.OriginImported, s.now())
	if err != nil {
		return nil, apperr.Message(err)
	}
	if err := identity.ValidateMetadata("user_metadata", user.UserMetadata); err != nil {
		return nil, apperr.Message(err)
	}
	if err := identity.ValidateMetadata("app_metadata", user.AppMetadata); err != nil {
		return nil, apperr.Message(err)
	}
	hash, reason := s.storedHash(p.GetPasswordHash())
	if reason != "" {
		return nil, reason
	}
	user.PasswordHash = hash
	return user, ""
}

// classifyDuplicate finds who holds the email or username u collided on:
// the same legacy user (migrated by a login meanwhile: skip) or another
// user (fail with the reason). Rare, so the lookups are fine.
func (s *Service) classifyDuplicate(ctx context.Context, connection string, u *store.User, r *Result, idx *legacyIndex) error {
	for _, f := range []struct{ field, value string }{{"email", u.Email}, {"username", u.Username}} {
		if f.value == "" {
			continue
		}
		existing, err := s.store.FindByIdentifier(ctx, connection, f.value)
		switch {
		case errors.Is(err, store.ErrNotFound):
			continue
		case err != nil:
			return err
		case existing.LegacyID != "" && existing.LegacyID == u.LegacyID:
			r.Outcome, r.UserID = SkippedExists, existing.ID
			idx.put(u.LegacyID, existing.ID)
			return nil
		}
		r.Outcome, r.Reason = Failed, fmt.Sprintf("its %s is already used by another user of connection %q", f.field, connection)
		return nil
	}
	r.Outcome, r.Reason = Failed, "its email or username was taken concurrently; run the import again"
	return nil
}

// dummyPassword is verified once against a hash whose format cannot be
// detected, to check at import time that the login will be able to use it.
const dummyPassword = "trickle-import-check"

// storedHash validates a legacy hash and returns what to store, or a
// reason to fail the user. Reasons never contain the hash or salt.
func (s *Service) storedHash(h *connectorv1.LegacyPasswordHash) (stored, reason string) {
	if h.GetHash() == "" {
		return "", "no password hash (the connector does not share hashes?); the user can still migrate at first login"
	}
	lh := passwordhash.Hash{Format: h.GetFormat(), Value: h.GetHash(), Salt: h.GetSalt()}
	if len(lh.Value) > 1024 || len(lh.Salt) > 1024 {
		return "", "password hash or salt longer than 1024 bytes"
	}
	detected, derr := passwordhash.Detect(lh.Value)
	switch {
	case lh.Format == "" && derr == nil:
		lh.Format = detected
	case lh.Format == "" && lh.Salt == "":
		return "", "password hash format not recognised; name it in password_hash.format"
	case lh.Format != "" && !s.formats[lh.Format]:
		return "", "unknown password_hash.format; see the passwordhash formats"
	}
	if lh.Format != "" && lh.Format == detected && lh.Salt == "" {
		// Bcrypt and argon2 are parsed whole; other formats are checked by
		// shape only (verifying costs as much as a login).
		if _, err := passwordhash.Inspect(lh.Value); err != nil {
			return "", "password hash unusable: " + err.Error()
		}
		return lh.Value, ""
	}
	// Formats that need their name or a separate salt: cheap digests
	// mostly, so verify once that the login's verifier can use them.
	if err := s.verifier.Verify(dummyPassword, lh); err != nil && !errors.Is(err, passwordhash.ErrMismatch) {
		return "", "password hash unusable: " + err.Error()
	}
	return passwordhash.EncodeStored(lh), ""
}

// Progress is reported after every batch of an import from a connector.
type Progress struct {
	Counts       Counts
	Checkpoint   string   // last legacy id fully processed
	Failures     []Result // failed or tombstoned users of the batch
	LegacyTotal  *int64
	StartedAfter string
	Done         bool
}

// FromConnectorParams say where to start.
type FromConnectorParams struct {
	Connection string
	StartAfter string
	Resume     bool // start after the stored checkpoint (unless StartAfter)
	Limit      int64
}

// FromConnector imports every user the connection's connector lists,
// batch by batch, saving the checkpoint after each and reporting progress.
// An error from progress stops the import (the caller went away).
func (s *Service) FromConnector(ctx context.Context, p FromConnectorParams, progress func(Progress) error) error {
	conn, err := s.connection(p.Connection)
	if err != nil {
		return err
	}
	lister, err := listerOf(conn)
	if err != nil {
		return err
	}
	if p.Limit < 0 {
		return apperr.New(apperr.InvalidArgument, "limit cannot be negative")
	}
	pr := Progress{StartedAfter: p.StartAfter}
	if pr.StartedAfter == "" && p.Resume {
		switch cp, _, err := s.store.ImportCheckpoint(ctx, conn.Name); {
		case err == nil:
			pr.StartedAfter = cp
		case !errors.Is(err, store.ErrNotFound):
			return apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
		}
	}
	pr.Checkpoint = pr.StartedAfter
	if total, err := conn.Legacy.CountUsers(ctx); err == nil {
		pr.LegacyTotal = &total
	}
	if _, err := s.index(ctx, conn.Name, true); err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
	}
	s.log.Info("import from connector started", "connection", conn.Name, "start_after", pr.StartedAfter)
	start := time.Now()

	batch := make([]*connectorv1.LegacyProfile, 0, connectorBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		results, err := s.importBatch(ctx, conn, batch)
		if err != nil {
			return err
		}
		pr.Failures = pr.Failures[:0]
		for _, r := range results {
			pr.Counts.Add(r)
			if r.Outcome == Failed || r.Outcome == SkippedTombstoned {
				pr.Failures = append(pr.Failures, r)
			}
		}
		pr.Checkpoint = batch[len(batch)-1].GetLegacyId()
		batch = batch[:0]
		if err := s.store.SaveImportCheckpoint(ctx, conn.Name, pr.Checkpoint, s.now()); err != nil {
			return apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
		}
		return progress(pr)
	}
	err = lister.ListUsers(ctx, pr.StartedAfter, p.Limit, true, func(u *connectorv1.LegacyProfile) error {
		batch = append(batch, u)
		if len(batch) < connectorBatch {
			return nil
		}
		return flush()
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		s.log.Warn("import from connector stopped", "connection", conn.Name, "checkpoint", pr.Checkpoint, "err", err)
		return legacyErr(err, conn.Name)
	}
	pr.Failures, pr.Done = nil, true
	s.log.Info("import from connector done", "connection", conn.Name, "imported", pr.Counts.Imported,
		"skipped_exists", pr.Counts.SkippedExists, "skipped_tombstoned", pr.Counts.SkippedTombstoned,
		"failed", pr.Counts.Failed, "checkpoint", pr.Checkpoint, "duration_ms", time.Since(start).Milliseconds())
	return progress(pr)
}

func listerOf(conn *connset.Connection) (legacy.Lister, error) {
	if conn.Legacy == nil {
		return nil, apperr.New(apperr.FailedPrecondition, "connection %q does not use its legacy store (import_mode and legacy_enabled must be on)", conn.Name)
	}
	l, ok := conn.Legacy.(legacy.Lister)
	if !ok {
		return nil, apperr.New(apperr.FailedPrecondition, "connection %q's connector cannot list users", conn.Name)
	}
	return l, nil
}

// legacyErr maps a connector stream failure; other errors pass through.
func legacyErr(err error, connection string) error {
	switch {
	case errors.Is(err, legacy.ErrUnsupported):
		return apperr.New(apperr.FailedPrecondition, "connection %q's connector cannot list users (ListUsers unimplemented)", connection)
	case errors.Is(err, legacy.ErrListRefused):
		return apperr.New(apperr.InvalidArgument, "the connector refused the request (is start_after_legacy_id a valid legacy id?)")
	case errors.Is(err, legacy.ErrUnavailable):
		return apperr.WithReason(apperr.Wrap(apperr.Unavailable, err, "legacy store unavailable"), apperr.ReasonLegacyUnavailable)
	}
	return err
}

// ExportBatch is one batch of users found only in the legacy store, with
// the running totals.
type ExportBatch struct {
	Users                         []*connectorv1.LegacyProfile // without hashes
	Scanned, Migrated, Tombstoned int64
	Checkpoint                    string
}

// ExportUnmigrated streams the connector's users that are not in the store
// (by legacy id), leaving out users deleted from Trickle (tombstoned).
func (s *Service) ExportUnmigrated(ctx context.Context, connection, startAfter string, limit int64, emit func(*ExportBatch) error) error {
	conn, err := s.connection(connection)
	if err != nil {
		return err
	}
	lister, err := listerOf(conn)
	if err != nil {
		return err
	}
	if limit < 0 {
		return apperr.New(apperr.InvalidArgument, "limit cannot be negative")
	}
	// One snapshot of the store for the whole export: users migrated
	// while it runs are still listed (re-run it for an exact list).
	idx, err := s.index(ctx, conn.Name, true)
	if err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
	}
	tombs, err := s.tombstones(ctx, conn.Name)
	if err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
	}
	var eb ExportBatch
	batch := make([]*connectorv1.LegacyProfile, 0, connectorBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		eb.Users = eb.Users[:0]
		for _, p := range batch {
			eb.Scanned++
			_, migrated := idx.get(p.GetLegacyId())
			switch {
			case migrated:
				eb.Migrated++
			case tombs.match(p.GetLegacyId(), p.GetEmail(), p.GetUsername()):
				eb.Tombstoned++
			default:
				p.PasswordHash = nil
				eb.Users = append(eb.Users, p)
			}
		}
		eb.Checkpoint = batch[len(batch)-1].GetLegacyId()
		batch = batch[:0:0] // eb.Users holds some of its profiles
		return emit(&eb)
	}
	err = lister.ListUsers(ctx, startAfter, limit, false, func(u *connectorv1.LegacyProfile) error {
		batch = append(batch, u)
		if len(batch) < connectorBatch {
			return nil
		}
		return flush()
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return legacyErr(err, conn.Name)
	}
	if eb.Scanned == 0 {
		return emit(&eb) // one answer even for an empty store
	}
	return nil
}
