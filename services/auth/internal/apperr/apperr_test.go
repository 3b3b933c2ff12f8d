package apperr_test

import (
	"errors"
	"fmt"
	"testing"

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
