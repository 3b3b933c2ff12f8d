// Package connectorerr is the error vocabulary of trickle.connector.v1 in
// Go: the google.rpc.ErrorInfo domain, reasons and metadata key that
// connector.proto declares for refusals. Connectors send them and the auth
// service reads them, so both take them from here.
package connectorerr

import (
	"strings"
	"unicode/utf8"

	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

const (
	// Domain is the ErrorInfo domain: the contract's proto package.
	Domain = "trickle.connector.v1"
	// LegacyIDKey is the ErrorInfo metadata key naming the refused account.
	LegacyIDKey = "legacy_id"
	// MaxLegacyIDBytes bounds a legacy_id value: a longer one is neither
	// sent nor believed.
	MaxLegacyIDBytes = 256
)

const prefix = "ERROR_REASON_"

// Reason is r as ErrorInfo.reason: its value name without the
// "ERROR_REASON_" prefix (AIP-193).
func Reason(r connectorv1.ErrorReason) string { return strings.TrimPrefix(r.String(), prefix) }

// ParseReason reads an ErrorInfo.reason; an unknown one (a newer contract)
// is UNSPECIFIED.
func ParseReason(s string) connectorv1.ErrorReason {
	return connectorv1.ErrorReason(connectorv1.ErrorReason_value[prefix+s])
}

// ValidLegacyID reports whether id may travel as legacy_id: not empty, at
// most MaxLegacyIDBytes, valid UTF-8.
func ValidLegacyID(id string) bool {
	return id != "" && len(id) <= MaxLegacyIDBytes && utf8.ValidString(id)
}
