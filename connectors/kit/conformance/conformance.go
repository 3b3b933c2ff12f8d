// Package conformance is the test suite every connector passes, over real
// gRPC: a real listener on 127.0.0.1, the kit's server with a bearer token,
// and the connector under test pointed at a real, seeded legacy store.
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, func(t *testing.T) conformance.Fixture { ... })
//	}
//
// setup is called once for the read-only tests and once more for each test
// that breaks the store (unreachable, slow), so it must build a fresh,
// seeded store each time.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/connector"
	"github.com/trickle-auth/trickle/connectors/kit/server"
	"github.com/trickle-auth/trickle/deploy/testenv"
	"github.com/trickle-auth/trickle/proto/connectorerr"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

// Fixture is a connector pointed at a seeded legacy store, and what the
// store holds.
type Fixture struct {
	// Connector is the implementation under test.
	Connector connector.PasswordConnector
	// Users are the seeded users in legacy-id order (the ListUsers order).
	// At least two; at least one must have a non-ASCII password.
	Users []User
	// LoginSharesHash says Login responses carry password_hash.
	LoginSharesHash bool
	// Unreachable makes the legacy store unreachable for the rest of the
	// test (see Proxy.Cut). Nil skips the test, which fails under CI.
	Unreachable func()
	// Slow makes every legacy call take at least d (see Proxy.SetDelay).
	// Nil skips the test, which fails under CI.
	Slow func(d time.Duration)
	// Spellings returns other spellings of id that the store matches to
	// the same user besides letter case (trailing spaces, accents under
	// MySQL's collations). The suite checks that a wrong password under
	// each names the same legacy_id. Nil: none.
	Spellings func(id string) []string
	// AnonymousRefusals says the connector cannot tell which account a
	// Login refusal is for: every refusal is WRONG_PASSWORD without
	// legacy_id (see connector.proto). Leave false when it can.
	AnonymousRefusals bool
}

// User is one seeded user.
type User struct {
	// Identifiers are the ones that must find the user (email, username),
	// as stored; the suite also tries other letter cases.
	Identifiers []string
	Password    string
	// Profile is what Login and GetUser must return, password_hash aside.
	Profile *connectorv1.LegacyProfile
}

const token = "conformance-token"

// callTimeout is generous for -race on a shared machine yet short enough
// for the slow-store test.
const callTimeout = 3 * time.Second

// Run runs the suite. Each subtest reports what the contract requires.
func Run(t *testing.T, setup func(t *testing.T) Fixture) {
	t.Run("Contract", func(t *testing.T) {
		fx := setup(t)
		checkFixture(t, fx)
		c := start(t, fx.Connector, server.Config{})
		t.Run("Auth", func(t *testing.T) { testCallerAuth(t, c, fx) })
		t.Run("Login", func(t *testing.T) { testLogin(t, c, fx) })
		t.Run("GetUser", func(t *testing.T) { testGetUser(t, c, fx) })
		t.Run("Injection", func(t *testing.T) { testInjection(t, c, fx) })
		t.Run("Validation", func(t *testing.T) { testValidation(t, c, fx) })
		t.Run("CountUsers", func(t *testing.T) { testCount(t, c, fx) })
		t.Run("ListUsers", func(t *testing.T) { testList(t, c, fx) })
	})
	t.Run("StoreUnreachable", func(t *testing.T) {
		fx := setup(t)
		if fx.Unreachable == nil {
			skipOrFail(t, "fixture has no Unreachable hook")
		}
		c := start(t, fx.Connector, server.Config{})
		u := fx.Users[0]
		mustLogin(t, c, u.Identifiers[0], u.Password) // warm the pool first
		fx.Unreachable()
		begin := time.Now()
		_, err := c.Login(authed(t), &connectorv1.LoginRequest{Identifier: u.Identifiers[0], Password: u.Password})
		wantCode(t, "Login with the store down", err, codes.Unavailable)
		_, err = c.GetUser(authed(t), &connectorv1.GetUserRequest{Identifier: u.Identifiers[0]})
		wantCode(t, "GetUser with the store down", err, codes.Unavailable)
		if _, ok := fx.Connector.(connector.Counter); ok {
			_, err = c.CountUsers(authed(t), &connectorv1.CountUsersRequest{})
			wantCode(t, "CountUsers with the store down", err, codes.Unavailable)
		}
		if d := time.Since(begin); d > 2*callTimeout+time.Second {
			t.Errorf("answers with the store down took %v", d)
		}
	})
	t.Run("StoreSlow", func(t *testing.T) {
		fx := setup(t)
		if fx.Slow == nil {
			skipOrFail(t, "fixture has no Slow hook")
		}
		const timeout = 500 * time.Millisecond
		c := start(t, fx.Connector, server.Config{CallTimeout: timeout})
		u := fx.Users[0]
		fx.Slow(4 * timeout)
		begin := time.Now()
		_, err := c.Login(authed(t), &connectorv1.LoginRequest{Identifier: u.Identifiers[0], Password: u.Password})
		if code := status.Code(err); code != codes.Unavailable && code != codes.DeadlineExceeded {
			t.Errorf("Login on a slow store: %v, want UNAVAILABLE or DEADLINE_EXCEEDED", err)
		}
		if d := time.Since(begin); d > timeout+time.Second {
			t.Errorf("Login on a slow store answered after %v, call_timeout is %v", d, timeout)
		}
	})
}

