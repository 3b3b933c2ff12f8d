// Package connectortest is a real gRPC LegacyConnector for the auth
// service's tests: an in-memory legacy store whose users, latency, failures
// and call counts the test controls.
package connectortest

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/trickle-auth/trickle/connectors/kit/tracing"
	"github.com/trickle-auth/trickle/passwordhash"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

// User is a legacy user and its plain password, or, when Hash.Value is set,
// the hash the legacy store keeps: Login then verifies it with passwordhash,
// as the SQL connectors do (a bcrypt hash reads 72 bytes of the password).
type User struct {
	Password string
	Hash     passwordhash.Hash
	Profile  *connectorv1.LegacyProfile
}

// hashes verifies User.Hash.
var hashes, _ = passwordhash.New(passwordhash.Config{}) // the zero Config is valid

func (u *User) matches(pw string) bool {
	if u.Hash.Value != "" {
		return hashes.Verify(pw, u.Hash) == nil
	}
	return u.Password == pw
}

// Server is the fake legacy store served over gRPC on loopback.
type Server struct {
	connectorv1.UnimplementedLegacyConnectorServer

	Addr string

	LoginCalls   atomic.Int64
	GetUserCalls atomic.Int64
	CountCalls   atomic.Int64
	ListCalls    atomic.Int64

	mu       sync.Mutex
	users    map[string]*User // by lowercased email and username
	count    int64
	delay    time.Duration
	failing  bool
	unimpl   map[string]bool
	fold     func(string) string // nil: lowercase and trim
	plain    bool                // refusals without ErrorInfo
	inflight atomic.Int64
	maxSeen  atomic.Int64

	srv *grpc.Server
	lis net.Listener
}

// Start serves an empty store until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: lis.Addr().String(), users: map[string]*User{}, srv: grpc.NewServer(tracing.ServerOption()), lis: lis}
	connectorv1.RegisterLegacyConnectorServer(s.srv, s)
	go func() { _ = s.srv.Serve(lis) }()
	t.Cleanup(s.Stop)
	return s
}

// Stop kills the server: in-flight calls fail, new ones cannot connect.
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	srv.Stop()
}

// Restart serves again on the same address after Stop, with the same
// users: a connector that crashed and came back.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	lis, err := net.Listen("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(tracing.ServerOption())
	connectorv1.RegisterLegacyConnectorServer(srv, s)
	s.mu.Lock()
	s.srv, s.lis = srv, lis
	s.mu.Unlock()
	go func() { _ = srv.Serve(lis) }()
}

// Add puts a user into the legacy store.
func (s *Server) Add(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := u.Profile.GetEmail(); e != "" {
		s.users[strings.ToLower(e)] = &u
	}
	if n := u.Profile.GetUsername(); n != "" {
		s.users[strings.ToLower(n)] = &u
	}
	s.count++
}

// SetDelay makes every call take at least d (a slow legacy store).
func (s *Server) SetDelay(d time.Duration) { s.mu.Lock(); s.delay = d; s.mu.Unlock() }

// SetFailing makes every call answer UNAVAILABLE (legacy DB down).
func (s *Server) SetFailing(f bool) { s.mu.Lock(); s.failing = f; s.mu.Unlock() }

// SetUnimplemented makes a method ("GetUser", "CountUsers") answer
// UNIMPLEMENTED, like a connector that does not support it.
func (s *Server) SetUnimplemented(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unimpl == nil {
		s.unimpl = map[string]bool{}
	}
	s.unimpl[method] = true
}

func (s *Server) unimplemented(method string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unimpl[method] {
		return status.Error(codes.Unimplemented, method+" is not supported")
	}
	return nil
}

// MaxConcurrentLogins is the most Login calls seen in flight at once.
func (s *Server) MaxConcurrentLogins() int64 { return s.maxSeen.Load() }

func (s *Server) enter(ctx context.Context) (func(), error) {
	s.mu.Lock()
	delay, failing := s.delay, s.failing
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	if failing {
		return nil, status.Error(codes.Unavailable, "legacy database unreachable")
	}
	return func() {}, nil
}

