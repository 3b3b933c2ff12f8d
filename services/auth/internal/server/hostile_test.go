package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/password"
)

// rawCodec sends bytes as they are, so a test can put invalid UTF-8 on
// the wire (the proto library refuses to marshal it).
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error)      { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error { *(v.(*[]byte)) = data; return nil }
func (rawCodec) Name() string                       { return "proto" }

func rawLogin(connection, identifier, pw []byte) []byte {
	var b []byte
	for i, f := range [][]byte{connection, identifier, pw} {
		b = protowire.AppendTag(b, protowire.Number(i+1), protowire.BytesType)
		b = protowire.AppendBytes(b, f)
	}
	return b
}

func postRaw(t *testing.T, url, key string, method string, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func jsonBody(kv ...string) []byte {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%q:%s", kv[i], kv[i+1])
	}
	b.WriteString("}")
	return []byte(b.String())
}

// Hostile input over gRPC and REST: every request gets the expected code
// and nothing is written (the store holds exactly the one migrated user,
// unchanged; the legacy store only ever sees literal strings).
func TestHostileInputOverGRPCAndREST(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.Admin.APIKey = kitconfig.SecretLiteral(adminKey)
	cfg.BruteForce.Disabled = true // many failures for one identifier on purpose
	srv := e.start(cfg)
	client, mgmt := authClient(t, srv), mgmtClient(t, srv)
	ctx := context.Background()
	base, admin := "http://"+srv.HTTPAddr(), "http://"+srv.AdminAddr()
	res, err := client.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "grace@example.com", Password: gracePW})
	if err != nil {
		t.Fatal(err)
	}
	graceID := res.GetUser().GetUserId()
	huge := strings.Repeat("x", 1<<20+100)
	long := strings.Repeat("n", 10000)
	pw1025 := strings.Repeat("p", 1025)
	cyrillic := "gr\u0430ce@example.com" // а is U+0430
	fullwidth := "ｇrace@example.com"

	login := []struct {
		name           string
		ident, pw      string
		grpc           codes.Code
		rest           int
		connectorCalls bool
	}{
		{"huge identifier (over the 1 MiB message limit)", huge, "x", codes.ResourceExhausted, http.StatusRequestEntityTooLarge, false},
		{"huge password (over the 1 MiB message limit)", "grace", huge, codes.ResourceExhausted, http.StatusRequestEntityTooLarge, false},
		{"1025-byte password", "grace", pw1025, codes.InvalidArgument, http.StatusBadRequest, false},
		{"1024-byte password", "grace", pw1025[1:], codes.Unauthenticated, http.StatusUnauthorized, false},
		{"10k-char identifier", long, "x", codes.InvalidArgument, http.StatusBadRequest, false},
		{"NUL in identifier", "grace\x00@example.com", gracePW, codes.InvalidArgument, http.StatusBadRequest, false},
		{"NUL in password", "grace", "pa55\x00wörd", codes.InvalidArgument, http.StatusBadRequest, false},
		{"control character in identifier", "grace\n", gracePW, codes.InvalidArgument, http.StatusBadRequest, false},
		{"SQL injection identifier", "' OR '1'='1' --", "x", codes.Unauthenticated, http.StatusUnauthorized, true},
		{"SQL injection password", "grace", "' OR '1'='1' --", codes.Unauthenticated, http.StatusUnauthorized, false},
		{"NoSQL operator as a string", `{"$gt": ""}`, `{"$gt": ""}`, codes.Unauthenticated, http.StatusUnauthorized, true},
		{"$where as a string", `{"$where": "sleep(100)"}`, "x", codes.Unauthenticated, http.StatusUnauthorized, true},
		{"Cyrillic look-alike of a migrated email", cyrillic, gracePW, codes.Unauthenticated, http.StatusUnauthorized, true},
		{"fullwidth look-alike of a migrated email", fullwidth, gracePW, codes.Unauthenticated, http.StatusUnauthorized, true},
		{"right-to-left override", "\u202eelgoog@example.com", gracePW, codes.Unauthenticated, http.StatusUnauthorized, true},
	}
	for _, c := range login {
		t.Run("login/"+c.name, func(t *testing.T) {
			before := e.legacy.LoginCalls.Load()
			_, err := client.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: c.ident, Password: c.pw})
			if status.Code(err) != c.grpc {
				t.Fatalf("gRPC: %v, want %v", err, c.grpc)
			}
			if len(c.pw) >= 8 && strings.Contains(status.Convert(err).Message(), c.pw) {
				t.Fatal("the error quotes the password")
			}
			body := jsonBody("connection", `"legacy"`, "identifier", strconv.Quote(c.ident), "password", strconv.Quote(c.pw))
			if got := postRaw(t, base+"/v1/login", "", "POST", body); got != c.rest {
				t.Fatalf("REST: %d, want %d", got, c.rest)
			}
			if called := e.legacy.LoginCalls.Load() != before; called != c.connectorCalls {
				t.Fatalf("connector called: %v, want %v", called, c.connectorCalls)
			}
		})
	}

	// Invalid UTF-8 on the wire: gRPC's proto decoding refuses it before
	// the handler (grpc-go answers INTERNAL "error unmarshalling request");
	// REST refuses the JSON with 400.
	t.Run("login/invalid UTF-8", func(t *testing.T) {
		cc, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		for _, req := range [][]byte{
			rawLogin([]byte("legacy"), []byte("gr\xffce@example.com"), []byte(gracePW)),
			rawLogin([]byte("legacy"), []byte("grace"), []byte("pa55\xc3")),
		} {
			var resp []byte
			err := cc.Invoke(ctx, "/trickle.auth.v1.AuthService/Login", &req, &resp, grpc.ForceCodec(rawCodec{}))
			if st := status.Convert(err); st.Code() != codes.Internal || !strings.Contains(st.Message(), "unmarshal") {
				t.Fatalf("gRPC: %v, want INTERNAL unmarshalling", err)
			}
		}
		for _, body := range [][]byte{
			[]byte("{\"connection\":\"legacy\",\"identifier\":\"gr\xffce\",\"password\":\"x\"}"),
			[]byte(`{"connection":"legacy","identifier":"grace","password":"\ud800"}`),
		} {
			if got := postRaw(t, base+"/v1/login", "", "POST", body); got != http.StatusBadRequest {
				t.Fatalf("REST %q: %d, want 400", body, got)
			}
		}
	})

	// NoSQL operators as JSON values: a type error, never a query.
	t.Run("login/operator objects in REST bodies", func(t *testing.T) {
		for _, body := range []string{
			`{"connection":"legacy","identifier":{"$gt":""},"password":"x"}`,
			`{"connection":"legacy","identifier":"grace","password":{"$gt":""}}`,
			`{"connection":{"$ne":null},"identifier":"grace","password":"x"}`,
			`{"connection":"legacy","identifier":["grace"],"password":"x"}`,
		} {
			if got := postRaw(t, base+"/v1/login", "", "POST", []byte(body)); got != http.StatusBadRequest {
				t.Fatalf("%s: %d, want 400", body, got)
			}
		}
	})

	// Sign-up: bad fields and metadata are refused before the store.
	meta := func(m map[string]any) *structpb.Struct { s, _ := structpb.NewStruct(m); return s }
	signup := []struct {
		name string
		req  *authv1.SignUpRequest
		grpc codes.Code
	}{
		{"10k-char name", &authv1.SignUpRequest{Email: "n@example.com", Password: "a long password", Name: long}, codes.InvalidArgument},
		{"1025-byte password", &authv1.SignUpRequest{Email: "n@example.com", Password: pw1025}, codes.InvalidArgument},
		{"NUL in email", &authv1.SignUpRequest{Email: "n\x00@example.com", Password: "a long password"}, codes.InvalidArgument},
		{"NUL in name", &authv1.SignUpRequest{Email: "n@example.com", Password: "a long password", Name: "a\x00b"}, codes.InvalidArgument},
		{"SQL injection email", &authv1.SignUpRequest{Email: "x' OR 1=1 --@example.com", Password: "a long password"}, codes.InvalidArgument},
		{"display-name email", &authv1.SignUpRequest{Email: "Grace <grace@example.com>", Password: "a long password"}, codes.InvalidArgument},
		{"$where metadata key", &authv1.SignUpRequest{Email: "n@example.com", Password: "a long password", UserMetadata: meta(map[string]any{"$where": "sleep(1000)"})}, codes.InvalidArgument},
		{"nested operator key", &authv1.SignUpRequest{Email: "n@example.com", Password: "a long password", UserMetadata: meta(map[string]any{"a": map[string]any{"$gt": ""}})}, codes.InvalidArgument},
		{"dotted metadata key", &authv1.SignUpRequest{Email: "n@example.com", Password: "a long password", UserMetadata: meta(map[string]any{"app_metadata.roles": "admin"})}, codes.InvalidArgument},
		{"huge metadata", &authv1.SignUpRequest{Email: "n@example.com", Password: "a long password", UserMetadata: meta(map[string]any{"x": huge})}, codes.ResourceExhausted},
		{"existing user's email", &authv1.SignUpRequest{Email: "GRACE@example.com", Password: "a long password"}, codes.AlreadyExists},
	}
	for _, c := range signup {
		t.Run("signup/"+c.name, func(t *testing.T) {
			c.req.Connection = "legacy"
			if _, err := client.SignUp(ctx, c.req); status.Code(err) != c.grpc {
				t.Fatalf("gRPC: %v, want %v", err, c.grpc)
			}
		})
	}
	t.Run("signup/REST", func(t *testing.T) {
		for body, want := range map[string]int{
			`{"connection":"legacy","email":{"$gt":""},"password":"a long password"}`:                                     400,
			`{"connection":"legacy","email":"n@example.com","password":"a long password","user_metadata":{"$where":"1"}}`: 400,
			`{"connection":"legacy","email":"n@example.com","password":"a long password","user_metadata":"$where"}`:       400,
			`{"connection":"legacy","email":"n@example.com","password":"a long password","name":"` + long + `"}`:          400,
			`{"connection":"legacy","email":"n@example.com","password":"` + pw1025 + `"}`:                                 400,
			`{"connection":"legacy","email":"n@example.com","password":"a long password","x":"` + huge + `"}`:             413,
		} {
			if got := postRaw(t, base+"/v1/signup", "", "POST", []byte(body)); got != want {
				t.Fatalf("%.120s: %d, want %d", body, got, want)
			}
		}
	})

	// Management update of the migrated user.
	t.Run("update", func(t *testing.T) {
		for _, u := range []*authv1.User{
			{UserMetadata: meta(map[string]any{"$where": "1"})},
			{AppMetadata: meta(map[string]any{"roles": map[string]any{"$set": "admin"}})},
			{UserMetadata: meta(map[string]any{"a.b": 1})},
			{Name: long},
			{Email: "grace\x00@example.com"},
		} {
			mask := &fieldmaskpb.FieldMask{Paths: []string{"user_metadata", "app_metadata", "name", "email"}}
			_, err := mgmt.UpdateUser(asAdmin(adminKey), &authv1.UpdateUserRequest{UserId: graceID, User: u, UpdateMask: mask})
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("gRPC %v: %v, want INVALID_ARGUMENT", u, err)
			}
		}
		for _, body := range []string{
			`{"user_metadata":{"$where":"1"}}`, `{"app_metadata":{"$set":{"roles":"admin"}}}`, `{"email":{"$gt":""}}`,
			`{"name":"` + long + `"}`, `{"user_metadata":{"a\u0000b":1}}`,
		} {
			if got := postRaw(t, admin+"/v1/users/"+graceID, adminKey, "PATCH", []byte(body)); got != http.StatusBadRequest {
				t.Fatalf("REST %.80s: %d, want 400", body, got)
			}
		}
		for _, id := range []string{`{"$gt":""}`, "../../users", "x' OR 1=1"} {
			_, err := mgmt.GetUser(asAdmin(adminKey), &authv1.GetUserRequest{UserId: id})
			if c := status.Code(err); c != codes.InvalidArgument && c != codes.NotFound {
				t.Fatalf("GetUser(%q): %v", id, err)
			}
		}
	})

	// Nothing was written: grace alone, as migrated.
	checkUsers(t, e.db(t), map[string]string{"grace@example.com": "1001"})
	var doc bson.M
	if err := e.db(t).Collection("users").FindOne(ctx, bson.D{}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	um := asMap(doc["user_metadata"])
	if doc["name"] != "Grace Hopper" || len(um) != 1 || um["locale"] != "de" || doc["app_metadata"] != nil {
		t.Fatalf("grace was changed: %v", doc)
	}
	if n, _ := e.db(t).Collection("reset_tickets").CountDocuments(ctx, bson.D{}); n != 0 {
		t.Fatalf("%d tickets written", n)
	}
}

