package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/deploy/testenv/mongotest"
	"github.com/trickle-auth/trickle/deploy/testenv/redistest"
	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/connectortest"
	"github.com/trickle-auth/trickle/services/auth/internal/server"
)

const adminKey = "test-admin-key-0123456789"

// mgmtClient talks to the admin listener, the only one serving the
// ManagementService.
func mgmtClient(t *testing.T, srv *server.Server) authv1.ManagementServiceClient {
	conn, err := grpc.NewClient(srv.AdminAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return authv1.NewManagementServiceClient(conn)
}

func asAdmin(key string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+key)
}

func rest(t *testing.T, method, url, key string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func wantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("got %v, want %v", err, code)
	}
}

func TestManagementAPIOverGRPCAndREST(t *testing.T) {
	e := newEnv(t)
	e.legacy.Add(connectortest.User{Password: "alan-pw", Profile: &connectorv1.LegacyProfile{LegacyId: "1002", Email: "alan@example.com", Username: "alan"}})
	cfg := e.config()
	cfg.Admin.APIKey = kitconfig.SecretLiteral(adminKey)
	cfg.Status.CacheTTL = 0
	srv := e.start(cfg)
	auth, mgmt := authClient(t, srv), mgmtClient(t, srv)
	base, public := "http://"+srv.AdminAddr(), "http://"+srv.HTTPAddr()
	ctx := context.Background()

	res, err := auth.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "grace", Password: "pa55-wörd"})
	if err != nil {
		t.Fatal(err)
	}
	id := res.GetUser().GetUserId()

	// Admin credential: required on ManagementService only.
	_, err = mgmt.GetUser(ctx, &authv1.GetUserRequest{UserId: id})
	wantCode(t, err, codes.Unauthenticated)
	_, err = mgmt.GetUser(asAdmin("wrong-key"), &authv1.GetUserRequest{UserId: id})
	wantCode(t, err, codes.Unauthenticated)
	got, err := mgmt.GetUser(asAdmin(adminKey), &authv1.GetUserRequest{UserId: id})
	if err != nil || got.GetUser().GetEmail() != "grace@example.com" {
		t.Fatalf("GetUser: %v, %v", got, err)
	}
	_, err = mgmt.GetUser(asAdmin(adminKey), &authv1.GetUserRequest{UserId: "nope"})
	wantCode(t, err, codes.NotFound)
	if code, _ := rest(t, "GET", base+"/v1/users/"+id, "", nil); code != http.StatusUnauthorized {
		t.Fatalf("REST without the key: %d, want 401", code)
	}

	// PATCH over REST: the mask comes from the body; metadata merges by
	// top-level key.
	code, body := rest(t, "PATCH", base+"/v1/users/"+id, adminKey, map[string]any{"name": "G. Hopper", "user_metadata": map[string]any{"theme": "dark"}})
	if code != http.StatusOK {
		t.Fatalf("PATCH: %d %v", code, body)
	}
	u := body["user"].(map[string]any)
	md := u["user_metadata"].(map[string]any)
	if u["name"] != "G. Hopper" || md["theme"] != "dark" || md["locale"] != "de" || u["email"] != "grace@example.com" {
		t.Fatalf("after PATCH: %v", u)
	}
	// Alan's email belongs to another legacy user: refused, 409.
	code, body = rest(t, "PATCH", base+"/v1/users/"+id, adminKey, map[string]any{"email": "alan@example.com"})
	if code != http.StatusConflict || !strings.Contains(fmt.Sprint(body["message"]), "legacy store") {
		t.Fatalf("PATCH to a legacy user's email: %d %v", code, body)
	}
	// Unknown mask paths and bad values are INVALID_ARGUMENT.
	_, err = mgmt.UpdateUser(asAdmin(adminKey), &authv1.UpdateUserRequest{UserId: id, User: &authv1.User{}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"password_hash"}}})
	wantCode(t, err, codes.InvalidArgument)
	_, err = mgmt.UpdateUser(asAdmin(adminKey), &authv1.UpdateUserRequest{UserId: id, User: &authv1.User{Email: "nope"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"email"}}})
	wantCode(t, err, codes.InvalidArgument)
	up, err := mgmt.UpdateUser(asAdmin(adminKey), &authv1.UpdateUserRequest{UserId: id, User: &authv1.User{Email: "Grace.Hopper@example.com"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"email"}}})
	if err != nil || up.GetUser().GetEmail() != "grace.hopper@example.com" {
		t.Fatalf("email change: %v %v", up, err)
	}

	// A second user, then list with paging and filters.
	if _, err := auth.SignUp(ctx, &authv1.SignUpRequest{Connection: "legacy", Email: "native@example.com", Password: "a good password"}); err != nil {
		t.Fatal(err)
	}
	p1, err := mgmt.ListUsers(asAdmin(adminKey), &authv1.ListUsersRequest{Connection: "legacy", PageSize: 1})
	if err != nil || len(p1.GetUsers()) != 1 || p1.GetNextPageToken() == "" || p1.GetUsers()[0].GetEmail() != "native@example.com" {
		t.Fatalf("page 1: %v %v", p1, err)
	}
	p2, err := mgmt.ListUsers(asAdmin(adminKey), &authv1.ListUsersRequest{Connection: "legacy", PageSize: 1, PageToken: p1.GetNextPageToken()})
	if err != nil || len(p2.GetUsers()) != 1 || p2.GetNextPageToken() != "" || p2.GetUsers()[0].GetUserId() != id {
		t.Fatalf("page 2: %v %v", p2, err)
	}
	_, err = mgmt.ListUsers(asAdmin(adminKey), &authv1.ListUsersRequest{Connection: "other", PageSize: 1, PageToken: p1.GetNextPageToken()})
	wantCode(t, err, codes.InvalidArgument)
	code, body = rest(t, "GET", base+"/v1/users?email_prefix=GRACE&origin=USER_ORIGIN_MIGRATED_ON_LOGIN", adminKey, nil)
	if users, _ := body["users"].([]any); code != http.StatusOK || len(users) != 1 {
		t.Fatalf("search: %d %v", code, body)
	}

	// Migration status over REST: 1 of 2 legacy users migrated.
	code, body = rest(t, "GET", base+"/v1/connections/legacy/migration", adminKey, nil)
	st, _ := body["status"].(map[string]any)
	if code != http.StatusOK || st["migrated_users"] != "1" || st["native_users"] != "1" || st["legacy_total"] != "2" ||
		st["percent_migrated"] != 50.0 || st["legacy_logins_last_hour"] != "1" || st["first_migration_at"] == nil {
		t.Fatalf("status: %d %v", code, body)
	}
	if code, _ := rest(t, "GET", base+"/v1/connections/nope/migration", adminKey, nil); code != http.StatusNotFound {
		t.Fatalf("status of an unknown connection: %d", code)
	}
	metrics := scrape(t, srv)
	for _, want := range []string{
		`trickle_migration_users{connection="legacy",origin="migrated"} 1`,
		`trickle_migration_legacy_users{connection="legacy"} 2`,
		`trickle_migration_percent{connection="legacy"} 50`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// Block stops logins; unblock lets them in again.
	if code, _ := rest(t, "POST", base+"/v1/users/"+id+":block", adminKey, map[string]any{}); code != http.StatusOK {
		t.Fatalf("block: %d", code)
	}
	_, err = auth.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "grace", Password: "pa55-wörd"})
	wantCode(t, err, codes.PermissionDenied)
	if _, err := mgmt.UnblockUser(asAdmin(adminKey), &authv1.UnblockUserRequest{UserId: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "grace", Password: "pa55-wörd"}); err != nil {
		t.Fatalf("login after unblock: %v", err)
	}

	// Delete leaves a tombstone: the legacy user is not re-imported and
	// the legacy store is not even asked.
	if code, _ := rest(t, "DELETE", base+"/v1/users/"+id, adminKey, nil); code != http.StatusOK {
		t.Fatalf("delete: %d", code)
	}
	calls := e.legacy.LoginCalls.Load()
	_, err = auth.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "grace", Password: "pa55-wörd"})
	wantCode(t, err, codes.Unauthenticated)
	if e.legacy.LoginCalls.Load() != calls {
		t.Fatal("a tombstoned username reached the legacy store")
	}
	// The old email is not in the tombstone (it was changed before the
	// delete): the legacy store answers, and the legacy id stops it.
	_, err = auth.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "grace@example.com", Password: "pa55-wörd"})
	wantCode(t, err, codes.Unauthenticated)
	_, err = mgmt.GetUser(asAdmin(adminKey), &authv1.GetUserRequest{UserId: id})
	wantCode(t, err, codes.NotFound)

	// Operator reset ticket for an unmigrated user, redeemed over REST.
	tk, err := mgmt.CreatePasswordResetTicket(asAdmin(adminKey), &authv1.CreatePasswordResetTicketRequest{Connection: "legacy", Identifier: "alan"})
	if err != nil {
		t.Fatal(err)
	}
	code, body = postJSON(t, public+"/v1/password-reset/confirm", map[string]string{"ticket": tk.GetTicket(), "new_password": "alan's new password"})
	if code != http.StatusOK || body["user_id"] == "" {
		t.Fatalf("reset over REST: %d %v", code, body)
	}
	code, _ = postJSON(t, public+"/v1/password-reset/confirm", map[string]string{"ticket": tk.GetTicket(), "new_password": "again, again"})
	if code != http.StatusBadRequest {
		t.Fatalf("second use of a ticket: %d", code)
	}
	if res, err := auth.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "alan", Password: "alan's new password"}); err != nil || res.GetUser().GetOrigin() != authv1.UserOrigin_USER_ORIGIN_MIGRATED_ON_RESET {
		t.Fatalf("login with the reset password: %v %v", res, err)
	}
}

