package api

import (
	"context"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
)

// wrappedStream carries the request id in its context.
type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }

// StreamInterceptor is UnaryInterceptor for streaming calls (bulk import
// and export): request id, panic recovery, error mapping, one log line.
func StreamInterceptor(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		ctx := ss.Context()
		id := requestID(ctx)
		ctx = context.WithValue(ctx, requestIDKey{}, id)
		_ = ss.SetHeader(metadata.Pairs(requestIDHeader, id))
		start := time.Now()
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in handler", "method", info.FullMethod, "request_id", id, "panic", r, "stack", string(debug.Stack()))
				err = apperr.New(apperr.Internal, "internal error")
			}
			level := slog.LevelInfo
			if apperr.KindOf(err) == apperr.Internal && err != nil {
				level = slog.LevelError
			}
			attrs := []any{"method", info.FullMethod, "request_id", id, "duration_ms", time.Since(start).Milliseconds()}
			if err != nil {
				attrs = append(attrs, "code", kindCodes[apperr.KindOf(err)].String(), "err", err)
			}
			log.Log(ctx, level, "rpc", attrs...)
			err = ToStatus(err)
		}()
		return handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
	}
}

// AdminStreamInterceptor is AdminInterceptor for streaming calls: every
// streaming ManagementService call needs the admin credential too.
func AdminStreamInterceptor(key AdminKey) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if strings.HasPrefix(info.FullMethod, ManagementPrefix) {
			if err := checkAdmin(ss.Context(), key); err != nil {
				return ToStatus(err)
			}
		}
		return handler(srv, ss)
	}
}
