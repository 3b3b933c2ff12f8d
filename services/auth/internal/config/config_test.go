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
