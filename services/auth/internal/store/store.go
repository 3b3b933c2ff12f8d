// Package store defines the user store: one document per user holding the
// whole profile, both metadata objects and the password hash, so that a
// migrated user is written once, whole (invariant I3). Uniqueness of emails
// and usernames per connection is enforced by the store itself (I1), not by
// the migration lock.
package store

import (
	"context"
	"errors"
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
	Field string // "email" or "username"
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

// Normalize is how emails, usernames and login identifiers are compared and
// stored: trimmed and lowercased.
func Normalize(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
