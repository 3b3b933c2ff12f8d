package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRun starts the local runner as make run does (embedded FerretDB,
// in-process lock, demo connector over SQLite) on free ports, logs in as
// every demo user over REST twice (migrated, then local), reads the
// migration status and the metrics, stops it, and starts it again on the
// same data dir: the users are still there.
func TestRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	out := startRun(t, dir, false, func(t *testing.T, d *Demo) {
		for _, u := range demoUsers {
			if got := login(t, d, u.Email, u.Password, http.StatusOK); !got.Migrated {
				t.Errorf("%s: first login: migrated false, want true", u.Email)
			} else if got.User.Email != u.Email || got.AccessToken == "" {
				t.Errorf("%s: first login: user %+v", u.Email, got.User)
			}
		}
		for _, u := range demoUsers {
			if got := login(t, d, u.Username, u.Password, http.StatusOK); got.Migrated {
				t.Errorf("%s: second login: migrated true, want false", u.Username)
			}
		}
		login(t, d, demoUsers[0].Email, "wrong password", http.StatusUnauthorized)
		login(t, d, "nobody@example.com", "password", http.StatusUnauthorized)

		// The user was copied whole, metadata included.
		ada := login(t, d, demoUsers[0].Email, demoUsers[0].Password, http.StatusOK)
		if ada.User.AppMetadata["plan"] != "pro" || ada.User.UserMetadata["theme"] != "dark" || !ada.User.EmailVerified {
			t.Errorf("ada's profile: %+v", ada.User)
		}

		checkStatus(t, d, int64(len(demoUsers)))
		checkMetrics(t, d)
	})
	for _, want := range []string{"curl -s http://", "grpcurl -plaintext", "/v1/connections/legacy-demo/migration", "authorization: Bearer ", demoUsers[3].Password} {
		if !strings.Contains(out, want) {
			t.Errorf("printed commands lack %q:\n%s", want, out)
		}
	}

	// Again on the same data dir: FerretDB's files, the legacy database and
	// the secrets are reused.
	startRun(t, dir, false, func(t *testing.T, d *Demo) {
		if got := login(t, d, demoUsers[1].Email, demoUsers[1].Password, http.StatusOK); got.Migrated {
			t.Error("after a restart: migrated again")
		}
	})

	// -reset starts afresh but leaves files it did not make.
	other := filepath.Join(dir, "certs", "ca.crt")
	if err := os.MkdirAll(filepath.Dir(other), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	startRun(t, dir, true, func(t *testing.T, d *Demo) {
		if got := login(t, d, demoUsers[1].Email, demoUsers[1].Password, http.StatusOK); !got.Migrated {
			t.Error("after -reset: not migrated again")
		}
	})
	if _, err := os.Stat(other); err != nil {
		t.Errorf("-reset deleted a file it did not make: %v", err)
	}
}

// startRun runs the demo until check returns, then stops it as Ctrl-C
// does, and returns what it printed.
func startRun(t *testing.T, dir string, reset bool, check func(*testing.T, *Demo)) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, logs syncBuffer
	readyc := make(chan *Demo, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, Options{
			DataDir: dir, Reset: reset, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", OpsAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
			LogLevel: "warn", Log: &logs, Out: &out,
		}, func(d *Demo) { readyc <- d })
	}()
	select {
	case d := <-readyc:
		check(t, d)
	case err := <-done:
		t.Fatalf("run: %v\n%s", err, logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("not ready after 20s\n%s", logs.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after Ctrl-C: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("did not stop within 15s of Ctrl-C")
	}
	if t.Failed() {
		t.Logf("service logs:\n%s", logs.String())
	}
	return out.String()
}

type loginResponse struct {
	AccessToken string `json:"access_token"`
	Migrated    bool   `json:"migrated"`
	User        struct {
		Email         string         `json:"email"`
		EmailVerified bool           `json:"email_verified"`
		UserMetadata  map[string]any `json:"user_metadata"`
		AppMetadata   map[string]any `json:"app_metadata"`
	} `json:"user"`
}

func login(t *testing.T, d *Demo, identifier, password string, wantCode int) loginResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"connection": d.Connection, "identifier": identifier, "password": password})
	var r loginResponse
	call(t, http.MethodPost, "http://"+d.HTTPAddr+"/v1/login", "", body, wantCode, &r)
	return r
}

func checkStatus(t *testing.T, d *Demo, migrated int64) {
	t.Helper()
	var r struct {
		Status struct {
			MigratedUsers   int64   `json:"migrated_users,string"`
			LegacyTotal     int64   `json:"legacy_total,string"`
			PercentMigrated float64 `json:"percent_migrated"`
		} `json:"status"`
	}
	url := "http://" + d.AdminAddr + "/v1/connections/" + d.Connection + "/migration"
	call(t, http.MethodGet, url, "", nil, http.StatusUnauthorized, nil)
	call(t, http.MethodGet, url, d.AdminKey, nil, http.StatusOK, &r)
	if r.Status.MigratedUsers != migrated || r.Status.LegacyTotal != int64(len(demoUsers)) {
		t.Errorf("migration status %+v, want %d migrated of %d", r.Status, migrated, len(demoUsers))
	}
}

// checkMetrics: the families the Grafana dashboard's main panels read are
// served once the demo has seen logins.
func checkMetrics(t *testing.T, d *Demo) {
	t.Helper()
	resp, err := http.Get("http://" + d.OpsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, name := range []string{
		`trickle_logins_total{connection="legacy-demo",outcome="migrated"} 4`,
		`trickle_migrations_total{`,
		`trickle_connector_call_seconds_bucket{`,
		`trickle_migration_users{connection="legacy-demo",origin="migrated"} 4`,
		`trickle_migration_legacy_users{connection="legacy-demo"} 4`,
	} {
		if !bytes.Contains(b, []byte("\n"+name)) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

func call(t *testing.T, method, url, bearer string, body []byte, wantCode int, into any) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantCode {
		t.Fatalf("%s %s: %d %s, want %d", method, url, resp.StatusCode, b, wantCode)
	}
	if into != nil {
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, b)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestYAMLString(t *testing.T) {
	if got := yamlString(`a"b\c` + "\n"); got != `"a\"b\\c\x0a"` {
		t.Errorf("got %s", got)
	}
}

func TestEnsureSecretIsStable(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k")
	a, err := ensureSecret(p)
	if err != nil || len(a) != 48 {
		t.Fatalf("%q %v", a, err)
	}
	b, _ := ensureSecret(p)
	if a != b {
		t.Error("secret changed")
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
}
