package server_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/connectortest"
)

// Ten wrong passwords block the (connection, identifier, IP); the legacy
// store stops seeing attempts for an unmigrated user; REST answers 429 with
// Retry-After; an admin unblock lets the user in again.
func TestBruteForceBlocksUntilAdminUnblocks(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.Admin.APIKey = kitconfig.SecretLiteral(adminKey)
	srv := e.start(cfg)
	client := authClient(t, srv)
	ctx := context.Background()
	login := func(pw string) error {
		_, err := client.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "grace@example.com", Password: pw})
		return err
	}

	attempts := 0
	for ; attempts < 20; attempts++ {
		err := login("guess-" + strconv.Itoa(attempts))
		if status.Code(err) == codes.ResourceExhausted {
			break
		}
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("attempt %d: %v", attempts, err)
		}
	}
	if attempts != 10 {
		t.Fatalf("blocked after %d failures, want 10", attempts)
	}
	legacyCalls := e.legacy.LoginCalls.Load()
	if legacyCalls != 10 {
		t.Fatalf("legacy Login calls = %d, want 10", legacyCalls)
	}
	// Blocked: even the right password is refused, before any legacy call.
	err := login("pa55-wörd")
	st, _ := status.FromError(err)
	if st.Code() != codes.ResourceExhausted {
		t.Fatalf("right password while blocked: %v", err)
	}
	var hasRetry bool
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay().AsDuration() > 0 {
			hasRetry = true
		}
	}
	if !hasRetry {
		t.Fatal("RESOURCE_EXHAUSTED without a RetryInfo detail")
	}
	if e.legacy.LoginCalls.Load() != legacyCalls {
		t.Fatal("a blocked attempt reached the legacy store")
	}
	resp, err := http.Post("http://"+srv.HTTPAddr()+"/v1/login", "application/json",
		strings.NewReader(`{"connection":"legacy","identifier":"grace@example.com","password":"pa55-wörd"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("REST while blocked: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	// Another identifier from the same IP is not blocked: migrate alan via
	// a second legacy user, then unblock grace through the management API
	// once she exists in the store.
	e.legacy.Add(connectortest.User{Password: "enigma-1912", Profile: &connectorv1.LegacyProfile{LegacyId: "1002", Email: "alan@example.com", Username: "alan"}})
	if _, err := client.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "alan", Password: "enigma-1912"}); err != nil {
		t.Fatalf("other identifier from the same IP: %v", err)
	}
	// Grace is not in the store (never migrated); an operator reset or the
	// block's expiry frees her. Migrate her by ticket, then unblock by id.
	mgmt := mgmtClient(t, srv)
	tk, err := mgmt.CreatePasswordResetTicket(asAdmin(adminKey), &authv1.CreatePasswordResetTicketRequest{Connection: "legacy", Identifier: "grace@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	reset, err := client.ResetPassword(ctx, &authv1.ResetPasswordRequest{Ticket: tk.GetTicket(), NewPassword: "a-new-long-password"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mgmt.UnblockUser(asAdmin(adminKey), &authv1.UnblockUserRequest{UserId: reset.GetUserId()}); err != nil {
		t.Fatal(err)
	}
	if err := login("a-new-long-password"); err != nil {
		t.Fatalf("after admin unblock: %v", err)
	}
}
