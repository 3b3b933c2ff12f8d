// Package apperr holds the auth service's domain errors. Code below the API
// layer returns these; one gRPC interceptor maps their Kind to a status code,
// so no handler picks codes by hand.
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Kind says what went wrong, in terms a caller can act on.
type Kind int

// The kinds mirror the gRPC codes they map to.
const (
	Internal Kind = iota
	InvalidArgument
	Unauthenticated
	PermissionDenied
	NotFound
	AlreadyExists
	FailedPrecondition
	ResourceExhausted
	Unavailable
)

func (k Kind) String() string {
	switch k {
	case InvalidArgument:
		return "invalid_argument"
	case Unauthenticated:
		return "unauthenticated"
	case PermissionDenied:
		return "permission_denied"
	case NotFound:
		return "not_found"
	case AlreadyExists:
		return "already_exists"
	case FailedPrecondition:
		return "failed_precondition"
	case ResourceExhausted:
		return "resource_exhausted"
	case Unavailable:
		return "unavailable"
	default:
		return "internal"
	}
}

// Error is a domain error. Msg is safe to show to the caller; Err (the
// cause) is for logs only and never leaves the service.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
	// RetryAfter, when set, tells the caller when to try again (sent as
	// a Retry-After header over REST and a RetryInfo detail over gRPC).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is match on kind and message, so sentinel errors compare
// equal to wrapped copies of themselves.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Msg == e.Msg
}

// New returns an error of the kind with a caller-safe message.
func New(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns an error of the kind with a caller-safe message and a cause
// that only reaches logs.
func Wrap(kind Kind, err error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Err: err}
}

// KindOf returns the kind of the first domain error in err's chain, or
// Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Message returns the caller-safe message of err, or a generic one for
// errors that are not domain errors (their text may hold internals).
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return "internal error"
}

// RetryAfterOf returns the retry delay carried by err, or 0.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// ErrInvalidCredentials is the one answer to an unknown user, a wrong
// password and a wrong password of a user not migrated yet (invariant I7).
var ErrInvalidCredentials = &Error{Kind: Unauthenticated, Msg: "invalid credentials"}