func TestManagementAPIIsClosedWithoutAKey(t *testing.T) {
	e := newEnv(t)
	srv := e.start(e.config())
	if code, _ := rest(t, "GET", "http://"+srv.AdminAddr()+"/v1/connections", "anything", nil); code != http.StatusForbidden {
		t.Fatalf("management without a configured key: %d, want 403", code)
	}
	_, err := mgmtClient(t, srv).ListConnections(asAdmin("anything"), &authv1.ListConnectionsRequest{})
	wantCode(t, err, codes.PermissionDenied)
}

func scrape(t *testing.T, srv *server.Server) string {
	t.Helper()
	resp, err := http.Get("http://" + srv.OpsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// writeConfig writes a whole service configuration file.
func (e *env) writeConfig(path string, legacyEnabled bool, watch string, extra string) {
	e.t.Helper()
	body := fmt.Sprintf(`grpc_addr: 127.0.0.1:0
http_addr: 127.0.0.1:0
ops_addr: 127.0.0.1:0
admin_addr: 127.0.0.1:0
mongodb: {uri: %q, database: %q}
redis: {addr: %q, key_prefix: %q}
password: {memory_kib: 64, time: 1, threads: 1}
tokens: {dev_key_dir: %q}
admin: {api_key: %q}
reload: {watch_interval: %s, grace: 100ms}
connections:
  - name: legacy
    import_mode: true
    legacy_enabled: %v
    connector: {address: %q, timeout: 2s, tls: {insecure: true}}
%s`, mongotest.URI(e.t), e.dbName, redistest.Addr(), e.prefix, e.keyDir, adminKey, watch, legacyEnabled, e.legacy.Addr, extra)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) startFromFile(path string) *server.Server {
	cfg, err := config.Load(path)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	srv.WatchConfig(path)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
	return srv
}

func waitLegacyEnabled(t *testing.T, mgmt authv1.ManagementServiceClient, want bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := mgmt.ListConnections(asAdmin(adminKey), &authv1.ListConnectionsRequest{})
		if err == nil && len(r.GetConnections()) == 1 && r.GetConnections()[0].GetLegacyEnabled() == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("legacy_enabled did not become %v: %v %v", want, r, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) legacyCalls() int64 {
	return e.legacy.LoginCalls.Load() + e.legacy.GetUserCalls.Load() + e.legacy.CountCalls.Load()
}

// Cut-over by editing the file: no restart, and from then on the connector
// is never called, whatever the flow; migrated users keep logging in. A bad
// file is refused and the configuration in force stays.
func TestCutOverByReloadingTheFile(t *testing.T) {
	e := newEnv(t)
	e.legacy.Add(connectortest.User{Password: "alan-pw", Profile: &connectorv1.LegacyProfile{LegacyId: "1002", Email: "alan@example.com"}})
	path := filepath.Join(t.TempDir(), "auth.yaml")
	e.writeConfig(path, true, "50ms", "")
	srv := e.startFromFile(path)
	auth, mgmt := authClient(t, srv), mgmtClient(t, srv)
	ctx := context.Background()
	res, err := auth.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "grace", Password: "pa55-wörd"})
	if err != nil || !res.GetMigrated() {
		t.Fatalf("first login: %v", err)
	}

	e.writeConfig(path, false, "50ms", "")
	waitLegacyEnabled(t, mgmt, false)
	before := e.legacyCalls()

	if _, err := auth.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "grace", Password: "pa55-wörd"}); err != nil {
		t.Fatalf("migrated user after cut-over: %v", err)
	}
	_, err = auth.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "alan", Password: "alan-pw"})
	wantCode(t, err, codes.Unauthenticated)
	if _, err := auth.SignUp(ctx, &authv1.SignUpRequest{Connection: "legacy", Email: "alan@example.com", Password: "a good password"}); err != nil {
		t.Fatalf("sign-up after cut-over: %v", err)
	}
	if _, err := auth.RequestPasswordReset(ctx, &authv1.RequestPasswordResetRequest{Connection: "legacy", Identifier: "nobody@example.com"}); err != nil {
		t.Fatal(err)
	}
	_, err = mgmt.CreatePasswordResetTicket(asAdmin(adminKey), &authv1.CreatePasswordResetTicketRequest{Connection: "legacy", Identifier: "someone-else@example.com"})
	wantCode(t, err, codes.NotFound)
	tk, err := mgmt.CreatePasswordResetTicket(asAdmin(adminKey), &authv1.CreatePasswordResetTicketRequest{Connection: "legacy", Identifier: "grace"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.ResetPassword(ctx, &authv1.ResetPasswordRequest{Ticket: tk.GetTicket(), NewPassword: "grace's new password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := mgmt.UpdateUser(asAdmin(adminKey), &authv1.UpdateUserRequest{UserId: res.GetUser().GetUserId(),
		User: &authv1.User{Email: "hopper@example.com"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"email"}}}); err != nil {
		t.Fatal(err)
	}
	st, err := mgmt.GetMigrationStatus(asAdmin(adminKey), &authv1.GetMigrationStatusRequest{Connection: "legacy"})
	if err != nil || st.GetStatus().LegacyTotal != nil || st.GetStatus().GetLegacyEnabled() || st.GetStatus().GetMigratedUsers() != 1 {
		t.Fatalf("status after cut-over: %v %v", st, err)
	}
	_ = scrape(t, srv) // the gauges must not ask the connector either
	if d := e.legacyCalls() - before; d != 0 {
		t.Fatalf("the connector was called %d times after cut-over", d)
	}

	// A bad file (a connection name that does not validate) is refused;
	// the cut-over stays in force.
	e.writeConfig(path, true, "50ms", "  - name: 'not valid'\n")
	time.Sleep(300 * time.Millisecond)
	waitLegacyEnabled(t, mgmt, false)
	_, err = auth.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "alan@example.com", Password: "alan-pw"})
	wantCode(t, err, codes.Unauthenticated)
	if d := e.legacyCalls() - before; d != 0 {
		t.Fatalf("the refused configuration took effect: %d connector calls", d)
	}
}

func TestReloadOnSIGHUP(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(t.TempDir(), "auth.yaml")
	e.writeConfig(path, false, "0s", "") // no file watching: the signal only
	srv := e.startFromFile(path)
	mgmt := mgmtClient(t, srv)
	waitLegacyEnabled(t, mgmt, false)
	e.writeConfig(path, true, "0s", "")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLegacyEnabled(t, mgmt, true)
	res, err := authClient(t, srv).Login(context.Background(), &authv1.LoginRequest{Connection: "legacy", Identifier: "grace", Password: "pa55-wörd"})
	if err != nil || !res.GetMigrated() {
		t.Fatalf("migration after the reload re-enabled the legacy store: %v", err)
	}
}
