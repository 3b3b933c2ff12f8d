package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

// callerAuth checks every call except the health and reflection services
// against the configured credentials: all configured ones must be present.
type callerAuth struct {
	tokenSum   *[sha256.Size]byte // nil: no bearer token configured
	requireTLS bool               // a verified client certificate is required
}

// errUnauthenticatedCaller carries the reason CALLER_UNAUTHENTICATED, so
// that the auth service can tell a misconfigured connector credential (an
// outage) from a wrong user password.
var errUnauthenticatedCaller = withReason(codes.Unauthenticated, "caller not authenticated",
	connectorv1.ErrorReason_ERROR_REASON_CALLER_UNAUTHENTICATED, nil)

func (a *callerAuth) check(ctx context.Context, method string) error {
	if exempt(method) {
		return nil
	}
	if a.requireTLS {
		p, ok := peer.FromContext(ctx)
		if !ok {
			return errUnauthenticatedCaller
		}
		ti, ok := p.AuthInfo.(credentials.TLSInfo)
		if !ok || len(ti.State.VerifiedChains) == 0 {
			return errUnauthenticatedCaller
		}
	}
	if a.tokenSum != nil {
		md, _ := metadata.FromIncomingContext(ctx)
		vals := md.Get("authorization")
		if len(vals) != 1 {
			return errUnauthenticatedCaller
		}
		tok, ok := strings.CutPrefix(vals[0], "Bearer ")
		if !ok {
			return errUnauthenticatedCaller
		}
		// Comparing digests keeps the comparison constant-time even when
		// the lengths differ.
		got := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(got[:], a.tokenSum[:]) != 1 {
			return errUnauthenticatedCaller
		}
	}
	return nil
}

func (a *callerAuth) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := a.check(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (a *callerAuth) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := a.check(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return h(srv, ss)
}

// exempt: probes carry no credentials, and reflection describes only the
// public contract (so `grpcurl host:port list` and health checks through
// grpcurl work without one); every LegacyConnector call needs them.
func exempt(method string) bool {
	for _, p := range []string{"/grpc.health.v1.Health/", "/grpc.reflection.v1.ServerReflection/", "/grpc.reflection.v1alpha.ServerReflection/"} {
		if strings.HasPrefix(method, p) {
			return true
		}
	}
	return false
}
