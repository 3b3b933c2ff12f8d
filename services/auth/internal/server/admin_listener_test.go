package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/devcerts"
	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
)

// The ManagementService is served on admin_addr only: the public gRPC
// listener answers UNIMPLEMENTED and the public REST listener 404, even
// with the right admin key, while the admin listener serves both.
func TestManagementOnlyOnTheAdminListener(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.Admin.APIKey = kitconfig.SecretLiteral(adminKey)
	srv := e.start(cfg)

	cc, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	_, err = authv1.NewManagementServiceClient(cc).ListConnections(asAdmin(adminKey), &authv1.ListConnectionsRequest{})
	wantCode(t, err, codes.Unimplemented)
	for _, path := range []string{"/v1/connections", "/v1/users", "/v1/connections/legacy/migration"} {
		if code, _ := rest(t, "GET", "http://"+srv.HTTPAddr()+path, adminKey, nil); code != http.StatusNotFound {
			t.Errorf("public REST %s: %d, want 404", path, code)
		}
	}

	if _, err := mgmtClient(t, srv).ListConnections(asAdmin(adminKey), &authv1.ListConnectionsRequest{}); err != nil {
		t.Fatalf("admin gRPC: %v", err)
	}
	if code, body := rest(t, "GET", "http://"+srv.AdminAddr()+"/v1/connections", adminKey, nil); code != http.StatusOK || body["connections"] == nil {
		t.Fatalf("admin REST: %d %v", code, body)
	}
	if code, _ := rest(t, "GET", "http://"+srv.AdminAddr()+"/v1/connections", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("admin REST without the key: %d, want 401", code)
	}
	// The public API is not on the admin listener either.
	if code, _ := postJSON(t, "http://"+srv.AdminAddr()+"/v1/login", map[string]string{"connection": "legacy", "identifier": "grace", "password": gracePW}); code != http.StatusNotFound {
		t.Fatalf("login on the admin listener: %d, want 404", code)
	}
}

// With admin.tls.client_ca_file the admin listener requires a client
// certificate from that CA (on top of the key): no certificate or one from
// another CA cannot call it, over gRPC or REST.
func TestAdminListenerRequiresClientCertificates(t *testing.T) {
	dir := t.TempDir()
	ca, err := devcerts.NewCA("admin CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caFile := dir + "/ca.crt"
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	srvPair, _ := ca.Server("authd", []string{"127.0.0.1"}, time.Hour)
	cliPair, _ := ca.Client("operator", time.Hour)
	rogueCA, _ := devcerts.NewCA("rogue CA", time.Hour)
	roguePair, _ := rogueCA.Client("operator", time.Hour)
	srvCert, srvKey, _ := srvPair.Write(dir, "server")
	cliCert, cliKey, _ := cliPair.Write(dir, "client")
	rogueCert, rogueKey, _ := roguePair.Write(dir, "rogue")

	e := newEnv(t)
	cfg := e.config()
	cfg.Admin.APIKey = kitconfig.SecretLiteral(adminKey)
	cfg.Admin.TLS.CertFile, cfg.Admin.TLS.KeyFile, cfg.Admin.TLS.ClientCAFile = srvCert, srvKey, caFile
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	srv := e.start(cfg)

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM)
	tlsWith := func(certFile, keyFile string) *tls.Config {
		tc := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
		if certFile != "" {
			c, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				t.Fatal(err)
			}
			tc.Certificates = []tls.Certificate{c}
		}
		return tc
	}
	call := func(tc *tls.Config) error {
		cc, err := grpc.NewClient(srv.AdminAddr(), grpc.WithTransportCredentials(credentials.NewTLS(tc)))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		ctx, cancel := context.WithTimeout(asAdmin(adminKey), 10*time.Second)
		defer cancel()
		_, err = authv1.NewManagementServiceClient(cc).ListConnections(ctx, &authv1.ListConnectionsRequest{})
		return err
	}
	if err := call(tlsWith(cliCert, cliKey)); err != nil {
		t.Fatalf("admin gRPC with the client certificate: %v", err)
	}
	for name, tc := range map[string]*tls.Config{"no certificate": tlsWith("", ""), "another CA": tlsWith(rogueCert, rogueKey)} {
		if err := call(tc); status.Code(err) != codes.Unavailable {
			t.Errorf("admin gRPC with %s: %v, want UNAVAILABLE (handshake refused)", name, err)
		}
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
		req, _ := http.NewRequest("GET", "https://"+srv.AdminAddr()+"/v1/connections", nil)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
			t.Errorf("admin REST with %s: %d, want a refused handshake", name, resp.StatusCode)
		}
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsWith(cliCert, cliKey)}}
	req, _ := http.NewRequest("GET", "https://"+srv.AdminAddr()+"/v1/connections", nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin REST with the client certificate: %d", resp.StatusCode)
	}
}
