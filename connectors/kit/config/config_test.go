package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trickle-auth/trickle/connectors/kit/config"
)

type sample struct {
	Name    string        `yaml:"name"`
	Timeout time.Duration `yaml:"timeout"`
	Token   config.Secret `yaml:"token"`
	Port    int           `yaml:"port"`
}

func (s *sample) SetDefaults() { s.Port = 7070 }

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadExpandsEnvAndKeepsDollars(t *testing.T) {
	t.Setenv("TEST_NAME", "alpha")
	var s sample
	err := config.Load(write(t, "name: ${TEST_NAME}-${MISSING_OK:-x}\ntimeout: 3s\ntoken: $2y$10$abc\n"), &s)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "alpha-x" || s.Timeout != 3*time.Second || s.Port != 7070 {
		t.Fatalf("got %+v", s)
	}
	if v, _ := s.Token.Value(); v != "$2y$10$abc" {
		t.Fatalf("literal with $ changed: %q", v)
	}
}

func TestLoadRejectsUnknownKeysAndUnsetEnv(t *testing.T) {
	var s sample
	if err := config.Load(write(t, "nmae: x\n"), &s); err == nil || !strings.Contains(err.Error(), "nmae") {
		t.Fatalf("unknown key: %v", err)
	}
	if err := config.Load(write(t, "name: ${SURELY_UNSET_VAR_1}\n"), &s); err == nil || !strings.Contains(err.Error(), "SURELY_UNSET_VAR_1") {
		t.Fatalf("unset env: %v", err)
	}
	if err := config.Load(write(t, ""), &s); err != nil {
		t.Fatalf("empty file: %v", err)
	}
}

func TestSecretSources(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "tok")
	if err := os.WriteFile(f, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_TOKEN", "from-env")
	for body, want := range map[string]string{
		"token: s3cr3t\n":             "s3cr3t",
		"token: {env: TEST_TOKEN}\n":  "from-env",
		"token: {file: " + f + "}\n":  "from-file",
		"token:\n  file: " + f + "\n": "from-file",
	} {
		var s sample
		if err := config.Load(write(t, body), &s); err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		got, err := s.Token.Value()
		if err != nil || got != want {
			t.Fatalf("%q: got %q, %v", body, got, err)
		}
		if strings.Contains(s.Token.String(), want) && want != "from-env" {
			t.Fatalf("String leaks the value: %s", s.Token)
		}
	}
	var s sample
	if err := config.Load(write(t, "token: {env: A, file: B}\n"), &s); err == nil {
		t.Fatal("both env and file accepted")
	}
	if _, err := config.SecretEnv("SURELY_UNSET_VAR_2").Value(); err == nil {
		t.Fatal("unset env secret resolved")
	}
}
