package server

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/trickle-auth/trickle/connectors/kit/connector"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

// Request limits from the contract.
const (
	MaxPasswordBytes   = 1024
	MaxIdentifierBytes = 512
)

// invalidCredentials is the one message of every Login refusal: only the
// ErrorInfo reason tells an unknown user from a wrong password, for the
// trusted caller alone (see connector.proto).
const invalidCredentials = "invalid credentials"

// Messages are fixed so that legacy errors (which may name tables or hosts)
// never reach callers.
var (
	errUnknownUserLogin = withReason(codes.Unauthenticated, invalidCredentials, connectorv1.ErrorReason_ERROR_REASON_UNKNOWN_USER, nil)
	errNotFound         = withReason(codes.NotFound, "user not found", connectorv1.ErrorReason_ERROR_REASON_UNKNOWN_USER, nil)
	errUnavailable      = status.Error(codes.Unavailable, "legacy store unavailable")
	errBusy             = status.Error(codes.Unavailable, "connector busy")
	errUnimplemented    = status.Error(codes.Unimplemented, "this connector cannot enumerate its store")
)

// service adapts a connector to the gRPC contract: it validates requests,
// bounds every legacy call in time and number, and maps errors to codes in
// one place.
type service struct {
	connectorv1.UnimplementedLegacyConnectorServer

	impl     connector.PasswordConnector
	timeout  time.Duration
	slots    *semaphore.Weighted
	pageSize int
	log      *slog.Logger
	inflight prometheus.Gauge
	busy     prometheus.Counter
	failures *prometheus.CounterVec
}

var _ connectorv1.LegacyConnectorServer = (*service)(nil)

// opLogin names Login in metrics and decides how ErrNotFound is answered.
const opLogin = "login"

// call runs fn under the call timeout and a concurrency slot.
func call[T any](s *service, ctx context.Context, op string, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.slots.Acquire(ctx, 1); err != nil {
		if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
			return zero, status.FromContextError(ctx.Err()).Err()
		}
		s.busy.Inc()
		return zero, errBusy
	}
	defer s.slots.Release(1)
	s.inflight.Inc()
	defer s.inflight.Dec()
	v, err := fn(ctx)
	if err != nil {
		return zero, s.toStatus(ctx, op, err)
	}
	return v, nil
}

// toStatus maps a connector error to the contract's codes. Only the error's
// class is decided here; connectors make sure their errors carry no
// password or hash.
func (s *service) toStatus(ctx context.Context, op string, err error) error {
	var wrong *connector.WrongPasswordError
	switch {
	case errors.As(err, &wrong):
		return wrongPassword(wrong.LegacyID)
	case errors.Is(err, connector.ErrInvalidCredentials):
		return wrongPassword("") // the connector cannot tell which account
	case errors.Is(err, connector.ErrNotFound) && op == opLogin:
		return errUnknownUserLogin
	case errors.Is(err, connector.ErrNotFound):
		return errNotFound
	case errors.Is(err, connector.ErrUnimplemented):
		return status.Error(codes.Unimplemented, err.Error())
	case errors.Is(err, connector.ErrInvalidArgument):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(ctx.Err(), context.Canceled):
		return status.Error(codes.Canceled, "call canceled")
	}
	s.failures.WithLabelValues(op).Inc()
	s.log.WarnContext(ctx, "legacy store call failed", "op", op, "err", err)
	return errUnavailable
}

func checkIdentifier(id string) error {
	switch {
	case strings.TrimSpace(id) == "":
		return status.Error(codes.InvalidArgument, "identifier is empty")
	case len(id) > MaxIdentifierBytes:
		return status.Error(codes.InvalidArgument, "identifier is too long")
	case !utf8.ValidString(id) || strings.ContainsRune(id, 0):
		return status.Error(codes.InvalidArgument, "identifier contains invalid characters")
	}
	return nil
}

func (s *service) Login(ctx context.Context, req *connectorv1.LoginRequest) (*connectorv1.LoginResponse, error) {
	if err := checkIdentifier(req.GetIdentifier()); err != nil {
		return nil, err
	}
	switch pw := req.GetPassword(); {
	case pw == "":
		return nil, status.Error(codes.InvalidArgument, "password is empty")
	case len(pw) > MaxPasswordBytes:
		return nil, status.Error(codes.InvalidArgument, "password is longer than 1024 bytes")
	}
	p, err := call(s, ctx, opLogin, func(ctx context.Context) (*connector.Profile, error) {
		return s.impl.Login(ctx, req.GetIdentifier(), req.GetPassword())
	})
	if err != nil {
		return nil, err
	}
	return &connectorv1.LoginResponse{Profile: p}, nil
}

func (s *service) GetUser(ctx context.Context, req *connectorv1.GetUserRequest) (*connectorv1.GetUserResponse, error) {
	l, ok := s.impl.(connector.UserLookup)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "this connector cannot look users up")
	}
	if err := checkIdentifier(req.GetIdentifier()); err != nil {
		return nil, err
	}
	p, err := call(s, ctx, "get_user", func(ctx context.Context) (*connector.Profile, error) {
		return l.GetUser(ctx, req.GetIdentifier())
	})
	if err != nil {
		return nil, err
	}
	p = proto.CloneOf(p)
	p.PasswordHash = nil // GetUser never carries a hash (contract)
	return &connectorv1.GetUserResponse{Profile: p}, nil
}

func (s *service) CountUsers(ctx context.Context, _ *connectorv1.CountUsersRequest) (*connectorv1.CountUsersResponse, error) {
	c, ok := s.impl.(connector.Counter)
	if !ok {
		return nil, errUnimplemented
	}
	n, err := call(s, ctx, "count_users", c.CountUsers)
	if err != nil {
		return nil, err
	}
	return &connectorv1.CountUsersResponse{Count: n}, nil
}

// ListUsers pages through the store; each page is one bounded legacy call,
// so a long export neither holds a slot nor needs a long deadline.
func (s *service) ListUsers(req *connectorv1.ListUsersRequest, stream grpc.ServerStreamingServer[connectorv1.ListUsersResponse]) error {
	l, ok := s.impl.(connector.Lister)
	if !ok {
		return errUnimplemented
	}
	if req.GetLimit() < 0 {
		return status.Error(codes.InvalidArgument, "limit is negative")
	}
	ctx := stream.Context()
	after, remaining := req.GetStartAfterLegacyId(), req.GetLimit()
	for {
		n := int64(s.pageSize)
		if remaining > 0 && remaining < n {
			n = remaining
		}
		page := connector.Page{After: after, Limit: int(n), WithPasswords: req.GetIncludePasswordHashes()}
		users, err := call(s, ctx, "list_users", func(ctx context.Context) ([]*connector.Profile, error) {
			return l.ListUsers(ctx, page)
		})
		if err != nil {
			return err
		}
		for _, u := range users {
			if !page.WithPasswords && u.PasswordHash != nil {
				u = proto.CloneOf(u)
				u.PasswordHash = nil
			}
			if err := stream.Send(&connectorv1.ListUsersResponse{Profile: u}); err != nil {
				return err
			}
		}
		if int64(len(users)) < n {
			return nil
		}
		if remaining > 0 {
			if remaining -= int64(len(users)); remaining == 0 {
				return nil
			}
		}
		after = users[len(users)-1].GetLegacyId()
	}
}
