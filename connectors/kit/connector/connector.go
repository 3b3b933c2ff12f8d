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

// Errors every connector uses; the server maps them to gRPC codes. Any other
// error means the legacy store failed (UNAVAILABLE).
var (
	// ErrInvalidCredentials: unknown identifier or wrong password (Login).
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrNotFound: unknown identifier (GetUser).
	ErrNotFound = errors.New("user not found")
	// ErrInvalidArgument: the request cannot be answered as asked, e.g. a
	// resume id that is not a valid legacy id.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrUnimplemented: the connector is not configured for this call
	// (e.g. no list query).
	ErrUnimplemented = errors.New("not configured for this call")
)

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
