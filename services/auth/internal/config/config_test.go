package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trickle-auth/trickle/services/auth/internal/config"
)

// The documented example must always load.
func TestExampleConfigLoads(t *testing.T) {
	t.Setenv("MONGODB_URI", "mongodb://db:27017")
	t.Setenv("REDIS_PASSWORD", "s3cret")
	t.Setenv("TRICKLE_RESET_WEBHOOK_SECRET", "hook")
	cfg, err := config.Load("../../../../deploy/config/auth.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	uri, err := cfg.MongoDB.URI.Value()
	if err != nil || uri != "mongodb://db:27017" {
		t.Fatalf("mongodb.uri = %q, %v", uri, err)
	}
	if cfg.Redis.Addr != "127.0.0.1:6379" {
		t.Fatalf("${REDIS_ADDR:-...} default not applied: %q", cfg.Redis.Addr)
	}
	c, ok := cfg.Connection("legacy-mysql")
	if !ok || !c.ImportMode || !c.LegacyEnabled || c.Connector.Timeout != 5*time.Second || !c.Connector.Token.IsSet() {
		t.Fatalf("connection: %+v", c)
	}
	if cfg.Password.MemoryKiB != 19456 || cfg.Password.Time != 2 || cfg.Password.Threads != 1 {
		t.Fatalf("password params: %+v", cfg.Password)
	}
	if p := cfg.Password.Policy; p.MinLength != 8 || p.MaxBytes != 1024 || !p.ForbidEmail {
		t.Fatalf("password policy: %+v", p)
	}
	if cfg.AdminAddr != "127.0.0.1:7403" || cfg.Admin.TLS.ClientCAFile == "" || cfg.Limits.MaxConnections != 1024 || cfg.Redis.PoolSize != 64 {
		t.Fatalf("admin_addr, admin.tls, limits or redis pool: %q %+v %+v %+v", cfg.AdminAddr, cfg.Admin.TLS, cfg.Limits, cfg.Redis)
	}
	if !cfg.Admin.APIKey.IsSet() || cfg.PasswordReset.Webhook.URL == "" || cfg.PasswordReset.Webhook.MaxAttempts != 5 ||
		cfg.PasswordReset.TicketTTL != time.Hour || cfg.Status.CacheTTL != 30*time.Second || cfg.Reload.WatchInterval != 5*time.Second {
		t.Fatalf("admin, reset, status or reload: %+v %+v %+v %+v", cfg.Admin, cfg.PasswordReset, cfg.Status, cfg.Reload)
	}
}

func write(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "auth.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsWorkOnLoopback(t *testing.T) {
	cfg, err := config.Load(write(t, "tokens: {dev_key_dir: /tmp/x}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GRPCAddr != "127.0.0.1:7400" || cfg.Password.MemoryKiB != 19456 || cfg.Tokens.TTL != time.Hour {
		t.Fatalf("defaults: %+v", cfg)
	}
	if cfg.AdminAddr != "127.0.0.1:7403" || cfg.Limits != config.DefaultLimits() || len(cfg.TrustedProxies) != 0 {
		t.Fatalf("admin_addr, limits or trusted_proxies defaults: %q %+v %v", cfg.AdminAddr, cfg.Limits, cfg.TrustedProxies)
	}
	if r := cfg.Redis; r.PoolSize != 64 || r.PoolTimeout != 500*time.Millisecond || r.MinIdleConns != 4 {
		t.Fatalf("redis pool defaults: %+v", r)
	}
}

func TestInvalidConfigsAreRefusedWithReasons(t *testing.T) {
	for name, c := range map[string]struct{ body, want string }{
		"unknown key":    {"tokens: {dev_key_dir: /x}\ngrcp_addr: x\n", "grcp_addr"},
		"no signing key": {"{}\n", "signing_key_file"},
		"duplicate conn": {"tokens: {dev_key_dir: /x}\nconnections: [{name: a}, {name: a}]\n", "defined twice"},
		"bad conn name":  {"tokens: {dev_key_dir: /x}\nconnections: [{name: 'a b'}]\n", "must match"},
		"no address":     {"tokens: {dev_key_dir: /x}\nconnections: [{name: a, import_mode: true, legacy_enabled: true, connector: {tls: {insecure: true}}}]\n", "connector.address"},
		"implicit plain": {"tokens: {dev_key_dir: /x}\nconnections: [{name: a, import_mode: true, legacy_enabled: true, connector: {address: 'x:1'}}]\n", "insecure: true"},
		"weak argon2":    {"tokens: {dev_key_dir: /x}\npassword: {threads: 0}\n", "threads"},
		"policy":         {"tokens: {dev_key_dir: /x}\npassword: {policy: {min_length: 0}}\n", "min_length"},
		"webhook secret": {"tokens: {dev_key_dir: /x}\npassword_reset: {webhook: {url: 'https://x'}}\n", "webhook.secret"},
		"webhook url":    {"tokens: {dev_key_dir: /x}\npassword_reset: {webhook: {url: 'ftp://x', secret: {env: HOME}}}\n", "webhook.url"},
		"no limits":      {"tokens: {dev_key_dir: /x}\nlimits: {max_in_flight: 0}\n", "max_in_flight"},
		"no deadline":    {"tokens: {dev_key_dir: /x}\nlimits: {default_deadline: 0s}\n", "default_deadline"},
		"redis pool":     {"tokens: {dev_key_dir: /x}\nredis: {pool_size: 2, min_idle_conns: 3}\n", "min_idle_conns"},
		"admin mtls":     {"tokens: {dev_key_dir: /x}\nadmin: {tls: {client_ca_file: /ca.pem}}\n", "client_ca_file"},
		"admin addr":     {"tokens: {dev_key_dir: /x}\nadmin_addr: nope\n", "admin_addr"},
		"unset env":      {"tokens: {dev_key_dir: ${TRICKLE_TEST_UNSET_VAR}}\n", "TRICKLE_TEST_UNSET_VAR"},
	} {
		_, err := config.Load(write(t, c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", name, err, c.want)
		}
	}
}

func TestCutOverNeedsNoConnectorAddress(t *testing.T) {
	_, err := config.Load(write(t, "tokens: {dev_key_dir: /x}\nconnections: [{name: a, import_mode: true, legacy_enabled: false}]\n"))
	if err != nil {
		t.Fatalf("a cut-over connection needs no connector: %v", err)
	}
}
