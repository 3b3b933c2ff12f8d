// Package store defines the user store: one document per user holding the
// whole profile, both metadata objects and the password hash, so that a
// migrated user is written once, whole (invariant I3). Uniqueness of emails
// and usernames per connection is enforced by the store itself (I1), not by
// the migration lock.
package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Origin says how a user came into the store.
type Origin string

// The origins, as stored.
const (
	OriginMigratedOnLogin Origin = "migrated_on_login"
	OriginMigratedOnReset Origin = "migrated_on_reset"
	OriginImported        Origin = "imported"
	OriginSignup          Origin = "signup"
)

// Migrated reports whether the user was copied from a legacy store.
func (o Origin) Migrated() bool { return o != OriginSignup && o != "" }

// User is one user of one connection.
type User struct {
	ID            string
	Connection    string
	Email         string // normalized: trimmed, lowercased
	EmailVerified bool
	Username      string // normalized; empty when the connection has none
	Name          string
	GivenName     string
	FamilyName    string
	Nickname      string
	Picture       string
	PhoneNumber   string
	UserMetadata  map[string]any
	AppMetadata   map[string]any
	PasswordHash  string // PHC string (or a legacy hash adopted as-is)
	LegacyID      string
	Origin        Origin
	Blocked       bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	MigratedAt    time.Time // zero for native users
	LastLoginAt   time.Time // zero before the first login
	LoginsCount   int64
}

// Errors every implementation returns (wrapped or not).
var (
	ErrNotFound = errors.New("store: user not found")
	// ErrDuplicate is wrapped by *DuplicateError.
	ErrDuplicate = errors.New("store: duplicate user")
	// ErrConflict: a conditional update found the document changed.
	ErrConflict = errors.New("store: user changed concurrently")
)

// DuplicateError says which unique field collided on insert or update.
type DuplicateError struct {
	Field string // "email", "username" or "legacy_id"
}

func (e *DuplicateError) Error() string { return "store: duplicate " + e.Field }
func (e *DuplicateError) Unwrap() error { return ErrDuplicate }

// Store is what the login flow needs from the user store.
type Store interface {
	// FindByIdentifier returns the user of the connection whose email or
	// username equals the identifier after normalization, or ErrNotFound.
	FindByIdentifier(ctx context.Context, connection, identifier string) (*User, error)
	// Get returns the user with the id, or ErrNotFound.
	Get(ctx context.Context, id string) (*User, error)
	// Create inserts the whole user in one write. It fills ID, CreatedAt and
	// UpdatedAt when empty and returns *DuplicateError when the email or
	// username is taken in the connection.
	Create(ctx context.Context, u *User) error
	// RecordLogin counts a successful login.
	RecordLogin(ctx context.Context, id string, at time.Time) error
	// ReplacePasswordHash swaps the hash if it still equals oldHash
	// (ErrConflict otherwise), so a rehash never overwrites a newer reset.
	ReplacePasswordHash(ctx context.Context, id, oldHash, newHash string) error
	// Ping checks that the store answers (readiness).
	Ping(ctx context.Context) error
}

// FindByLegacyID returns the user of the connection copied from the legacy
// user with the id, or ErrNotFound. Login uses it after the legacy store
// answered: a migrated user whose email changed since must not be copied a
// second time under the old email.
type LegacyFinder interface {
	FindByLegacyID(ctx context.Context, connection, legacyID string) (*User, error)
}

// ListQuery filters and pages ListUsers. Filters combine with AND.
type ListQuery struct {
	Connection    string
	EmailPrefix   string // normalized before matching
	MigratedSince time.Time
	Origin        Origin
	Limit         int
	// After is the ID of the last user of the previous page: users are
	// listed newest first, by ID (UUIDv7, so creation order).
	After string
}

// Admin is what the management API needs beyond Store.
type Admin interface {
	Store
	LegacyFinder
	// List returns up to q.Limit users and whether more follow.
	List(ctx context.Context, q ListQuery) (users []*User, more bool, err error)
	// UpdateProfile writes u's profile fields (email, username, names,
	// picture, phone, email_verified, both metadata objects) if the stored
	// user's UpdatedAt still equals prev (ErrConflict otherwise). It sets
	// u.UpdatedAt, strictly later than prev. A taken email or username is a
	// *DuplicateError.
	UpdateProfile(ctx context.Context, u *User, prev time.Time) error
	// SetBlocked blocks or unblocks the user and returns it. Either way
	// every pending reset ticket of the user is revoked (RevokeTickets), so
	// a ticket issued before a block never works after the unblock.
	SetBlocked(ctx context.Context, id string, blocked bool) (*User, error)
	// Delete removes the user. With tombstone, a tombstone is written first
	// (so a failure in between can only leave both, never neither).
	Delete(ctx context.Context, id string, tombstone bool, at time.Time) (*User, error)
}

