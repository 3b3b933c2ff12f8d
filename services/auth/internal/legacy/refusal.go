package legacy

import (
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/trickle-auth/trickle/proto/connectorerr"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

// Refusal is a connector's "no" to a Login or GetUser.
type Refusal struct {
	Reason   connectorv1.ErrorReason // WRONG_PASSWORD, UNKNOWN_USER or UNSPECIFIED (old connector)
	LegacyID string                  // the matched legacy account on WRONG_PASSWORD, else ""

	// getUser marks GetUser's "no such user"; the zero value is a Login
	// refusal, so a Refusal literal (in a test's fake) is one.
	getUser bool
}

// Error names the outcome and the reason, never the identifier, the
// password or the legacy id.
func (r *Refusal) Error() string {
	base := ErrRejected
	if r.getUser {
		base = ErrNotFound
	}
	if r.Reason == connectorv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
		return base.Error()
	}
	return base.Error() + " (" + connectorerr.Reason(r.Reason) + ")"
}

// Is makes a Login refusal an ErrRejected and GetUser's an ErrNotFound.
func (r *Refusal) Is(target error) bool {
	if r.getUser {
		return target == ErrNotFound
	}
	return target == ErrRejected
}

// reasonOf returns the contract reason of st and its metadata: the first
// ErrorInfo of the contract's domain whose reason this version knows.
// Details that do not parse (e.g. strings that are not UTF-8) are skipped.
func reasonOf(st *status.Status) (connectorv1.ErrorReason, map[string]string) {
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.GetDomain() != connectorerr.Domain {
			continue
		}
		if r := connectorerr.ParseReason(info.GetReason()); r != connectorv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
			return r, info.GetMetadata()
		}
	}
	return connectorv1.ErrorReason_ERROR_REASON_UNSPECIFIED, nil
}

// refusalOf reads a refusal status. Only UNAUTHENTICATED (Login) carries
// WRONG_PASSWORD and its legacy_id; an oversized or invalid legacy_id is
// dropped, the refusal kept.
func refusalOf(st *status.Status, getUser bool) *Refusal {
	r := &Refusal{getUser: getUser}
	reason, md := reasonOf(st)
	switch reason {
	case connectorv1.ErrorReason_ERROR_REASON_WRONG_PASSWORD:
		if getUser || st.Code() != codes.Unauthenticated {
			return r
		}
		r.Reason = reason
		if id := md[connectorerr.LegacyIDKey]; connectorerr.ValidLegacyID(id) {
			r.LegacyID = id
		}
	case connectorv1.ErrorReason_ERROR_REASON_UNKNOWN_USER:
		r.Reason = reason
	}
	return r
}
