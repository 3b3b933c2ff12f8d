package server

import (
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/trickle-auth/trickle/proto/connectorerr"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

// withReason builds a status with one ErrorInfo detail.
func withReason(code codes.Code, msg string, r connectorv1.ErrorReason, md map[string]string) error {
	st, err := status.New(code, msg).WithDetails(&errdetails.ErrorInfo{
		Reason:   connectorerr.Reason(r),
		Domain:   connectorerr.Domain,
		Metadata: md,
	})
	if err != nil {
		panic(err) // ErrorInfo with valid UTF-8 strings always marshals
	}
	return st.Err()
}

// wrongPassword is Login's refusal of legacyID's password; the message is
// the same as for an unknown user.
func wrongPassword(legacyID string) error {
	var md map[string]string
	if connectorerr.ValidLegacyID(legacyID) {
		md = map[string]string{connectorerr.LegacyIDKey: legacyID}
	}
	return withReason(codes.Unauthenticated, invalidCredentials, connectorv1.ErrorReason_ERROR_REASON_WRONG_PASSWORD, md)
}