// noEchoMarker is in every oversized or malformed value below; no answer
// and no log line may contain it.
const noEchoMarker = "Q7Q7Q7Q7"

// postBody is postRaw that also returns the response body.
func postBody(t *testing.T, url, key, method string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// badRequestField returns the field named by the error's BadRequest
// detail, or "".
func badRequestField(err error) string {
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return br.GetFieldViolations()[0].GetField()
		}
	}
	return ""
}

// A free-text field that is too long, holds control characters or is not
// UTF-8 is refused with INVALID_ARGUMENT naming the field (BadRequest
// detail) over gRPC and 400 over REST, and its value reaches neither the
// answer nor the log (captured as in production: JSON, debug level).
// Before: a 990 KB connection came back whole in the error and in the
// 1 MB "rpc" log line.
func TestOversizedFieldsAreNeverEchoed(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.Admin.APIKey = kitconfig.SecretLiteral(adminKey)
	cfg.BruteForce.Disabled = true
	logs := &syncBuffer{}
	srv := e.startLogged(cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	client, mgmt := authClient(t, srv), mgmtClient(t, srv)
	ctx := context.Background()
	base, admin := "http://"+srv.HTTPAddr(), "http://"+srv.AdminAddr()

	huge := strings.Repeat("Q7", 990<<9) // 990 KiB
	conns := map[string]string{
		"990 KB":            huge,
		"65 bytes":          strings.Repeat("a", 65-len(noEchoMarker)) + noEchoMarker,
		"control chars":     "leg\x1b[31macy\n" + noEchoMarker,
		"non-ASCII":         "légacy" + noEchoMarker,
		"dot and slash":     "../legacy." + noEchoMarker,
		"leading separator": "-" + noEchoMarker,
	}
	for name, c := range conns {
		t.Run("gRPC connection "+name, func(t *testing.T) {
			calls := []func() error{
				func() error {
					_, err := client.Login(ctx, &authv1.LoginRequest{Connection: c, Identifier: "grace", Password: gracePW})
					return err
				},
				func() error {
					_, err := client.SignUp(ctx, &authv1.SignUpRequest{Connection: c, Email: "n@example.com", Password: "a long password"})
					return err
				},
				func() error {
					_, err := client.RequestPasswordReset(ctx, &authv1.RequestPasswordResetRequest{Connection: c, Identifier: "grace"})
					return err
				},
				func() error {
					_, err := mgmt.CreatePasswordResetTicket(asAdmin(adminKey), &authv1.CreatePasswordResetTicketRequest{Connection: c, Identifier: "grace"})
					return err
				},
				func() error {
					_, err := mgmt.ListUsers(asAdmin(adminKey), &authv1.ListUsersRequest{Connection: c})
					return err
				},
				func() error {
					_, err := mgmt.GetMigrationStatus(asAdmin(adminKey), &authv1.GetMigrationStatusRequest{Connection: c})
					return err
				},
				func() error {
					_, err := mgmt.ImportUsers(asAdmin(adminKey), &authv1.ImportUsersRequest{Connection: c})
					return err
				},
			}
			for i, call := range calls {
				err := call()
				if status.Code(err) != codes.InvalidArgument || badRequestField(err) != "connection" {
					t.Fatalf("call %d: %.200v (field %q), want INVALID_ARGUMENT naming connection", i, err, badRequestField(err))
				}
				if strings.Contains(err.Error(), noEchoMarker) {
					t.Fatalf("call %d: the error quotes the value: %.200v", i, err)
				}
			}
		})
	}
	t.Run("REST connection", func(t *testing.T) {
		for name, c := range conns {
			for _, r := range []struct{ path, key, body string }{
				{"/v1/login", "", `"identifier":"grace","password":"x"`},
				{"/v1/signup", "", `"email":"n@example.com","password":"a long password"`},
				{"/v1/password-reset", "", `"identifier":"grace"`},
				{"/v1/password-reset-tickets", adminKey, `"identifier":"grace"`},
			} {
				cj, _ := json.Marshal(c)
				body := []byte(`{"connection":` + string(cj) + `,` + r.body + `}`)
				host := base
				if r.key != "" { // the management API has its own listener
					host = admin
				}
				code, resp := postBody(t, host+r.path, r.key, "POST", body)
				if code != http.StatusBadRequest || strings.Contains(resp, noEchoMarker) || !strings.Contains(resp, "BadRequest") {
					t.Fatalf("%s %s: %d %.300s, want 400 with a BadRequest detail and no echo", name, r.path, code, resp)
				}
			}
		}
		code, resp := postBody(t, admin+"/v1/connections/"+strings.Repeat("Q7", 1000)+"/migration", adminKey, "GET", nil)
		if code != http.StatusBadRequest || strings.Contains(resp, noEchoMarker) {
			t.Fatalf("migration status of a 2000-byte connection: %d %.300s", code, resp)
		}
	})
	t.Run("non-UTF-8 connection", func(t *testing.T) {
		cc, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		req := rawLogin([]byte("leg\xffacy"+noEchoMarker), []byte("grace"), []byte(gracePW))
		var resp []byte
		err = cc.Invoke(ctx, "/trickle.auth.v1.AuthService/Login", &req, &resp, grpc.ForceCodec(rawCodec{}))
		if status.Code(err) == codes.OK || strings.Contains(err.Error(), noEchoMarker) {
			t.Fatalf("gRPC: %v", err)
		}
		code, body := postBody(t, base+"/v1/login", "", "POST", []byte("{\"connection\":\"leg\xffacy"+noEchoMarker+"\",\"identifier\":\"grace\",\"password\":\"x\"}"))
		if code != http.StatusBadRequest || strings.Contains(body, noEchoMarker) {
			t.Fatalf("REST: %d %.300s", code, body)
		}
	})
	// Other free-text fields: bounded, named, never quoted, except a
	// metadata key and a mask path, quoted cut to 64 bytes (marked K9).
	quoted := strings.Repeat("K9", 990<<9)
	t.Run("other fields", func(t *testing.T) {
		for _, c := range []struct {
			field string
			call  func() error
		}{
			{"identifier", func() error {
				_, err := client.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: huge, Password: "x"})
				return err
			}},
			{"identifier", func() error {
				_, err := client.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "grace\x1b[2J" + noEchoMarker, Password: "x"})
				return err
			}},
			{"name", func() error {
				_, err := client.SignUp(ctx, &authv1.SignUpRequest{Connection: "legacy", Email: "n@example.com", Password: "a long password", Name: huge})
				return err
			}},
			{"email", func() error {
				_, err := client.SignUp(ctx, &authv1.SignUpRequest{Connection: "legacy", Email: huge + "@example.com", Password: "a long password"})
				return err
			}},
			{"user_metadata", func() error {
				m, _ := structpb.NewStruct(map[string]any{"$" + quoted[:40<<10]: 1})
				_, err := client.SignUp(ctx, &authv1.SignUpRequest{Connection: "legacy", Email: "n@example.com", Password: "a long password", UserMetadata: m})
				return err
			}},
			{"update_mask", func() error {
				_, err := mgmt.UpdateUser(asAdmin(adminKey), &authv1.UpdateUserRequest{UserId: "x", User: &authv1.User{}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{quoted}}})
				return err
			}},
			{"user_id", func() error {
				_, err := mgmt.GetUser(asAdmin(adminKey), &authv1.GetUserRequest{UserId: huge})
				return err
			}},
		} {
			err := c.call()
			if status.Code(err) != codes.InvalidArgument || badRequestField(err) != c.field {
				t.Fatalf("%s: %.200v (field %q), want INVALID_ARGUMENT naming %s", c.field, err, badRequestField(err), c.field)
			}
			// The metadata key and the mask path are quoted, cut to 64 bytes.
			if strings.Contains(err.Error(), noEchoMarker) || strings.Contains(err.Error(), strings.Repeat("K9", 33)) || len(status.Convert(err).Message()) > 512 {
				t.Fatalf("%s: the error quotes the value: %.300v", c.field, err)
			}
		}
	})

	out := logs.String()
	if strings.Contains(out, noEchoMarker) || strings.Contains(out, strings.Repeat("K9", 33)) {
		i := strings.Index(out, noEchoMarker)
		t.Fatalf("the log holds a refused value: ...%.300s", out[max(i-200, 0):])
	}
	if strings.Contains(out, "\x1b") || strings.Contains(out, `\u001b`) {
		t.Fatal("the log holds a refused value's control characters")
	}
	for _, line := range strings.Split(out, "\n") {
		if len(line) > 4<<10 {
			t.Fatalf("a log line of %d bytes: %.300s", len(line), line)
		}
	}
}