// Tombstone remembers a deleted user so that the legacy store does not
// re-import it (invariant I5).
type Tombstone struct {
	Connection string
	UserID     string
	LegacyID   string
	Email      string
	Username   string
	DeletedAt  time.Time
}

// Tombstones is the lookup the login, sign-up and reset flows make.
type Tombstones interface {
	// FindTombstone returns a tombstone of the connection whose legacy id is
	// legacyID (when not empty) or whose email or username equals one of
	// the identifiers after normalization; ErrNotFound when there is none.
	FindTombstone(ctx context.Context, connection, legacyID string, identifiers ...string) (*Tombstone, error)
}

// Ticket is a password-reset ticket as stored: only the SHA-256 of the
// secret the user holds.
//
// Tickets are invalidated by reset epochs. Every account (a Subject) has a
// current epoch; a ticket is issued at it and works only while it is still
// current. A successful reset ends the epoch, so every other pending ticket
// of the account dies with the one used; blocking or unblocking the user
// ends it too. An epoch is ended by inserting a document with a unique id
// (subject, epoch): the only write FerretDB v1 makes atomic (its conditional
// updates are read-modify-write: 50 concurrent "set epoch 1 where epoch 0"
// updates of one document had 2 to 10 winners, measured), so of concurrent
// resets with different tickets of one account exactly one wins, across
// replicas, on MongoDB and FerretDB alike.
type Ticket struct {
	Hash       string // hex SHA-256 of the ticket
	Connection string
	// UserID is set for a migrated user; for a user still in the legacy
	// store Identifier and LegacyID say whom to fetch with GetUser.
	UserID     string
	Identifier string
	LegacyID   string
	// Subject is the account the ticket resets (TicketSubject); Epoch is
	// the subject's epoch at issue, set by CreateTicket.
	Subject   string
	Epoch     int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

// TicketSubject names the account a ticket resets, the same before and
// after the user is migrated: the legacy id within the connection when
// there is one (one Trickle user per legacy user, I1), else the user id.
func TicketSubject(connection, userID, legacyID string) string {
	if legacyID != "" {
		return "legacy " + strconv.Quote(connection) + " " + strconv.Quote(legacyID)
	}
	return "user " + strconv.Quote(userID)
}

// ErrTicketInvalid: no such ticket, already used, expired, superseded by
// newer tickets, or its epoch ended (another ticket was used, the user was
// blocked or unblocked).
var ErrTicketInvalid = errors.New("store: reset ticket invalid or expired")

// Tickets stores password-reset tickets. keep bounds the live tickets of a
// subject: a ticket is refused once keep newer tickets of its subject exist
// at its epoch (so 200 requests leave at most keep usable tickets).
type Tickets interface {
	// CreateTicket stores t at its subject's current epoch (setting
	// t.Epoch) and deletes the subject's tickets that can no longer work:
	// older epochs, and those beyond the keep newest.
	CreateTicket(ctx context.Context, t *Ticket, keep int) error
	// RedeemTicket returns the ticket if it exists, has not expired at now,
	// has fewer than keep newer tickets, and its epoch is current; and
	// ends that epoch. Of concurrent callers holding tickets of one
	// subject, exactly one gets its ticket, the others ErrTicketInvalid.
	RedeemTicket(ctx context.Context, hash string, now time.Time, keep int) (*Ticket, error)
	// RestoreTicket makes a redeemed ticket usable again, when the reset
	// failed for a passing reason (the legacy store was down, the password
	// was refused), at the next epoch (updating t.Epoch): the other tickets
	// of the subject stay dead. ErrTicketInvalid if the epoch ended again
	// since the redemption (the user was blocked meanwhile).
	RestoreTicket(ctx context.Context, t *Ticket) error
	// RevokeTickets ends the subject's current epoch: none of its pending
	// tickets works any more.
	RevokeTickets(ctx context.Context, subject string) error
}

// MigrationCounts are a connection's users, by how they came.
type MigrationCounts struct {
	Migrated, Native              int64
	FirstMigration, LastMigration time.Time // zero when none
}

// Stats backs the migration status.
type Stats interface {
	CountUsers(ctx context.Context, connection string) (*MigrationCounts, error)
	// RecordLegacyLogin counts one login that needed the legacy store.
	RecordLegacyLogin(ctx context.Context, connection string, at time.Time) error
	// LegacyLogins sums the logins recorded at or after since.
	LegacyLogins(ctx context.Context, connection string, since time.Time) (int64, error)
}

// Backend is everything one store implementation provides; the
// conformance suite runs against it.
type Backend interface {
	Admin
	Tombstones
	Tickets
	Stats
}

// Normalize is how emails, usernames and login identifiers are compared and
// stored: trimmed and lowercased.
func Normalize(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