func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if testenv.InCI() {
		t.Fatal(why)
	}
	t.Skip(why)
}

func checkFixture(t *testing.T, fx Fixture) {
	t.Helper()
	if fx.Connector == nil || len(fx.Users) < 2 {
		t.Fatal("fixture: need a Connector and at least two users")
	}
	unicode := false
	for _, u := range fx.Users {
		if len(u.Identifiers) == 0 || u.Password == "" || u.Profile == nil {
			t.Fatalf("fixture: user %v needs identifiers, a password and a profile", u.Identifiers)
		}
		for _, r := range u.Password {
			unicode = unicode || r >= utf8.RuneSelf
		}
	}
	if !unicode {
		t.Fatal("fixture: no user has a non-ASCII password")
	}
}

// start serves impl on a real loopback listener and returns a client.
// Zero fields of over take the suite's defaults.
func start(t *testing.T, impl connector.PasswordConnector, over server.Config) connectorv1.LegacyConnectorClient {
	t.Helper()
	var cfg server.Config
	cfg.SetDefaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.Auth.BearerToken = config.SecretLiteral(token)
	cfg.CallTimeout = callTimeout
	cfg.ListPageSize = 2 // exercise paging with a handful of users
	cfg.Log.Level = "error"
	if over.CallTimeout != 0 {
		cfg.CallTimeout = over.CallTimeout
	}
	srv, err := server.New(cfg, impl, nil)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis, nil) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	t.Cleanup(func() { healthOK(t, conn) })
	return connectorv1.NewLegacyConnectorClient(conn)
}

func healthOK(t *testing.T, conn *grpc.ClientConn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Health needs no caller credential, so probes work.
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("health check without credential: %v", err)
	}
}

func authed(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

func wantCode(t *testing.T, what string, err error, want ...codes.Code) {
	t.Helper()
	got := status.Code(err)
	for _, w := range want {
		if got == w {
			return
		}
	}
	t.Errorf("%s: got %v, want %v", what, err, want)
}

func mustLogin(t *testing.T, c connectorv1.LegacyConnectorClient, id, pw string) *connectorv1.LegacyProfile {
	t.Helper()
	r, err := c.Login(authed(t), &connectorv1.LoginRequest{Identifier: id, Password: pw})
	if err != nil {
		t.Fatalf("Login(%q): %v", id, err)
	}
	return r.GetProfile()
}

// sameProfile compares got with want, ignoring password_hash.
func sameProfile(t *testing.T, what string, got, want *connectorv1.LegacyProfile) {
	t.Helper()
	g := proto.CloneOf(got)
	g.PasswordHash = nil
	if !proto.Equal(g, want) {
		t.Errorf("%s: profile\n got  %s\n want %s", what, protojson.Format(g), protojson.Format(want))
	}
}

func caseVariants(s string) []string {
	v := []string{s, strings.ToUpper(s), strings.ToLower(s)}
	if r := []rune(s); len(r) > 0 {
		v = append(v, strings.ToUpper(string(r[:1]))+strings.ToLower(string(r[1:])))
	}
	return v
}

func testCallerAuth(t *testing.T, c connectorv1.LegacyConnectorClient, fx Fixture) {
	u := fx.Users[0]
	req := &connectorv1.LoginRequest{Identifier: u.Identifiers[0], Password: u.Password}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	refused := connectorv1.ErrorReason_ERROR_REASON_CALLER_UNAUTHENTICATED
	_, err := c.Login(ctx, req)
	wantReason(t, "Login without token", err, codes.Unauthenticated, refused, "")
	_, err = c.Login(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token+"x"), req)
	wantReason(t, "Login with a wrong token", err, codes.Unauthenticated, refused, "")
	_, err = c.GetUser(metadata.AppendToOutgoingContext(ctx, "authorization", token), &connectorv1.GetUserRequest{Identifier: u.Identifiers[0]})
	wantReason(t, "GetUser with a token but no Bearer scheme", err, codes.Unauthenticated, refused, "")
	_, err = c.CountUsers(ctx, &connectorv1.CountUsersRequest{})
	wantReason(t, "CountUsers without token", err, codes.Unauthenticated, refused, "")
	s, err := c.ListUsers(ctx, &connectorv1.ListUsersRequest{IncludePasswordHashes: true})
	if err == nil {
		_, err = s.Recv()
	}
	wantReason(t, "ListUsers without token", err, codes.Unauthenticated, refused, "")
}

