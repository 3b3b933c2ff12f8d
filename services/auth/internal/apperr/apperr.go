// Package apperr holds the auth service's domain errors. Code below the API
// layer returns these; one gRPC interceptor maps their Kind to a status code,
// so no handler picks codes by hand.
package apperr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
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
	// Violations name the request fields that were refused (sent as a
	// google.rpc.BadRequest detail). Descriptions are caller-safe.
	Violations []FieldViolation
	// Reason is the trickle.auth.v1.ErrorReason sent in a
	// google.rpc.ErrorInfo detail; unset, ReasonOf derives it from Kind.
	Reason Reason
}

// FieldViolation is one refused request field.
type FieldViolation struct {
	Field       string // the request field, snake_case, e.g. "connection"
	Description string
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

// MaxMessageBytes bounds every message: whatever a format quotes, an error
// (and the log line that carries it) stays small.
const MaxMessageBytes = 512

// New returns an error of the kind with a caller-safe message.
func New(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Msg: bound(fmt.Sprintf(format, args...))}
}

// Wrap returns an error of the kind with a caller-safe message and a cause
// that only reaches logs.
func Wrap(kind Kind, err error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: bound(fmt.Sprintf(format, args...)), Err: err}
}

// Invalid is INVALID_ARGUMENT about one request field, named in a
// BadRequest detail whose description is the message. The message should
// not quote the value (use Quote if it must).
func Invalid(field, format string, args ...any) error {
	d := bound(fmt.Sprintf(format, args...))
	return &Error{Kind: InvalidArgument, Msg: d, Violations: []FieldViolation{{Field: field, Description: d}}}
}

// ViolationsOf returns the field violations carried by err.
func ViolationsOf(err error) []FieldViolation {
	var e *Error
	if errors.As(err, &e) {
		return e.Violations
	}
	return nil
}

// bound makes a message valid UTF-8 of at most MaxMessageBytes.
func bound(msg string) string {
	msg = strings.ToValidUTF8(msg, "\ufffd")
	if len(msg) <= MaxMessageBytes {
		return msg
	}
	return truncate(msg, MaxMessageBytes-len("…")) + "…"
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// maxQuoted is how much of a client's value Quote shows.
const maxQuoted = 64

// Quote shows a client-supplied value in a message or log: Go-quoted (so
// control characters are escaped), invalid UTF-8 escaped, and cut to 64
// bytes with its full length when longer, so an oversized value is never
// echoed whole.
func Quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	return strconv.Quote(truncate(s, maxQuoted)) + "… (" + strconv.Itoa(len(s)) + " bytes)"
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

// Reason is why a call failed, as the client API declares it
// (trickle.auth.v1.ErrorReason): clients branch on it, never on messages.
type Reason = authv1.ErrorReason

// The reasons set explicitly; the others follow from the kind (ReasonOf).
const (
	ReasonUserBlocked        = authv1.ErrorReason_ERROR_REASON_USER_BLOCKED
	ReasonTooManyAttempts    = authv1.ErrorReason_ERROR_REASON_TOO_MANY_ATTEMPTS
	ReasonServerBusy         = authv1.ErrorReason_ERROR_REASON_SERVER_BUSY
	ReasonLegacyUnavailable  = authv1.ErrorReason_ERROR_REASON_LEGACY_STORE_UNAVAILABLE
	ReasonResetTicketInvalid = authv1.ErrorReason_ERROR_REASON_RESET_TICKET_INVALID
	ReasonMigrationRefused   = authv1.ErrorReason_ERROR_REASON_MIGRATION_REFUSED
)

// WithReason returns err with reason r when err is a domain error (a copy:
// sentinels stay as they are), else err unchanged.
func WithReason(err error, r Reason) error {
	if e, ok := err.(*Error); ok {
		c := *e
		c.Reason = r
		return &c
	}
	return err
}

// ReasonOf is the reason of err: the one set, or the kind's usual one.
func ReasonOf(err error) Reason {
	var e *Error
	if !errors.As(err, &e) {
		return authv1.ErrorReason_ERROR_REASON_UNSPECIFIED
	}
	if e.Reason != authv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
		return e.Reason
	}
	switch e.Kind {
	case Unauthenticated:
		return authv1.ErrorReason_ERROR_REASON_INVALID_CREDENTIALS
	case InvalidArgument:
		return authv1.ErrorReason_ERROR_REASON_INVALID_FIELD
	case AlreadyExists:
		return authv1.ErrorReason_ERROR_REASON_IDENTIFIER_TAKEN
	case NotFound:
		return authv1.ErrorReason_ERROR_REASON_NOT_FOUND
	case Unavailable:
		return authv1.ErrorReason_ERROR_REASON_SERVICE_UNAVAILABLE
	}
	return authv1.ErrorReason_ERROR_REASON_UNSPECIFIED
}
