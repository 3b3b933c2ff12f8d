// Package legacy is the auth service's client of a connector
// (trickle.connector.v1.LegacyConnector). It turns the connector's status
// codes into the few outcomes the login flow acts on.
package legacy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/trickle-auth/trickle/connectors/kit/tracing"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
)

// Outcomes other than success.
var (
	// ErrRejected: wrong password or unknown user (Login). Login's
	// refusals are *Refusal, which says which (and which account).
	ErrRejected = errors.New("legacy: credentials rejected")
	// ErrNotFound: no such user (GetUser), a *Refusal too.
	ErrNotFound = errors.New("legacy: user not found")
	// ErrUnavailable: the connector or its store failed or timed out. The
	// caller must write nothing.
	ErrUnavailable = errors.New("legacy: store unavailable")
	// ErrUnsupported: the connector does not implement the call.
	ErrUnsupported = errors.New("legacy: not supported by the connector")
)

// Connector is what the auth service asks of a legacy store.
type Connector interface {
	Login(ctx context.Context, identifier, password string) (*connectorv1.LegacyProfile, error)
	GetUser(ctx context.Context, identifier string) (*connectorv1.LegacyProfile, error)
	CountUsers(ctx context.Context) (int64, error)
}

// Client is a Connector over gRPC with a deadline on every call.
type Client struct {
	conn    *grpc.ClientConn
	rpc     connectorv1.LegacyConnectorClient
	timeout time.Duration
}

var _ Connector = (*Client)(nil)

// Dial prepares a client of the connector (the connection is made lazily).
func Dial(cfg config.Connector) (*Client, error) {
	opts := []grpc.DialOption{tracing.DialOption()}
	secure := !cfg.TLS.Insecure
	if secure {
		tc, err := clientTLS(cfg.TLS)
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	} else {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if cfg.Token.IsSet() {
		if _, err := cfg.Token.Value(); err != nil {
			return nil, fmt.Errorf("connector token: %w", err)
		}
		opts = append(opts, grpc.WithPerRPCCredentials(bearer{token: cfg.Token.Value, secure: secure}))
	}
	conn, err := grpc.NewClient(cfg.Address, opts...)
	if err != nil {
		return nil, fmt.Errorf("connector %s: %w", cfg.Address, err)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = config.DefaultConnectorTimeout
	}
	return &Client{conn: conn, rpc: connectorv1.NewLegacyConnectorClient(conn), timeout: timeout}, nil
}

// Timeout is the deadline of each call.
func (c *Client) Timeout() time.Duration { return c.timeout }

// Close closes the gRPC connection.
func (c *Client) Close() error { return c.conn.Close() }

// Login implements Connector.
func (c *Client) Login(ctx context.Context, identifier, password string) (*connectorv1.LegacyProfile, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.rpc.Login(ctx, &connectorv1.LoginRequest{Identifier: identifier, Password: password})
	if err != nil {
		return nil, classify(err, opLogin)
	}
	if resp.GetProfile() == nil {
		return nil, fmt.Errorf("%w: login answered without a profile", ErrUnavailable)
	}
	return resp.GetProfile(), nil
}

// GetUser implements Connector.
func (c *Client) GetUser(ctx context.Context, identifier string) (*connectorv1.LegacyProfile, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.rpc.GetUser(ctx, &connectorv1.GetUserRequest{Identifier: identifier})
	if err != nil {
		return nil, classify(err, opGetUser)
	}
	if resp.GetProfile() == nil {
		return nil, fmt.Errorf("%w: get user answered without a profile", ErrUnavailable)
	}
	return resp.GetProfile(), nil
}

// CountUsers implements Connector.
func (c *Client) CountUsers(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.rpc.CountUsers(ctx, &connectorv1.CountUsersRequest{})
	if err != nil {
		return 0, classify(err, opCount)
	}
	return resp.GetCount(), nil
}

// The calls classify tells apart.
const (
	opLogin = iota
	opGetUser
	opCount
	opList
)

// classify maps a connector status to an outcome. "No" answers become a
// *Refusal (Login, GetUser); everything else (the store or connector
// failing, timeouts, our own context ending) means unavailable, so nothing
// gets written.
func classify(err error, op int) error {
	st, _ := status.FromError(err)
	if callerRefused(st) {
		return fmt.Errorf("%w: the connector refused the auth service's credentials (check connector.token and tls)", ErrUnavailable)
	}
	switch st.Code() {
	case codes.Unauthenticated, codes.NotFound, codes.InvalidArgument:
		switch op {
		case opCount:
			return fmt.Errorf("%w (%s)", ErrNotFound, st.Code())
		case opList:
			return fmt.Errorf("%w (%s)", ErrUnavailable, st.Code())
		}
		return refusalOf(st, op == opGetUser)
	case codes.Unimplemented:
		return ErrUnsupported
	default:
		return fmt.Errorf("%w: %s: %s", ErrUnavailable, st.Code(), st.Message())
	}
}

// callerRefused reports whether the connector refused us, the caller,
// rather than the user's password: a misconfiguration to surface as an
// outage, never as "invalid credentials".
func callerRefused(st *status.Status) bool {
	if st.Code() != codes.Unauthenticated {
		return false
	}
	r, _ := reasonOf(st)
	return r == connectorv1.ErrorReason_ERROR_REASON_CALLER_UNAUTHENTICATED
}

func clientTLS(t config.ClientTLS) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("connector ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("connector ca_file %s: no certificates", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("connector client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// bearer sends the connector token, read on every call so a rotated secret
// file is picked up.
type bearer struct {
	token  func() (string, error)
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	tok, err := b.token()
	if err != nil {
		return nil, status.Error(codes.Unavailable, "connector token unavailable")
	}
	return map[string]string{"authorization": "Bearer " + tok}, nil
}

func (b bearer) RequireTransportSecurity() bool { return b.secure }