func testLogin(t *testing.T, c connectorv1.LegacyConnectorClient, fx Fixture) {
	var wrongMsg string
	for _, u := range fx.Users {
		for _, id := range u.Identifiers {
			for _, v := range caseVariants(id) {
				p := mustLogin(t, c, v, u.Password)
				sameProfile(t, fmt.Sprintf("Login(%q)", v), p, u.Profile)
				if fx.LoginSharesHash && p.GetPasswordHash().GetHash() == "" {
					t.Errorf("Login(%q): no password_hash although the fixture shares it", v)
				}
				if !fx.LoginSharesHash && p.GetPasswordHash() != nil {
					t.Errorf("Login(%q): password_hash present although sharing is off", v)
				}
			}
			// Not a whitespace variant: some legacy stores (WordPress) trim.
			pw := []rune(u.Password)
			for _, wrong := range []string{u.Password + "x", "x" + u.Password, string(pw[:len(pw)-1]), strings.ToUpper(u.Password) + "!"} {
				_, err := c.Login(authed(t), &connectorv1.LoginRequest{Identifier: id, Password: wrong})
				wantWrongPassword(t, fmt.Sprintf("Login(%q) with a wrong password", id), err, fx, u)
				wrongMsg = status.Convert(err).Message()
			}
			// Every spelling the store matches names the same account.
			spellings := caseVariants(id)
			if fx.Spellings != nil {
				spellings = append(spellings, fx.Spellings(id)...)
			}
			for _, v := range spellings {
				_, err := c.Login(authed(t), &connectorv1.LoginRequest{Identifier: v, Password: u.Password + "x"})
				wantWrongPassword(t, fmt.Sprintf("Login(%q) with a wrong password", v), err, fx, u)
			}
		}
	}
	_, err := c.Login(authed(t), &connectorv1.LoginRequest{Identifier: "nobody-here@example.invalid", Password: fx.Users[0].Password})
	wantUnknownLogin(t, "Login of an unknown user", err, fx)
	if m := status.Convert(err).Message(); m != wrongMsg {
		t.Errorf("unknown user and wrong password differ: %q vs %q", m, wrongMsg)
	}
}

