package login

import (
	"errors"

	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/legacy"
)

// legacyRefusal is the legacy store's "no" on its way from the migration
// (possibly shared by several callers) to the brute-force settlement: the
// caller only ever sees ErrInvalidCredentials (I7), the guard also learns
// which legacy account the wrong password matched.
type legacyRefusal struct{ legacyID string }

func (e *legacyRefusal) Error() string { return apperr.ErrInvalidCredentials.Error() }
func (e *legacyRefusal) Unwrap() error { return apperr.ErrInvalidCredentials }

// refusedLegacyID is the legacy account a refused login matched, or "".
func refusedLegacyID(err error) string {
	var r *legacyRefusal
	if errors.As(err, &r) {
		return r.legacyID
	}
	return ""
}

// matchedLegacyID reads the account a connector's refusal names.
func matchedLegacyID(err error) string {
	var r *legacy.Refusal
	if errors.As(err, &r) {
		return r.LegacyID
	}
	return ""
}