func (s *Server) lookup(identifier string) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fold == nil {
		return s.users[strings.ToLower(strings.TrimSpace(identifier))]
	}
	want := s.fold(identifier)
	for key, u := range s.users {
		if s.fold(key) == want {
			return u
		}
	}
	return nil
}

// SetFold sets the store's collation: an identifier matches a user when
// fold(identifier) equals fold of the user's email or username (e.g. one
// that also drops accents, as MySQL's utf8mb4_unicode_ci does). The
// default matches lowercased, trimmed identifiers.
func (s *Server) SetFold(fold func(string) string) { s.mu.Lock(); s.fold = fold; s.mu.Unlock() }

// SetPlainRefusals makes Login and GetUser refuse without an ErrorInfo
// detail, as connectors written before the contract's reasons do.
func (s *Server) SetPlainRefusals(p bool) { s.mu.Lock(); s.plain = p; s.mu.Unlock() }

// refuse answers like the kit's server: code, fixed message, and the
// contract's ErrorInfo reason (with the matched account's legacy_id).
func (s *Server) refuse(code codes.Code, msg string, r connectorv1.ErrorReason, legacyID string) error {
	s.mu.Lock()
	plain := s.plain
	s.mu.Unlock()
	st := status.New(code, msg)
	if plain {
		return st.Err()
	}
	info := &errdetails.ErrorInfo{Reason: strings.TrimPrefix(r.String(), "ERROR_REASON_"), Domain: "trickle.connector.v1"}
	if legacyID != "" {
		info.Metadata = map[string]string{"legacy_id": legacyID}
	}
	d, err := st.WithDetails(info)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	return d.Err()
}

// Login implements LegacyConnectorServer.
func (s *Server) Login(ctx context.Context, req *connectorv1.LoginRequest) (*connectorv1.LoginResponse, error) {
	s.LoginCalls.Add(1)
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	for {
		m := s.maxSeen.Load()
		if n <= m || s.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	done, err := s.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	if req.GetIdentifier() == "" {
		return nil, status.Error(codes.InvalidArgument, "identifier is required")
	}
	u := s.lookup(req.GetIdentifier())
	switch {
	case u == nil:
		return nil, s.refuse(codes.Unauthenticated, "invalid credentials", connectorv1.ErrorReason_ERROR_REASON_UNKNOWN_USER, "")
	case !u.matches(req.GetPassword()):
		return nil, s.refuse(codes.Unauthenticated, "invalid credentials", connectorv1.ErrorReason_ERROR_REASON_WRONG_PASSWORD, u.Profile.GetLegacyId())
	}
	return &connectorv1.LoginResponse{Profile: proto.Clone(u.Profile).(*connectorv1.LegacyProfile)}, nil
}

// GetUser implements LegacyConnectorServer.
func (s *Server) GetUser(ctx context.Context, req *connectorv1.GetUserRequest) (*connectorv1.GetUserResponse, error) {
	s.GetUserCalls.Add(1)
	if err := s.unimplemented("GetUser"); err != nil {
		return nil, err
	}
	if _, err := s.enter(ctx); err != nil {
		return nil, err
	}
	u := s.lookup(req.GetIdentifier())
	if u == nil {
		return nil, s.refuse(codes.NotFound, "user not found", connectorv1.ErrorReason_ERROR_REASON_UNKNOWN_USER, "")
	}
	p := proto.Clone(u.Profile).(*connectorv1.LegacyProfile)
	p.PasswordHash = nil
	return &connectorv1.GetUserResponse{Profile: p}, nil
}

// CountUsers implements LegacyConnectorServer.
func (s *Server) CountUsers(ctx context.Context, _ *connectorv1.CountUsersRequest) (*connectorv1.CountUsersResponse, error) {
	s.CountCalls.Add(1)
	if err := s.unimplemented("CountUsers"); err != nil {
		return nil, err
	}
	if _, err := s.enter(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return &connectorv1.CountUsersResponse{Count: s.count}, nil
}