// Tokens say whether the email was proven: false for a sign-up (anyone can
// sign up with any free address), true for a legacy user whose store says
// so. Before: no email_verified claim at all.
func TestTokensSayEmailVerified(t *testing.T) {
	e := newEnv(t)
	srv := e.start(e.config())
	client := authClient(t, srv)
	ctx := context.Background()
	if _, err := client.SignUp(ctx, &authv1.SignUpRequest{Connection: "legacy", Email: "new@example.com", Password: "a long password"}); err != nil {
		t.Fatal(err)
	}
	for ident, want := range map[string]bool{"new@example.com": false, "grace@example.com": true} {
		pw := map[bool]string{false: "a long password", true: gracePW}[want]
		res, err := client.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: ident, Password: pw})
		if err != nil {
			t.Fatalf("%s: %v", ident, err)
		}
		parts := strings.Split(res.GetAccessToken(), ".")
		if len(parts) != 3 {
			t.Fatalf("%s: token with %d parts", ident, len(parts))
		}
		raw, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var claims map[string]any
		if err := json.Unmarshal(raw, &claims); err != nil {
			t.Fatal(err)
		}
		if got, ok := claims["email_verified"]; !ok || got != want || claims["email"] != ident {
			t.Fatalf("%s: email %v email_verified %v (present %v), want %v", ident, claims["email"], got, ok, want)
		}
	}
}

