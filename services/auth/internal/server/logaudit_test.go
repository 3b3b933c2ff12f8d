package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/server"
)

// syncBuffer is a log sink shared by the server's goroutines.
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

// startLogged is env.start with the server logging into log.
func (e *env) startLogged(cfg *config.Config, log *slog.Logger) *server.Server {
	t := e.t
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv
}

// I6: every flow that handles a secret runs with the server's logger at
// debug level (JSON, as in production) and no log line may contain a
// password, a password hash (or its salt or key), a reset ticket, the
// admin key or the connector token. Failures are included: their errors
// are logged too.
func TestLogsNeverContainSecrets(t *testing.T) {
	e := newEnv(t)
	alanPW := legacyUser(e, "2001", "alan")
	maryPW := legacyUser(e, "2002", "mary")
	var tickets []string
	var hookMu sync.Mutex
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Ticket string `json:"ticket"`
		}
		_ = json.NewDecoder(r.Body).Decode(&ev)
		hookMu.Lock()
		tickets = append(tickets, ev.Ticket)
		hookMu.Unlock()
	}))
	defer hook.Close()
	const connectorToken, webhookSecret = "connector-token-4f1d9a", "webhook-secret-77c2e0"
	cfg := e.config()
	cfg.Admin.APIKey = kitconfig.SecretLiteral(adminKey)
	cfg.Connections[0].Connector.Token = kitconfig.SecretLiteral(connectorToken)
	cfg.PasswordReset.Webhook.URL = hook.URL
	cfg.PasswordReset.Webhook.Secret = kitconfig.SecretLiteral(webhookSecret)
	cfg.Log.Level = "debug"
	logs := &syncBuffer{}
	srv := e.startLogged(cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	client, mgmt := authClient(t, srv), mgmtClient(t, srv)
	ctx := context.Background()
	base := "http://" + srv.HTTPAddr()
	secrets := []string{gracePW, alanPW, maryPW, adminKey, connectorToken, webhookSecret}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	login := func(ident, pw string) error {
		_, err := client.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: ident, Password: pw})
		return err
	}

	// Login: first (migration), migrated, wrong passwords of every kind,
	// bad input, over gRPC and REST.
	must("first login", login("grace@example.com", gracePW))
	must("migrated login", login("grace", gracePW))
	wrong := []string{"wrong-password-for-grace", "wrong-password-for-alan", "wrong-password-for-nobody", "bad\x00password-123"}
	secrets = append(secrets, wrong...)
	for i, ident := range []string{"grace", "alan", "nobody@example.com", "grace"} {
		if err := login(ident, wrong[i]); status.Code(err) != codes.Unauthenticated && status.Code(err) != codes.InvalidArgument {
			t.Fatalf("wrong password %d: %v", i, err)
		}
	}
	if code, _ := postJSON(t, base+"/v1/login", map[string]string{"connection": "legacy", "identifier": "alan", "password": alanPW}); code != http.StatusOK {
		t.Fatalf("REST first login: %d", code)
	}

	// Sign-up, self-service reset (ticket through the webhook) and confirm.
	const signupPW, resetPW, operatorPW = "sign-up-password-93ad", "reset-password-5b1e0", "operator-reset-pw-c4d2"
	secrets = append(secrets, signupPW, resetPW, operatorPW)
	su, err := client.SignUp(ctx, &authv1.SignUpRequest{Connection: "legacy", Email: "new@example.com", Password: signupPW})
	must("sign-up", err)
	_, err = client.RequestPasswordReset(ctx, &authv1.RequestPasswordResetRequest{Connection: "legacy", Identifier: "new@example.com"})
	must("reset request", err)
	waitFor(t, "the reset webhook", func() bool { hookMu.Lock(); defer hookMu.Unlock(); return len(tickets) == 1 })
	_, err = client.ResetPassword(ctx, &authv1.ResetPasswordRequest{Ticket: tickets[0], NewPassword: resetPW})
	must("reset confirm", err)
	_, err = client.ResetPassword(ctx, &authv1.ResetPasswordRequest{Ticket: tickets[0], NewPassword: resetPW})
	if status.Code(err) == codes.OK {
		t.Fatal("a used ticket worked twice")
	}
	// Operator ticket for a user still only in the legacy store (creates
	// the user from GetUser with the new password).
	tk, err := mgmt.CreatePasswordResetTicket(asAdmin(adminKey), &authv1.CreatePasswordResetTicketRequest{Connection: "legacy", Identifier: "mary"})
	must("operator ticket", err)
	_, err = client.ResetPassword(ctx, &authv1.ResetPasswordRequest{Ticket: tk.GetTicket(), NewPassword: operatorPW})
	must("operator reset", err)
	tickets = append(tickets, tk.GetTicket())
	must("login after reset", login("new@example.com", resetPW))

	// Management: update over gRPC and REST, a wrong admin key.
	md, _ := structpb.NewStruct(map[string]any{"theme": "dark"})
	_, err = mgmt.UpdateUser(asAdmin(adminKey), &authv1.UpdateUserRequest{UserId: su.GetUser().GetUserId(),
		User: &authv1.User{Name: "New Name", UserMetadata: md}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name", "user_metadata"}}})
	must("update", err)
	if code, _ := rest(t, "PATCH", "http://"+srv.AdminAddr()+"/v1/users/"+su.GetUser().GetUserId(), adminKey, map[string]any{"nickname": "nn"}); code != http.StatusOK {
		t.Fatalf("REST update: %d", code)
	}
	if code, _ := rest(t, "GET", "http://"+srv.AdminAddr()+"/v1/users", adminKey+"-wrong", nil); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Fatalf("wrong admin key: %d", code)
	}

	// Every hash in the store, and its salt and key.
	cur, err := e.db(t).Collection("users").Find(ctx, bson.D{})
	must("read users", err)
	var docs []bson.M
	must("decode users", cur.All(ctx, &docs))
	if len(docs) != 4 {
		t.Fatalf("%d users, want 4 (grace, alan, new, mary)", len(docs))
	}
	for _, d := range docs {
		h, _ := d["password_hash"].(string)
		secrets = append(secrets, h)
		for _, part := range strings.Split(h, "$") {
			if len(part) >= 16 && !strings.Contains(part, "=") {
				secrets = append(secrets, part)
			}
		}
	}
	secrets = append(secrets, tickets...)

	out := logs.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 15 || !strings.Contains(out, `"msg":"user migrated"`) {
		t.Fatalf("the flows logged only %d lines: the audit would prove nothing:\n%s", len(lines), out)
	}
	for _, line := range lines {
		if !json.Valid([]byte(line)) {
			t.Errorf("not a JSON log line: %s", line)
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(line, s) {
				t.Errorf("log line contains a secret (%.6s…): %s", s, line)
			}
		}
		if strings.Contains(line, "$argon2id$") || strings.Contains(line, "$2y$") || strings.Contains(line, "$2a$") {
			t.Errorf("log line contains a password hash: %s", line)
		}
	}
}
