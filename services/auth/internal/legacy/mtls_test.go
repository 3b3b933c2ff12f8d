package legacy_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/connector"
	"github.com/trickle-auth/trickle/connectors/kit/devcerts"
	kitserver "github.com/trickle-auth/trickle/connectors/kit/server"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/legacy"
)

// oneUser is a legacy store with one user, enough to prove who may ask.
type oneUser struct{}

func (oneUser) Login(_ context.Context, identifier, password string) (*connector.Profile, error) {
	switch {
	case !strings.EqualFold(strings.TrimRight(identifier, " "), "ada@example.com"):
		return nil, connector.ErrNotFound
	case password != "pw-123456":
		return nil, connector.WrongPassword("1")
	}
	return &connector.Profile{LegacyId: "1", Email: "ada@example.com"}, nil
}

func (oneUser) GetUser(_ context.Context, identifier string) (*connector.Profile, error) {
	if !strings.EqualFold(identifier, "ada@example.com") {
		return nil, connector.ErrNotFound
	}
	return &connector.Profile{LegacyId: "1", Email: "ada@example.com"}, nil
}

type pki struct {
	ca                   string
	serverCert, serverKy string
	clientCert, clientKy string
	rogueCert, rogueKey  string
}

func newPKI(t *testing.T) pki {
	dir := t.TempDir()
	ca, err := devcerts.NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var p pki
	p.ca = dir + "/ca.crt"
	if err := writeFile(p.ca, ca.CertPEM); err != nil {
		t.Fatal(err)
	}
	srv, _ := ca.Server("connector", []string{"127.0.0.1", "localhost"}, time.Hour)
	cli, _ := ca.Client("authd", time.Hour)
	rogueCA, _ := devcerts.NewCA("rogue CA", time.Hour)
	rogue, _ := rogueCA.Client("authd", time.Hour)
	p.serverCert, p.serverKy, _ = srv.Write(dir, "server")
	p.clientCert, p.clientKy, _ = cli.Write(dir, "client")
	p.rogueCert, p.rogueKey, _ = rogue.Write(dir, "rogue")
	return p
}

// startConnector serves oneUser with mTLS and a bearer token on loopback.
func startConnector(t *testing.T, p pki, token string) string {
	t.Helper()
	var cfg kitserver.Config
	cfg.SetDefaults()
	cfg.TLS = kitserver.TLSConfig{CertFile: p.serverCert, KeyFile: p.serverKy, ClientCAFile: p.ca}
	cfg.Auth.BearerToken = kitconfig.SecretLiteral(token)
	srv, err := kitserver.New(cfg, oneUser{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ops, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx, lis, ops); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return lis.Addr().String()
}

func TestMutualTLSWithBearerToken(t *testing.T) {
	p := newPKI(t)
	addr := startConnector(t, p, "connector-token")
	ctx := context.Background()
	login := func(c config.Connector) error {
		t.Helper()
		c.Address, c.Timeout = addr, 2*time.Second
		cl, err := legacy.Dial(c)
		if err != nil {
			return err
		}
		defer cl.Close()
		_, err = cl.Login(ctx, "ada@example.com", "pw-123456")
		return err
	}
	good := config.ClientTLS{CAFile: p.ca, CertFile: p.clientCert, KeyFile: p.clientKy, ServerName: "localhost"}
	if err := login(config.Connector{TLS: good, Token: kitconfig.SecretLiteral("connector-token")}); err != nil {
		t.Fatalf("mTLS + token: %v", err)
	}
	for name, c := range map[string]config.Connector{
		"plaintext client":         {TLS: config.ClientTLS{Insecure: true}, Token: kitconfig.SecretLiteral("connector-token")},
		"no client certificate":    {TLS: config.ClientTLS{CAFile: p.ca, ServerName: "localhost"}, Token: kitconfig.SecretLiteral("connector-token")},
		"certificate of rogue CA":  {TLS: config.ClientTLS{CAFile: p.ca, CertFile: p.rogueCert, KeyFile: p.rogueKey, ServerName: "localhost"}, Token: kitconfig.SecretLiteral("connector-token")},
		"wrong bearer token":       {TLS: good, Token: kitconfig.SecretLiteral("guess")},
		"no bearer token":          {TLS: good},
		"server not trusted by us": {TLS: config.ClientTLS{CertFile: p.clientCert, KeyFile: p.clientKy, ServerName: "localhost"}, Token: kitconfig.SecretLiteral("connector-token")},
	} {
		err := login(c)
		// Refusals must never look like a password answer from the store:
		// the login flow would then report "invalid credentials".
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if errors.Is(err, legacy.ErrRejected) || !errors.Is(err, legacy.ErrUnavailable) {
			t.Errorf("%s: got %v, want a transport failure (unavailable)", name, err)
		}
	}
}

func writeFile(path string, b []byte) error {
	f, err := createFile(path)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
