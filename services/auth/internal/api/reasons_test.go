package api_test

import (
	"errors"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/trickle-auth/trickle/services/auth/internal/api"
	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/bruteforce"
)

// Every domain error reaches the client with a declared ErrorInfo reason,
// so clients never match message text.
func TestErrorsCarryTheirDeclaredReason(t *testing.T) {
	for _, c := range []struct {
		err    error
		code   codes.Code
		reason string
	}{
		{apperr.ErrInvalidCredentials, codes.Unauthenticated, "INVALID_CREDENTIALS"},
		{apperr.WithReason(apperr.New(apperr.PermissionDenied, "user is blocked"), apperr.ReasonUserBlocked), codes.PermissionDenied, "USER_BLOCKED"},
		{bruteforce.AsAppError(&bruteforce.Denied{Reason: "blocked"}), codes.ResourceExhausted, "TOO_MANY_ATTEMPTS"},
		{apperr.Invalid("connection", "connection is required"), codes.InvalidArgument, "INVALID_FIELD"},
		{apperr.WithReason(apperr.Wrap(apperr.Unavailable, errors.New("dial"), "legacy store unavailable"), apperr.ReasonLegacyUnavailable), codes.Unavailable, "LEGACY_STORE_UNAVAILABLE"},
		{apperr.Wrap(apperr.Unavailable, errors.New("x"), "user store unavailable"), codes.Unavailable, "SERVICE_UNAVAILABLE"},
		{apperr.New(apperr.AlreadyExists, "email taken"), codes.AlreadyExists, "IDENTIFIER_TAKEN"},
		{apperr.New(apperr.NotFound, "no such user"), codes.NotFound, "NOT_FOUND"},
	} {
		st := status.Convert(api.ToStatus(c.err))
		var got *errdetails.ErrorInfo
		for _, d := range st.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok {
				got = info
			}
		}
		if st.Code() != c.code || got == nil || got.GetReason() != c.reason || got.GetDomain() != api.ErrorDomain {
			t.Errorf("%v: %v %v, want %v with reason %s", c.err, st.Code(), got, c.code, c.reason)
		}
	}
	// A reason set on a copy leaves the sentinel as it was.
	if apperr.ReasonOf(apperr.WithReason(apperr.ErrInvalidCredentials, apperr.ReasonUserBlocked)) != apperr.ReasonUserBlocked {
		t.Error("WithReason changed nothing")
	}
	if apperr.ErrInvalidCredentials.Reason != 0 {
		t.Error("WithReason changed the sentinel")
	}
}
