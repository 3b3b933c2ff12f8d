package legacy

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/anypb"

	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

func info(reason, domain string, md map[string]string) *anypb.Any {
	a, err := anypb.New(&errdetails.ErrorInfo{Reason: reason, Domain: domain, Metadata: md})
	if err != nil {
		panic(err)
	}
	return a
}

// rawInfo is an ErrorInfo whose legacy_id is not UTF-8: a Go connector
// cannot send it (proto refuses to marshal it), a hostile or broken one can.
func rawInfo(reason string, legacyID []byte) *anypb.Any {
	var entry []byte
	entry = protowire.AppendTag(entry, 1, protowire.BytesType)
	entry = protowire.AppendString(entry, "legacy_id")
	entry = protowire.AppendTag(entry, 2, protowire.BytesType)
	entry = protowire.AppendBytes(entry, legacyID)
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, reason)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, "trickle.connector.v1")
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendBytes(b, entry)
	return &anypb.Any{TypeUrl: "type.googleapis.com/google.rpc.ErrorInfo", Value: b}
}

func st(code codes.Code, details ...*anypb.Any) error {
	return status.FromProto(&spb.Status{Code: int32(code), Message: "invalid credentials", Details: details}).Err()
}

func TestClassifyRefusals(t *testing.T) {
	const dom = "trickle.connector.v1"
	wrong, unknown, none := connectorv1.ErrorReason_ERROR_REASON_WRONG_PASSWORD, connectorv1.ErrorReason_ERROR_REASON_UNKNOWN_USER, connectorv1.ErrorReason_ERROR_REASON_UNSPECIFIED
	id256, id257 := strings.Repeat("é", 128), strings.Repeat("x", 257)
	for _, tc := range []struct {
		name    string
		err     error
		op      int
		reason  connectorv1.ErrorReason
		legacy  string
		notUsed bool // the answer is not a refusal at all
	}{
		{"old connector, no detail", st(codes.Unauthenticated), opLogin, none, "", false},
		{"old connector, InvalidArgument", st(codes.InvalidArgument), opLogin, none, "", false},
		{"wrong password with id", st(codes.Unauthenticated, info("WRONG_PASSWORD", dom, map[string]string{"legacy_id": "42"})), opLogin, wrong, "42", false},
		{"wrong password, no id", st(codes.Unauthenticated, info("WRONG_PASSWORD", dom, nil)), opLogin, wrong, "", false},
		{"unknown user", st(codes.Unauthenticated, info("UNKNOWN_USER", dom, nil)), opLogin, unknown, "", false},
		{"unknown user ignores a legacy_id", st(codes.Unauthenticated, info("UNKNOWN_USER", dom, map[string]string{"legacy_id": "42"})), opLogin, unknown, "", false},
		{"256-byte id kept", st(codes.Unauthenticated, info("WRONG_PASSWORD", dom, map[string]string{"legacy_id": id256})), opLogin, wrong, id256, false},
		{"257-byte id dropped", st(codes.Unauthenticated, info("WRONG_PASSWORD", dom, map[string]string{"legacy_id": id257})), opLogin, wrong, "", false},
		{"non-UTF-8 id: detail unreadable", st(codes.Unauthenticated, rawInfo("WRONG_PASSWORD", []byte{'4', 0xff, 0xfe})), opLogin, none, "", false},
		{"other domain", st(codes.Unauthenticated, info("WRONG_PASSWORD", "example.com", map[string]string{"legacy_id": "42"})), opLogin, none, "", false},
		{"future reason", st(codes.Unauthenticated, info("ACCOUNT_LOCKED", dom, nil)), opLogin, none, "", false},
		{"prefixed enum name is not a reason", st(codes.Unauthenticated, info("ERROR_REASON_WRONG_PASSWORD", dom, nil)), opLogin, none, "", false},
		{"unspecified is not a reason", st(codes.Unauthenticated, info("UNSPECIFIED", dom, nil)), opLogin, none, "", false},
		{"wrong password only on UNAUTHENTICATED", st(codes.NotFound, info("WRONG_PASSWORD", dom, map[string]string{"legacy_id": "42"})), opLogin, none, "", false},
		{"second detail is read", st(codes.Unauthenticated, info("X", "other", nil), info("WRONG_PASSWORD", dom, map[string]string{"legacy_id": "9"})), opLogin, wrong, "9", false},
		{"GetUser not found", st(codes.NotFound, info("UNKNOWN_USER", dom, nil)), opGetUser, unknown, "", false},
		{"GetUser old connector", st(codes.NotFound), opGetUser, none, "", false},
		{"GetUser never carries a wrong password", st(codes.NotFound, info("WRONG_PASSWORD", dom, map[string]string{"legacy_id": "42"})), opGetUser, none, "", false},
		{"caller refused", st(codes.Unauthenticated, info("CALLER_UNAUTHENTICATED", dom, nil)), opLogin, none, "", true},
		{"caller refused after garbage", st(codes.Unauthenticated, rawInfo("WRONG_PASSWORD", []byte{0xff}), info("CALLER_UNAUTHENTICATED", dom, nil)), opGetUser, none, "", true},
		{"unavailable with a reason", st(codes.Unavailable, info("WRONG_PASSWORD", dom, map[string]string{"legacy_id": "42"})), opLogin, none, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := classify(tc.err, tc.op)
			var r *Refusal
			if tc.notUsed {
				if errors.As(err, &r) || errors.Is(err, ErrRejected) || errors.Is(err, ErrNotFound) || !errors.Is(err, ErrUnavailable) {
					t.Fatalf("%v: want an outage, not a refusal", err)
				}
				return
			}
			if !errors.As(err, &r) {
				t.Fatalf("%v is not a *Refusal", err)
			}
			if r.Reason != tc.reason || r.LegacyID != tc.legacy {
				t.Errorf("got %v/%q, want %v/%q", r.Reason, r.LegacyID, tc.reason, tc.legacy)
			}
			getUser := tc.op == opGetUser
			if errors.Is(err, ErrRejected) == getUser || errors.Is(err, ErrNotFound) != getUser || errors.Is(err, ErrUnavailable) {
				t.Errorf("%v: wrong sentinel for op %d", err, tc.op)
			}
			if strings.Contains(err.Error(), "42") || strings.Contains(err.Error(), id257) {
				t.Errorf("error text %q names the account", err)
			}
		})
	}
}
