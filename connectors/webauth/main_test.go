package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/server"
	"github.com/trickle-auth/trickle/connectors/webauth/internal/webauth"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

func TestExampleConfig(t *testing.T) {
	t.Setenv("CONNECTOR_TOKEN", "t")
	t.Setenv("LEGACY_SERVICE_TOKEN", "s")
	var f File
	if err := config.Load("connector.example.yaml", &f); err != nil {
		t.Fatal(err)
	}
	if f.Legacy.Mapping.AppMetadataFields["plan"] != "subscription.plan" || f.Legacy.GetUser.ResultPath != "users.0" {
		t.Errorf("example config decoded as %+v", f.Legacy)
	}
	if _, err := webauth.New(f.Legacy); err != nil {
		t.Errorf("webauth.New(example): %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"no login url":       "legacy: {}",
		"unknown key":        "legacy: {login: {url: http://h/l}, logn: {}}",
		"get_user no id":     "legacy: {login: {url: http://h/l}, get_user: {url: http://h/u}, service_auth: {bearer_token: x}}",
		"get_user no creds":  "legacy: {login: {url: http://h/l}, get_user: {url: 'http://h/u/{identifier}'}}",
		"two creds":          "legacy: {login: {url: http://h/l}, service_auth: {bearer_token: x, header: {name: X-K, value: y}}}",
		"credentials in url": "legacy: {login: {url: 'http://u:p@h/l'}}",
		"bad case":           "legacy: {login: {url: http://h/l}, identifier_case: upper}",
		"bad method":         "legacy: {login: {url: http://h/l, method: DELETE}}",
		"bad status":         "legacy: {login: {url: http://h/l, reject_statuses: [200]}}",
		"half client cert":   "legacy: {login: {url: http://h/l}, tls: {cert_file: c.pem}}",
		"no size":            "legacy: {login: {url: http://h/l}, max_response_bytes: 0}",
	} {
		var f File
		if err := config.Decode([]byte("server: {auth: {allow_unauthenticated: true}}\n"+doc), &f); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestLogLine checks, over real gRPC, that a legacy answer that is not the
// expected JSON is UNAVAILABLE with a log line that says so, without the
// password or anything from the body.
func TestLogLine(t *testing.T) {
	const pw, body = "log-canary-password", "<html>log-canary-body</html>"
	legacy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(legacy.Close)
	var lc webauth.Config
	lc.SetDefaults()
	lc.Login.URL = legacy.URL + "/login"
	c, err := webauth.New(lc)
	if err != nil {
		t.Fatal(err)
	}
	var sc server.Config
	sc.SetDefaults()
	sc.Auth.BearerToken = config.SecretLiteral("tok")
	var logs bytes.Buffer
	srv, err := server.New(sc, c, slog.New(slog.NewJSONHandler(&logs, nil)))
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
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	cctx, ccancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer tok"), 10*time.Second)
	defer ccancel()
	_, err = connectorv1.NewLegacyConnectorClient(conn).Login(cctx, &connectorv1.LoginRequest{Identifier: "alice", Password: pw})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("Login: %v, want UNAVAILABLE", err)
	}
	out := logs.String()
	if !strings.Contains(out, "not the expected JSON") || !strings.Contains(out, "text/html") {
		t.Errorf("log does not explain the failure: %s", out)
	}
	for _, secret := range []string{pw, "log-canary-body"} {
		if strings.Contains(out, secret) || strings.Contains(status.Convert(err).Message(), secret) {
			t.Errorf("%q leaked: %s", secret, out)
		}
	}
	t.Log(strings.TrimSpace(out))
}
