package connectortest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore"
)

// ServeSQL runs a real SQL connector (the shared code every SQL connector
// is a thin main over) on loopback until the test ends and returns its
// address. lc needs its DSN and preset; token, when set, is the caller's
// bearer token, else calls are unauthenticated.
func ServeSQL(t testing.TB, lc sqlcore.Config, driver string, d sqlcore.Dialect, token string) string {
	t.Helper()
	f := sqlcore.File{Legacy: lc}
	f.Server.SetDefaults()
	f.Server.Listen, f.Server.OpsListen = "127.0.0.1:0", "off"
	if token != "" {
		f.Server.Auth.BearerToken = kitconfig.SecretLiteral(token)
	} else {
		f.Server.Auth.AllowUnauthenticated = true
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	wait, err := sqlcore.Start(ctx, f, lis, driver, d, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		_ = lis.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = wait() })
	return lis.Addr().String()
}
