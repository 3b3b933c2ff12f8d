package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/trickle-auth/trickle/connectors/kit/connector"
	"github.com/trickle-auth/trickle/connectors/kit/server"
	"github.com/trickle-auth/trickle/proto/connectorerr"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

// refusing answers Login and GetUser with the error named by the
// identifier.
type refusing map[string]error

func (r refusing) Login(_ context.Context, id, _ string) (*connector.Profile, error) {
	return nil, r[id]
}
func (r refusing) GetUser(_ context.Context, id string) (*connector.Profile, error) {
	return nil, r[id]
}

func errorInfo(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if i, ok := d.(*errdetails.ErrorInfo); ok {
			return i
		}
	}
	return nil
}

// Every connector error reaches the caller as the contract's status and
// reason; a legacy_id the contract bounds is withheld, never cut.
func TestRefusalReasons(t *testing.T) {
	long := strings.Repeat("9", connectorerr.MaxLegacyIDBytes+1)
	impl := refusing{
		"wrong":     connector.WrongPassword("42"),
		"wrapped":   fmt.Errorf("row 7: %w", connector.WrongPassword("7")),
		"max":       connector.WrongPassword(strings.Repeat("é", connectorerr.MaxLegacyIDBytes/2)),
		"long":      connector.WrongPassword(long),
		"anonymous": connector.ErrInvalidCredentials,
		"unknown":   connector.ErrNotFound,
	}
	var cfg server.Config
	cfg.SetDefaults()
	c, _ := serve(t, impl, cfg)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer tok")
	for _, tc := range []struct {
		id, reason, legacyID string
	}{
		{"wrong", "WRONG_PASSWORD", "42"},
		{"wrapped", "WRONG_PASSWORD", "7"},
		{"max", "WRONG_PASSWORD", strings.Repeat("é", connectorerr.MaxLegacyIDBytes/2)},
		{"long", "WRONG_PASSWORD", ""},
		{"anonymous", "WRONG_PASSWORD", ""},
		{"unknown", "UNKNOWN_USER", ""},
	} {
		_, err := c.Login(ctx, &connectorv1.LoginRequest{Identifier: tc.id, Password: "pw"})
		info := errorInfo(err)
		if status.Code(err) != codes.Unauthenticated || status.Convert(err).Message() != "invalid credentials" || info == nil {
			t.Errorf("Login(%s): %v, want UNAUTHENTICATED \"invalid credentials\" with ErrorInfo", tc.id, err)
			continue
		}
		got, has := info.GetMetadata()[connectorerr.LegacyIDKey]
		if info.GetReason() != tc.reason || info.GetDomain() != "trickle.connector.v1" || got != tc.legacyID || (tc.legacyID == "" && has) {
			t.Errorf("Login(%s): %s/%s legacy_id %q, want %s %q", tc.id, info.GetDomain(), info.GetReason(), got, tc.reason, tc.legacyID)
		}
	}
	_, err := c.GetUser(ctx, &connectorv1.GetUserRequest{Identifier: "unknown"})
	if info := errorInfo(err); status.Code(err) != codes.NotFound || info.GetReason() != "UNKNOWN_USER" {
		t.Errorf("GetUser of an unknown user: %v", err)
	}
	for r, want := range map[connectorv1.ErrorReason]string{
		connectorv1.ErrorReason_ERROR_REASON_WRONG_PASSWORD:         "WRONG_PASSWORD",
		connectorv1.ErrorReason_ERROR_REASON_CALLER_UNAUTHENTICATED: "CALLER_UNAUTHENTICATED",
	} {
		if got := connectorerr.Reason(r); got != want {
			t.Errorf("Reason(%v) = %q", r, got)
		}
	}
}
