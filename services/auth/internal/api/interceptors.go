// Package api is the gRPC face of the auth service: the AuthService and
// ManagementService handlers, and the interceptors every call goes through
// (request ids, logging, recovery, and the one place where domain errors
// become gRPC status codes).
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/bruteforce"
)

var kindCodes = map[apperr.Kind]codes.Code{
	apperr.Internal:           codes.Internal,
	apperr.InvalidArgument:    codes.InvalidArgument,
	apperr.Unauthenticated:    codes.Unauthenticated,
	apperr.PermissionDenied:   codes.PermissionDenied,
	apperr.NotFound:           codes.NotFound,
	apperr.AlreadyExists:      codes.AlreadyExists,
	apperr.FailedPrecondition: codes.FailedPrecondition,
	apperr.ResourceExhausted:  codes.ResourceExhausted,
	apperr.Unavailable:        codes.Unavailable,
}

// ErrorDomain is the google.rpc.ErrorInfo domain of the client API's
// errors: its proto package.
const ErrorDomain = "trickle.auth.v1"

// ToStatus maps a handler error to the status the caller sees. Only the
// domain error's caller-safe message leaves the service.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err // already a status (e.g. from an interceptor)
	}
	if errors.Is(err, context.Canceled) && apperr.KindOf(err) == apperr.Internal {
		return status.Error(codes.Canceled, "request canceled")
	}
	if errors.Is(err, context.DeadlineExceeded) && apperr.KindOf(err) == apperr.Internal {
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	st := status.New(kindCodes[apperr.KindOf(err)], apperr.Message(err))
	if d := apperr.RetryAfterOf(err); d > 0 {
		if withInfo, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)}); derr == nil {
			st = withInfo
		}
	}
	if r := apperr.ReasonOf(err); r != authv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
		info := &errdetails.ErrorInfo{Reason: strings.TrimPrefix(r.String(), "ERROR_REASON_"), Domain: ErrorDomain}
		if withInfo, derr := st.WithDetails(info); derr == nil {
			st = withInfo
		}
	}
	if vs := apperr.ViolationsOf(err); len(vs) > 0 {
		br := &errdetails.BadRequest{}
		for _, v := range vs {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description})
		}
		if withBR, derr := st.WithDetails(br); derr == nil {
			st = withBR
		}
	}
	return st.Err()
}

type requestIDKey struct{}

// RequestID returns the request id of the call.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

const requestIDHeader = "x-request-id"

// RetryAfterHeader is the response metadata key mapped to HTTP Retry-After.
const RetryAfterHeader = "retry-after"

// requestID is the caller's x-request-id when it is 1 to 64 characters of
// [A-Za-z0-9._-] (it goes into logs and response headers as given), else a
// fresh random one.
func requestID(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(requestIDHeader); len(v) == 1 && safeRequestID(v[0]) {
			return v[0]
		}
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func safeRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// UnaryInterceptor assigns a request id, recovers panics, maps errors to
// status codes and logs each call with the client IP (see ClientIPs).
// Requests are never logged: they carry passwords.
func UnaryInterceptor(log *slog.Logger, ips ClientIPs) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		id := requestID(ctx)
		ctx = context.WithValue(ctx, requestIDKey{}, id)
		_ = grpc.SetHeader(ctx, metadata.Pairs(requestIDHeader, id))
		start := time.Now()
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in handler", "method", info.FullMethod, "request_id", id, "panic", r, "stack", string(debug.Stack()))
				err = apperr.New(apperr.Internal, "internal error")
				resp = nil
			}
			level := slog.LevelInfo
			if apperr.KindOf(err) == apperr.Internal && err != nil {
				level = slog.LevelError
			}
			attrs := []any{"method", info.FullMethod, "request_id", id, "client_ip", ips.Of(ctx), "duration_ms", time.Since(start).Milliseconds()}
			if err != nil {
				attrs = append(attrs, "code", kindCodes[apperr.KindOf(err)].String(), "err", err)
			}
			log.Log(ctx, level, "rpc", attrs...)
			if d := apperr.RetryAfterOf(err); d > 0 {
				// grpc-gateway turns this into the HTTP Retry-After header.
				_ = grpc.SetHeader(ctx, metadata.Pairs(RetryAfterHeader, bruteforce.RetryAfterSeconds(d)))
			}
			err = ToStatus(err)
		}()
		return handler(ctx, req)
	}
}