// reasonOf returns the contract's ErrorInfo detail of err, if any.
func reasonOf(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// wantReason checks the code, the ErrorInfo reason and domain, and the
// legacy_id metadata ("" for none).
func wantReason(t *testing.T, what string, err error, code codes.Code, r connectorv1.ErrorReason, legacyID string) {
	t.Helper()
	if status.Code(err) != code {
		t.Errorf("%s: got %v, want %v", what, err, code)
		return
	}
	info := reasonOf(err)
	if info == nil {
		t.Errorf("%s: %v has no ErrorInfo, want reason %s", what, err, connectorerr.Reason(r))
		return
	}
	if info.GetReason() != connectorerr.Reason(r) || info.GetDomain() != connectorerr.Domain {
		t.Errorf("%s: ErrorInfo %s/%s, want %s/%s", what, info.GetDomain(), info.GetReason(), connectorerr.Domain, connectorerr.Reason(r))
	}
	got, ok := info.GetMetadata()[connectorerr.LegacyIDKey]
	if got != legacyID || (legacyID == "" && ok) {
		t.Errorf("%s: legacy_id %q (present %v), want %q", what, got, ok, legacyID)
	}
}

// wantWrongPassword: refused as WRONG_PASSWORD naming u's account.
func wantWrongPassword(t *testing.T, what string, err error, fx Fixture, u User) {
	t.Helper()
	id := u.Profile.GetLegacyId()
	if fx.AnonymousRefusals {
		id = ""
	}
	wantReason(t, what, err, codes.Unauthenticated, connectorv1.ErrorReason_ERROR_REASON_WRONG_PASSWORD, id)
}

// wantUnknownLogin: refused as UNKNOWN_USER (or anonymously, when the
// connector cannot tell), never naming an account.
func wantUnknownLogin(t *testing.T, what string, err error, fx Fixture) {
	t.Helper()
	r := connectorv1.ErrorReason_ERROR_REASON_UNKNOWN_USER
	if fx.AnonymousRefusals {
		r = connectorv1.ErrorReason_ERROR_REASON_WRONG_PASSWORD
	}
	wantReason(t, what, err, codes.Unauthenticated, r, "")
}

func testGetUser(t *testing.T, c connectorv1.LegacyConnectorClient, fx Fixture) {
	for _, u := range fx.Users {
		for _, id := range u.Identifiers {
			for _, v := range caseVariants(id) {
				r, err := c.GetUser(authed(t), &connectorv1.GetUserRequest{Identifier: v})
				if err != nil {
					t.Errorf("GetUser(%q): %v", v, err)
					continue
				}
				if r.GetProfile().GetPasswordHash() != nil {
					t.Errorf("GetUser(%q) returned a password hash", v)
				}
				sameProfile(t, fmt.Sprintf("GetUser(%q)", v), r.GetProfile(), u.Profile)
			}
		}
	}
	_, err := c.GetUser(authed(t), &connectorv1.GetUserRequest{Identifier: "nobody-here@example.invalid"})
	wantReason(t, "GetUser of an unknown user", err, codes.NotFound, connectorv1.ErrorReason_ERROR_REASON_UNKNOWN_USER, "")
}

// injections are identifiers a naive connector would match against
// everything (SQL, NoSQL, LIKE patterns, truncation at NUL).
func injections(fx Fixture) []string {
	ids := []string{
		"' OR 1=1 --", "' OR '1'='1", `" OR ""="`, "admin'--", "'; DROP TABLE users; --",
		`{"$gt": ""}`, `{"$ne": null}`, "%", "_", "%%", "*", `\`, "' OR 1=1 LIMIT 1 -- ",
		") OR (1=1", "1 UNION SELECT 1", "\x00", "a\x00b",
	}
	for _, u := range fx.Users {
		id := []rune(u.Identifiers[0])
		head, tail, last := string(id[:len(id)-1]), string(id[1:]), string(id)
		ids = append(ids, last+"%", "%"+tail, "_"+tail, head+"_", head+"%", last+"\x00", last+"\x00' OR 1=1 --", last+"' --")
	}
	return ids
}

func testInjection(t *testing.T, c connectorv1.LegacyConnectorClient, fx Fixture) {
	for _, id := range injections(fx) {
		for _, u := range fx.Users {
			_, err := c.Login(authed(t), &connectorv1.LoginRequest{Identifier: id, Password: u.Password})
			if status.Code(err) != codes.InvalidArgument {
				// Matching no account, it names none.
				wantUnknownLogin(t, fmt.Sprintf("Login(%q)", id), err, fx)
			}
		}
		_, err := c.GetUser(authed(t), &connectorv1.GetUserRequest{Identifier: id})
		if status.Code(err) != codes.InvalidArgument {
			wantReason(t, fmt.Sprintf("GetUser(%q)", id), err, codes.NotFound, connectorv1.ErrorReason_ERROR_REASON_UNKNOWN_USER, "")
		}
	}
}

func testValidation(t *testing.T, c connectorv1.LegacyConnectorClient, fx Fixture) {
	u := fx.Users[0]
	for _, id := range []string{"", " ", "\t"} {
		_, err := c.Login(authed(t), &connectorv1.LoginRequest{Identifier: id, Password: u.Password})
		wantCode(t, fmt.Sprintf("Login(%q)", id), err, codes.InvalidArgument)
		_, err = c.GetUser(authed(t), &connectorv1.GetUserRequest{Identifier: id})
		wantCode(t, fmt.Sprintf("GetUser(%q)", id), err, codes.InvalidArgument)
	}
	_, err := c.Login(authed(t), &connectorv1.LoginRequest{Identifier: u.Identifiers[0], Password: strings.Repeat("a", 1025)})
	wantCode(t, "Login with a 1025-byte password", err, codes.InvalidArgument)
	_, err = c.Login(authed(t), &connectorv1.LoginRequest{Identifier: u.Identifiers[0], Password: strings.Repeat("é", 513)})
	wantCode(t, "Login with a 1026-byte unicode password", err, codes.InvalidArgument)
	_, err = c.Login(authed(t), &connectorv1.LoginRequest{Identifier: u.Identifiers[0], Password: strings.Repeat("a", 1024)})
	wantWrongPassword(t, "Login with a wrong 1024-byte password", err, fx, u)
	_, err = c.Login(authed(t), &connectorv1.LoginRequest{Identifier: u.Identifiers[0]})
	wantCode(t, "Login with an empty password", err, codes.InvalidArgument)
	_, err = c.GetUser(authed(t), &connectorv1.GetUserRequest{Identifier: strings.Repeat("a", 4096)})
	wantCode(t, "GetUser with a 4 KiB identifier", err, codes.InvalidArgument)
}

func testCount(t *testing.T, c connectorv1.LegacyConnectorClient, fx Fixture) {
	r, err := c.CountUsers(authed(t), &connectorv1.CountUsersRequest{})
	if _, ok := fx.Connector.(connector.Counter); !ok {
		wantCode(t, "CountUsers on a connector without Counter", err, codes.Unimplemented)
		return
	}
	if err != nil {
		t.Fatalf("CountUsers: %v", err)
	}
	if r.GetCount() != int64(len(fx.Users)) {
		t.Errorf("CountUsers = %d, want %d", r.GetCount(), len(fx.Users))
	}
}

func list(t *testing.T, c connectorv1.LegacyConnectorClient, req *connectorv1.ListUsersRequest) ([]*connectorv1.LegacyProfile, error) {
	s, err := c.ListUsers(authed(t), req)
	if err != nil {
		return nil, err
	}
	var out []*connectorv1.LegacyProfile
	for {
		r, err := s.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		out = append(out, r.GetProfile())
	}
}

func testList(t *testing.T, c connectorv1.LegacyConnectorClient, fx Fixture) {
	if _, ok := fx.Connector.(connector.Lister); !ok {
		_, err := list(t, c, &connectorv1.ListUsersRequest{})
		wantCode(t, "ListUsers on a connector without Lister", err, codes.Unimplemented)
		return
	}
	check := func(what string, got []*connectorv1.LegacyProfile, want []User, hashes bool) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %d users, want %d", what, len(got), len(want))
			return
		}
		for i := range want {
			sameProfile(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i].Profile)
			if hashes && got[i].GetPasswordHash().GetHash() == "" {
				t.Errorf("%s[%d]: no password hash", what, i)
			}
			if !hashes && got[i].GetPasswordHash() != nil {
				t.Errorf("%s[%d]: password hash without include_password_hashes", what, i)
			}
		}
	}
	all, err := list(t, c, &connectorv1.ListUsersRequest{})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	check("ListUsers", all, fx.Users, false)
	withHashes, err := list(t, c, &connectorv1.ListUsersRequest{IncludePasswordHashes: true})
	if err != nil {
		t.Fatalf("ListUsers with hashes: %v", err)
	}
	check("ListUsers with hashes", withHashes, fx.Users, true)
	for i := range fx.Users {
		after := fx.Users[i].Profile.GetLegacyId()
		got, err := list(t, c, &connectorv1.ListUsersRequest{StartAfterLegacyId: after})
		if err != nil {
			t.Fatalf("ListUsers after %q: %v", after, err)
		}
		check("ListUsers after "+after, got, fx.Users[i+1:], false)
	}
	for limit := 1; limit <= len(fx.Users)+1; limit++ {
		got, err := list(t, c, &connectorv1.ListUsersRequest{Limit: int64(limit)})
		if err != nil {
			t.Fatalf("ListUsers limit %d: %v", limit, err)
		}
		check(fmt.Sprintf("ListUsers limit %d", limit), got, fx.Users[:min(limit, len(fx.Users))], false)
	}
	got, err := list(t, c, &connectorv1.ListUsersRequest{StartAfterLegacyId: fx.Users[0].Profile.GetLegacyId(), Limit: 1, IncludePasswordHashes: true})
	if err != nil {
		t.Fatalf("ListUsers resume+limit: %v", err)
	}
	check("ListUsers resume+limit", got, fx.Users[1:2], true)
	_, err = list(t, c, &connectorv1.ListUsersRequest{Limit: -1})
	wantCode(t, "ListUsers with a negative limit", err, codes.InvalidArgument)
	_, err = list(t, c, &connectorv1.ListUsersRequest{StartAfterLegacyId: "' OR 1=1 --"})
	wantCode(t, "ListUsers after an injection string", err, codes.InvalidArgument, codes.OK)
}
