package server

import (
	"strings"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

// The ErrorInfo fields of the contract's refusals (see connector.proto).
const (
	// ErrorDomain is the ErrorInfo domain: the contract's proto package.
	ErrorDomain = "trickle.connector.v1"
	// LegacyIDKey is the ErrorInfo metadata key naming the refused account.
	LegacyIDKey = "legacy_id"
	// MaxLegacyIDBytes bounds the legacy_id metadata value; a longer id
	// is not sent (the auth service would ignore it).
	MaxLegacyIDBytes = 256
)

// ReasonString is r as ErrorInfo.reason: its value name without the
// "ERROR_REASON_" prefix (AIP-193).
func ReasonString(r connectorv1.ErrorReason) string {
	return strings.TrimPrefix(r.String(), "ERROR_REASON_")
}

// withReason builds a status with one ErrorInfo detail.
func withReason(code codes.Code, msg string, r connectorv1.ErrorReason, md map[string]string) error {
	st, err := status.New(code, msg).WithDetails(&errdetails.ErrorInfo{
		Reason:   ReasonString(r),
		Domain:   ErrorDomain,
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
	if legacyID != "" && len(legacyID) <= MaxLegacyIDBytes && utf8.ValidString(legacyID) {
		md = map[string]string{LegacyIDKey: legacyID}
	}
	return withReason(codes.Unauthenticated, invalidCredentials, connectorv1.ErrorReason_ERROR_REASON_WRONG_PASSWORD, md)
}