// vmHWM reads the process's peak resident set size in KiB.
func vmHWM(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// 1,000 concurrent logins against one instance: the bounded hashing pool
// (password.max_concurrent, the CPUs by default) keeps at most that many
// argon2id computations in memory, so they all complete with the right
// answer (or fail cleanly with UNAVAILABLE) and the peak RSS grows by far
// less than 1,000 hashes' memory. The RSS bound is asserted without -race
// only: the race detector's per-goroutine memory dominates under it.
func TestThousandConcurrentLoginsStayBounded(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	memKiB := uint32(4096) // 1,000 computations at once would need 4 GiB
	if raceEnabled {
		memKiB = 256 // only completion is asserted; keep it quick
	}
	cfg.Password.Params = password.Params{MemoryKiB: memKiB, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	cfg.BruteForce.Disabled = true
	// The hashing pool is under test here, not admission (see
	// TestLoginFloodIsRefusedNotQueued): let all 1,000 in.
	relaxAdmission(cfg)
	// A store pool of production size: FerretDB runs inside this process,
	// so its connections would count in the RSS too.
	uri, _ := cfg.MongoDB.URI.Value()
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	cfg.MongoDB.URI = kitconfig.SecretLiteral(uri + sep + "maxPoolSize=16")
	cfg.MongoDB.Timeout = time.Minute
	client := authClient(t, e.start(cfg))
	ctx := context.Background()
	if _, err := client.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "grace", Password: gracePW}); err != nil {
		t.Fatal(err)
	}
	// Reset the peak to the current RSS (Linux clear_refs 5), so VmHWM
	// afterwards is the peak during the storm.
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	before := vmHWM(t)
	const n = 1000
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw, want := "wrong-"+strconv.Itoa(i), codes.Unauthenticated
			if i%50 == 0 {
				pw, want = gracePW, codes.OK
			}
			_, err := client.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "grace@example.com", Password: pw})
			got := status.Code(err)
			mu.Lock()
			outcomes[got.String()]++
			mu.Unlock()
			// A clean failure under overload is UNAVAILABLE; never a wrong
			// answer or any other code.
			if got != want && got != codes.Unavailable {
				t.Errorf("login %d: %v, want %v", i, err, want)
			}
		}()
	}
	wg.Wait()
	after := vmHWM(t)
	delta := after - before
	t.Logf("1000 concurrent logins (argon2id m=%d KiB): outcomes %v; peak RSS %d KiB -> %d KiB (+%d KiB, %.1f MiB)",
		memKiB, outcomes, before, after, delta, float64(delta)/1024)
	if outcomes["OK"] == 0 || outcomes["Unauthenticated"] == 0 {
		t.Fatalf("the storm did not complete any login: %v", outcomes)
	}
	if unbounded := int64(n) * int64(memKiB); !raceEnabled && delta > unbounded/2 {
		t.Fatalf("peak RSS grew by %d KiB: the hashing pool is not bounding memory (1,000 at once: %d KiB)", delta, unbounded)
	}
	checkUsers(t, e.db(t), map[string]string{"grace@example.com": "1001"})
}
