package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
)

// ManagementPrefix is the full-method prefix of every ManagementService
// call: the only calls that need the admin credential.
const ManagementPrefix = "/trickle.auth.v1.ManagementService/"

// AdminKey returns the configured admin API key; ok is false when none is
// configured (the management API is then closed).
type AdminKey func() (key string, ok bool, err error)

// AdminInterceptor requires "authorization: Bearer <admin key>" on
// ManagementService calls; AuthService stays public. The key is compared
// in constant time (of SHA-256 digests, so the length does not leak
// either).
func AdminInterceptor(key AdminKey) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !strings.HasPrefix(info.FullMethod, ManagementPrefix) {
			return handler(ctx, req)
		}
		if err := checkAdmin(ctx, key); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

func checkAdmin(ctx context.Context, key AdminKey) error {
	want, ok, err := key()
	switch {
	case err != nil:
		return apperr.Wrap(apperr.Unavailable, err, "admin credential unavailable")
	case !ok || want == "":
		return apperr.New(apperr.PermissionDenied, "the management API is disabled: configure admin.api_key")
	}
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) != 1 {
		return apperr.New(apperr.Unauthenticated, "admin credential required: authorization: Bearer <api key>")
	}
	scheme, got, found := strings.Cut(vals[0], " ")
	if !found || !strings.EqualFold(scheme, "bearer") {
		return apperr.New(apperr.Unauthenticated, "admin credential required: authorization: Bearer <api key>")
	}
	g, w := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(want))
	if subtle.ConstantTimeCompare(g[:], w[:]) != 1 {
		return apperr.New(apperr.Unauthenticated, "invalid admin credential")
	}
	return nil
}
