// Package connector defines what a legacy-store connector implements. The
// server package turns these small interfaces into the
// trickle.connector.v1.LegacyConnector gRPC service; implementations return
// the errors below and never choose gRPC codes themselves.
package connector

import (
	"context"
	"errors"

	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

// Profile is a user as the legacy store knows it (the wire type, so no
// conversion layer is needed).
type Profile = connectorv1.LegacyProfile

// Errors every connector uses; the server maps them to gRPC codes and the
// contract's ErrorInfo reasons. Any other error means the legacy store
// failed (UNAVAILABLE).
var (
	// ErrNotFound: no single user matches the identifier. From Login it is
	// a refusal with reason UNKNOWN_USER; from GetUser, NOT_FOUND.
	ErrNotFound = errors.New("user not found")
	// ErrInvalidCredentials: Login refused, and the connector cannot tell
	// which account (if any) refused it, e.g. a web service that answers
	// 401 for unknown users and wrong passwords alike. Sent as
	// WRONG_PASSWORD without legacy_id. Prefer WrongPassword or
	// ErrNotFound whenever the connector knows.
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrInvalidArgument: the request cannot be answered as asked, e.g. a
	// resume id that is not a valid legacy id.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrUnimplemented: the connector is not configured for this call
	// (e.g. no list query).
	ErrUnimplemented = errors.New("not configured for this call")
)

// WrongPasswordError is Login's refusal of the password of one known
// account: the store matched the identifier (however spelled) to LegacyID.
// It satisfies errors.Is(err, ErrInvalidCredentials).
type WrongPasswordError struct {
	LegacyID string // the matched account's LegacyProfile.legacy_id
}

// WrongPassword returns the refusal of legacyID's password.
func WrongPassword(legacyID string) error { return &WrongPasswordError{LegacyID: legacyID} }

// Error names the account, never the identifier or the password.
func (e *WrongPasswordError) Error() string {
	return "wrong password for legacy user " + e.LegacyID
}

// Is makes a WrongPasswordError an ErrInvalidCredentials.
func (e *WrongPasswordError) Is(target error) bool { return target == ErrInvalidCredentials }

// PasswordConnector verifies a password against the legacy store. Every
// connector implements it.
type PasswordConnector interface {
	Login(ctx context.Context, identifier, password string) (*Profile, error)
}

// UserLookup finds a user without a password.
type UserLookup interface {
	GetUser(ctx context.Context, identifier string) (*Profile, error)
}

// Counter counts the users of the legacy store.
type Counter interface {
	CountUsers(ctx context.Context) (int64, error)
}

// Page asks a Lister for the users after After (exclusive, "" for the start)
// in legacy-id order, at most Limit of them.
type Page struct {
	After         string
	Limit         int
	WithPasswords bool // include LegacyProfile.password_hash
}

// Lister pages through the legacy store in legacy-id order. A page shorter
// than Limit is the last one.
type Lister interface {
	ListUsers(ctx context.Context, p Page) ([]*Profile, error)
}

// Pinger reports whether the legacy store is reachable (readiness).
type Pinger interface {
	Ping(ctx context.Context) error
}
