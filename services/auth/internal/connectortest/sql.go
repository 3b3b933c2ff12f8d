package connectortest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	kitserver "github.com/trickle-auth/trickle/connectors/kit/server"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore"
)

// ServeSQL runs a real SQL connector (the shared code every SQL connector
// is a thin main over) on loopback until the test ends and returns its
// address. lc needs its DSN and preset; token, when set, is the caller's
// bearer token, else calls are unauthenticated.
func ServeSQL(t testing.TB, lc sqlcore.Config, driver string, d sqlcore.Dialect, token string) string {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	legacy, err := sqlcore.Open(lc, driver, d, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = legacy.Close() })
	var kc kitserver.Config
	kc.SetDefaults()
	kc.Listen, kc.OpsListen = "127.0.0.1:0", "off"
	if token != "" {
		kc.Auth.BearerToken = kitconfig.SecretLiteral(token)
	} else {
		kc.Auth.AllowUnauthenticated = true
	}
	srv, err := kitserver.New(kc, legacy, quiet)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	return lis.Addr().String()
}
