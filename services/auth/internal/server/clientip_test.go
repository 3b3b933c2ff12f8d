package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
)

// clientIPOf returns the client_ip of the rpc log line of request id.
func clientIPOf(t *testing.T, logs *syncBuffer, id string) string {
	t.Helper()
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "rpc" && rec["request_id"] == id {
			ip, _ := rec["client_ip"].(string)
			return ip
		}
	}
	t.Fatalf("no rpc log line for request %s", id)
	return ""
}

// restFrom posts a wrong-password login over REST from the loopback
// address src with the given extra headers.
func restFrom(t *testing.T, url, src string, hdr map[string]string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	req, _ := http.NewRequest("POST", url, strings.NewReader(`{"connection":"legacy","identifier":"grace","password":"nope"}`))
	for k, v := range hdr {
		req.Header[k] = []string{v}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("REST login: %d", resp.StatusCode)
	}
}

// x-forwarded-for is believed only from the in-process gateway and from
// trusted_proxies: not from a loopback gRPC peer (every sidecar-mesh
// caller is one), and a malformed header over REST leaves the real HTTP
// peer, never the gateway's address.
func TestClientIPTrust(t *testing.T) {
	for _, trustLoopback := range []bool{false, true} {
		e := newEnv(t)
		cfg := e.config()
		cfg.BruteForce.Disabled = true
		if trustLoopback {
			cfg.TrustedProxies = []string{"127.0.0.3/32", "127.0.0.4/32"}
		}
		logs := &syncBuffer{}
		srv := e.startLogged(cfg, jsonLogger(logs))
		rest := "http://" + srv.HTTPAddr() + "/v1/login"
		grpcLogin := func(src, id string) {
			c := authv1.NewAuthServiceClient(clientFrom(t, srv.GRPCAddr(), src))
			ctx := metadata.AppendToOutgoingContext(context.Background(), "x-forwarded-for", "203.0.113.9", "x-request-id", id)
			_, _ = c.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "grace", Password: "nope"})
		}
		grpcLogin("127.0.0.3", "grpc-xff")
		restFrom(t, rest, "127.0.0.5", map[string]string{"X-Forwarded-For": "203.0.113.10", "Grpc-Metadata-X-Request-Id": "rest-untrusted"})
		restFrom(t, rest, "127.0.0.4", map[string]string{"X-Forwarded-For": "203.0.113.11", "Grpc-Metadata-X-Request-Id": "rest-xff"})
		restFrom(t, rest, "127.0.0.4", map[string]string{"X-Forwarded-For": "2001:db8::1:2", "Grpc-Metadata-X-Request-Id": "rest-v6"})
		restFrom(t, rest, "127.0.0.4", map[string]string{"X-Forwarded-For": "203.0.113.1\xc3\xbc", "Grpc-Metadata-X-Request-Id": "rest-non-ascii"})
		restFrom(t, rest, "127.0.0.5", map[string]string{"Grpc-Metadata-X-Trickle-Client-Ip": "198.51.100.1", "Grpc-Metadata-X-Request-Id": "rest-spoof"})

		want := map[string]string{
			"grpc-xff": "127.0.0.3", "rest-untrusted": "127.0.0.5", "rest-xff": "127.0.0.4", "rest-v6": "127.0.0.4",
			"rest-non-ascii": "127.0.0.4", "rest-spoof": "127.0.0.5",
		}
		if trustLoopback {
			want["grpc-xff"], want["rest-xff"], want["rest-v6"] = "203.0.113.9", "203.0.113.11", "2001:db8::1:2"
		}
		for id, ip := range want {
			if got := clientIPOf(t, logs, id); got != ip {
				t.Errorf("trusted proxies %v: request %s: client_ip %q, want %q", cfg.TrustedProxies, id, got, ip)
			}
		}
	}
}

// A request id the caller chose is kept only when it is 1-64 characters
// of [A-Za-z0-9._-]; anything else (spaces, a log-injection attempt, 1 KB,
// non-ASCII over REST) is replaced by a fresh id.
func TestRequestIDsAreSanitized(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	logs := &syncBuffer{}
	srv := e.startLogged(cfg, jsonLogger(logs))
	client := authClient(t, srv)
	fresh := regexp.MustCompile(`^[0-9a-f]{16}$`)
	for _, id := range []string{"ok-id_1.2", "x\" level=ERROR msg=forged", strings.Repeat("a", 1024), "a b", "k=v;drop"} {
		var hdr metadata.MD
		ctx := metadata.AppendToOutgoingContext(context.Background(), "x-request-id", id)
		_, _ = client.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "grace", Password: "nope"}, grpc.Header(&hdr))
		got := hdr.Get("x-request-id")
		if len(got) != 1 {
			t.Fatalf("request id %q: response ids %v", id, got)
		}
		if id == "ok-id_1.2" {
			if got[0] != id {
				t.Errorf("a safe request id was replaced: %q", got[0])
			}
			continue
		}
		if !fresh.MatchString(got[0]) {
			t.Errorf("request id %.40q kept as %.40q", id, got[0])
		}
	}
	for _, id := range []string{"caf\xc3\xa9", "a\tb"} {
		req, _ := http.NewRequest("POST", "http://"+srv.HTTPAddr()+"/v1/login", strings.NewReader(`{"connection":"legacy","identifier":"grace","password":"nope"}`))
		req.Header["Grpc-Metadata-X-Request-Id"] = []string{id}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Request-Id"); !fresh.MatchString(got) {
			t.Errorf("REST request id %q answered as %q", id, got)
		}
	}
	if strings.Contains(logs.String(), "forged") || strings.Contains(logs.String(), strings.Repeat("a", 100)) {
		t.Fatal("a client-chosen request id reached the log")
	}
}

func jsonLogger(w *syncBuffer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }
