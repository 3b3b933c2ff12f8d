package config_test

import (
	"net"
	"testing"

	"github.com/trickle-auth/trickle/services/auth/internal/config"
)

// The configuration shipped in the Kubernetes manifests must load: a typo
// there would only show up as a crash-looping pod.
func TestKubernetesConfigLoads(t *testing.T) {
	cfg, err := config.Load("../../../../deploy/k8s/base/auth-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Connections) != 3 {
		t.Fatalf("connections = %d, want one per legacy database (3)", len(cfg.Connections))
	}
	for _, c := range cfg.Connections {
		if c.Connector.TLS.Insecure || c.Connector.TLS.CertFile == "" || !c.Connector.Token.IsSet() {
			t.Errorf("connection %s: the cluster config must use mTLS and a token", c.Name)
		}
	}
	if cfg.Redis.Addr == "" {
		t.Error("several replicas need the Redis lock")
	}
	// The management API is not reachable over the pod network without mTLS.
	if host, _, _ := net.SplitHostPort(cfg.AdminAddr); host != "127.0.0.1" && cfg.Admin.TLS.ClientCAFile == "" {
		t.Errorf("admin_addr %s is reachable from other pods without admin.tls.client_ca_file", cfg.AdminAddr)
	}
}
