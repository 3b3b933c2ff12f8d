package apperr_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
)

func TestKindAndMessageSurviveWrapping(t *testing.T) {
	cause := errors.New("dial tcp 10.0.0.7:5432: connection refused")
	err := fmt.Errorf("login: %w", apperr.Wrap(apperr.Unavailable, cause, "legacy store unavailable"))
	if got := apperr.KindOf(err); got != apperr.Unavailable {
		t.Fatalf("kind = %v", got)
	}
	if got := apperr.Message(err); got != "legacy store unavailable" {
		t.Fatalf("message = %q; the cause must not reach callers", got)
	}
	if !errors.Is(err, cause) {
		t.Fatal("cause lost")
	}
}

func TestPlainErrorsAreInternalWithGenericMessage(t *testing.T) {
	err := errors.New("mongo: secret internals")
	if apperr.KindOf(err) != apperr.Internal || apperr.Message(err) != "internal error" {
		t.Fatalf("got %v %q", apperr.KindOf(err), apperr.Message(err))
	}
}

func TestSentinelMatchesWrappedCopy(t *testing.T) {
	err := fmt.Errorf("verify: %w", apperr.ErrInvalidCredentials)
	if !errors.Is(err, apperr.ErrInvalidCredentials) {
		t.Fatal("errors.Is failed on a wrapped sentinel")
	}
	if errors.Is(apperr.New(apperr.Unauthenticated, "other"), apperr.ErrInvalidCredentials) {
		t.Fatal("different message must not match")
	}
}

// A client's value quoted into a message never makes it large or invalid:
// 990 KB, control characters and invalid UTF-8 come out bounded and clean.
func TestMessagesAreBoundedAndClean(t *testing.T) {
	huge := strings.Repeat("Z", 990<<10)
	for name, err := range map[string]error{
		"New with %q":   apperr.New(apperr.InvalidArgument, "unknown connection %q", huge),
		"New with %s":   apperr.New(apperr.InvalidArgument, "unknown connection %s", huge),
		"Wrap":          apperr.Wrap(apperr.Unavailable, errors.New("cause"), "x %s", huge),
		"Invalid":       apperr.Invalid("connection", "bad %s", huge),
		"invalid UTF-8": apperr.New(apperr.InvalidArgument, "bad %s", "a\xffb\xc3"),
	} {
		msg := apperr.Message(err)
		if len(msg) > apperr.MaxMessageBytes || !utf8.ValidString(msg) || strings.Contains(msg, strings.Repeat("Z", 600)) {
			t.Errorf("%s: message of %d bytes (valid UTF-8 %v)", name, len(msg), utf8.ValidString(msg))
		}
	}
	for in, want := range map[string]string{
		"legacy":                `"legacy"`,
		"a\nb\x00c":             `"a\nb\x00c"`,
		"\xff\xfe":              `"\xff\xfe"`,
		strings.Repeat("é", 40): `"` + strings.Repeat("é", 32) + `"… (80 bytes)`,
		huge:                    `"` + strings.Repeat("Z", 64) + `"… (1013760 bytes)`,
	} {
		if got := apperr.Quote(in); got != want {
			t.Errorf("Quote(%.20q) = %s, want %s", in, got, want)
		}
	}
}

func TestInvalidNamesTheField(t *testing.T) {
	err := fmt.Errorf("signup: %w", apperr.Invalid("connection", "connection must be 1-64 letters"))
	v := apperr.ViolationsOf(err)
	if apperr.KindOf(err) != apperr.InvalidArgument || len(v) != 1 || v[0].Field != "connection" || v[0].Description != "connection must be 1-64 letters" {
		t.Fatalf("kind %v, violations %+v", apperr.KindOf(err), v)
	}
	if apperr.Message(err) != "connection must be 1-64 letters" {
		t.Fatalf("message %q", apperr.Message(err))
	}
	if apperr.ViolationsOf(apperr.New(apperr.InvalidArgument, "x")) != nil {
		t.Fatal("violations on a plain error")
	}
}
