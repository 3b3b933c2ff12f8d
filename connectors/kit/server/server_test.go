package server_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/connector"
	"github.com/trickle-auth/trickle/connectors/kit/server"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

// blocking holds every Login for a second whatever its context says, like
// a driver stuck on a hung database.
type blocking struct{ ready error }

func (b *blocking) Login(ctx context.Context, _, _ string) (*connector.Profile, error) {
	time.Sleep(time.Second)
	return nil, ctx.Err()
}

func (b *blocking) Ping(context.Context) error { return b.ready }

var _ connector.Pinger = (*blocking)(nil)

func serve(t *testing.T, impl connector.PasswordConnector, cfg server.Config) (connectorv1.LegacyConnectorClient, string) {
	t.Helper()
	c, ops, _ := serveAt(t, impl, cfg)
	return c, ops
}

// serveAt is serve that also returns the gRPC address.
func serveAt(t *testing.T, impl connector.PasswordConnector, cfg server.Config) (connectorv1.LegacyConnectorClient, string, string) {
	t.Helper()
	cfg.Auth.BearerToken = config.SecretLiteral("tok")
	cfg.Log.Level = "error"
	s, err := server.New(cfg, impl, nil)
	if err != nil {
		t.Fatal(err)
	}
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	ops, _ := net.Listen("tcp", "127.0.0.1:0")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, lis, ops) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return connectorv1.NewLegacyConnectorClient(conn), "http://" + ops.Addr().String(), lis.Addr().String()
}

func TestConcurrencyLimitAndDeadline(t *testing.T) {
	var cfg server.Config
	cfg.SetDefaults()
	cfg.MaxConcurrentCalls = 1
	cfg.CallTimeout = 300 * time.Millisecond
	c, ops := serve(t, &blocking{}, cfg)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer tok")
	var wg sync.WaitGroup
	errs := make([]error, 3)
	begin := time.Now()
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Login(ctx, &connectorv1.LoginRequest{Identifier: "a", Password: "b"})
		}()
	}
	wg.Wait()
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("calls took %v with a 300ms call timeout", d)
	}
	busy := 0
	for _, err := range errs {
		if status.Code(err) != codes.Unavailable {
			t.Errorf("got %v, want UNAVAILABLE", err)
		}
		if strings.Contains(status.Convert(err).Message(), "busy") {
			busy++
		}
	}
	if busy == 0 {
		t.Error("no call was refused as busy with one slot and three callers")
	}
	body := get(t, ops+"/metrics", http.StatusOK)
	if !strings.Contains(body, "trickle_connector_busy_total") || !strings.Contains(body, "grpc_server_handled_total") {
		t.Error("/metrics lacks the connector and gRPC metrics")
	}
	get(t, ops+"/healthz", http.StatusOK)
	get(t, ops+"/readyz", http.StatusOK)
}

func TestReadyzFollowsTheStore(t *testing.T) {
	var cfg server.Config
	cfg.SetDefaults()
	_, ops := serve(t, &blocking{ready: errors.New("down")}, cfg)
	get(t, ops+"/readyz", http.StatusServiceUnavailable)
}

func TestConfigRequiresCallerAuth(t *testing.T) {
	var cfg server.Config
	cfg.SetDefaults()
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "authentication") {
		t.Errorf("no auth accepted: %v", err)
	}
	cfg.TLS.ClientCAFile = "/ca.pem"
	if err := cfg.Validate(); err == nil {
		t.Error("client CA without a server certificate accepted")
	}
}

func get(t *testing.T, url string, want int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Errorf("GET %s: %d, want %d", url, resp.StatusCode, want)
	}
	return string(b)
}
