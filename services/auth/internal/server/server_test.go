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
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/deploy/testenv/mongotest"
	"github.com/trickle-auth/trickle/deploy/testenv/redistest"
	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/connectortest"
	"github.com/trickle-auth/trickle/services/auth/internal/password"
	"github.com/trickle-auth/trickle/services/auth/internal/server"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

type env struct {
	t      *testing.T
	dbName string
	prefix string
	legacy *connectortest.Server
	keyDir string
}

func newEnv(t *testing.T) *env {
	db := mongotest.Database(t)
	_, prefix := redistest.Client(t)
	e := &env{t: t, dbName: db.Name(), prefix: prefix, legacy: connectortest.Start(t), keyDir: t.TempDir()}
	um, _ := structpb.NewStruct(map[string]any{"locale": "de"})
	e.legacy.Add(connectortest.User{Password: "pa55-wörd", Profile: &connectorv1.LegacyProfile{
		LegacyId: "1001", Email: "grace@example.com", Username: "grace", EmailVerified: true, Name: "Grace Hopper", UserMetadata: um,
	}})
	return e
}

func (e *env) config() *config.Config {
	var cfg config.Config
	cfg.SetDefaults()
	cfg.GRPCAddr, cfg.HTTPAddr, cfg.OpsAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.MongoDB.URI = kitconfig.SecretLiteral(mongotest.URI(e.t))
	cfg.MongoDB.Database = e.dbName
	// FerretDB on SQLite under -race on a loaded 2-core CI machine can take
	// seconds per write in a storm; production keeps the 5s default.
	cfg.MongoDB.Timeout = 30 * time.Second
	cfg.Redis.Addr = redistest.Addr()
	cfg.Redis.KeyPrefix = e.prefix
	cfg.Password.Params = password.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	cfg.Tokens.DevKeyDir = e.keyDir
	cfg.Connections = []config.Connection{{
		Name: "legacy", ImportMode: true, LegacyEnabled: true,
		Connector: config.Connector{Address: e.legacy.Addr, Timeout: 2 * time.Second, TLS: config.ClientTLS{Insecure: true}},
	}}
	if err := cfg.Validate(); err != nil {
		e.t.Fatal(err)
	}
	return &cfg
}

// relaxAdmission lets every call of a storm from this one test client
// (one IP) in: for tests of something other than admission control
// (TestLoginFloodIsRefusedNotQueued covers that).
func relaxAdmission(cfg *config.Config) {
	cfg.Limits.MaxInFlight, cfg.Limits.MaxQueue, cfg.Limits.MaxPerClient = 1000, 1000, 2000
	cfg.Limits.QueueTimeout = 10 * time.Minute
	// Concurrent logins of one account from one address are queued by the
	// brute-force protection (at most max_failures checks in flight); on a
	// loaded machine under -race a storm's queue lasts longer than 5s.
	cfg.BruteForce.MaxWait = 2 * time.Minute
}

// start runs one auth service instance until the test ends.
func (e *env) start(cfg *config.Config) *server.Server {
	t := e.t
	ctx, cancel := context.WithCancel(context.Background())
	// The service's log is kept and shown only if the test fails: the
	// causes behind UNAVAILABLE answers are in it.
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service log (last lines):\n%s", logs.tail(60))
		}
	})
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v on shutdown", err)
		}
	})
	return srv
}

func authClient(t *testing.T, srv *server.Server) authv1.AuthServiceClient {
	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return authv1.NewAuthServiceClient(conn)
}

func postJSON(t *testing.T, url string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode %s: %v", url, err)
	}
	return resp.StatusCode, out
}

func TestGRPCAndRESTLoginAgree(t *testing.T) {
	e := newEnv(t)
	srv := e.start(e.config())
	ctx := context.Background()

	g, err := authClient(t, srv).Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "grace@example.com", Password: "pa55-wörd"})
	if err != nil {
		t.Fatal(err)
	}
	if !g.GetMigrated() || g.GetTokenType() != "Bearer" || g.GetExpiresIn() != 3600 || g.GetUser().GetLegacyId() != "1001" {
		t.Fatalf("gRPC login: %v", g)
	}

	code, r := postJSON(t, "http://"+srv.HTTPAddr()+"/v1/login", map[string]string{"connection": "legacy", "identifier": "GRACE", "password": "pa55-wörd"})
	if code != http.StatusOK {
		t.Fatalf("REST login: %d %v", code, r)
	}
	user, _ := r["user"].(map[string]any)
	if r["token_type"] != "Bearer" || r["access_token"] == "" || r["migrated"] != false {
		t.Fatalf("REST response: %v", r)
	}
	// Same user, snake_case JSON, as Auth0 users know it.
	want, _ := protojson.MarshalOptions{UseProtoNames: true}.Marshal(g.GetUser())
	var wantUser map[string]any
	_ = json.Unmarshal(want, &wantUser)
	for _, k := range []string{"user_id", "email", "email_verified", "username", "name", "user_metadata", "legacy_id", "origin", "created_at", "migrated_at"} {
		if fmt.Sprint(user[k]) != fmt.Sprint(wantUser[k]) || user[k] == nil {
			t.Errorf("REST user.%s = %v, gRPC = %v", k, user[k], wantUser[k])
		}
	}
	if e.legacy.LoginCalls.Load() != 1 {
		t.Fatalf("connector calls = %d, want 1", e.legacy.LoginCalls.Load())
	}

	// Errors: the standard grpc-gateway mapping.
	code, r = postJSON(t, "http://"+srv.HTTPAddr()+"/v1/login", map[string]string{"connection": "legacy", "identifier": "grace", "password": "nope"})
	if code != http.StatusUnauthorized || r["message"] != "invalid credentials" {
		t.Fatalf("wrong password over REST: %d %v", code, r)
	}
	code, _ = postJSON(t, "http://"+srv.HTTPAddr()+"/v1/login", map[string]string{"connection": "nope", "identifier": "grace", "password": "x"})
	if code != http.StatusBadRequest {
		t.Fatalf("unknown connection over REST: %d", code)
	}
	// NoSQL injection in a REST body is a type error, not a query.
	resp, err := http.Post("http://"+srv.HTTPAddr()+"/v1/login", "application/json",
		strings.NewReader(`{"connection":"legacy","identifier":{"$gt":""},"password":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("operator object as identifier: %d, want 400", resp.StatusCode)
	}
}

func TestTokenVerifiesAgainstJWKSAndAcrossKeyRotation(t *testing.T) {
	e := newEnv(t)
	first := e.start(e.config())
	res, err := authClient(t, first).Login(context.Background(), &authv1.LoginRequest{Connection: "legacy", Identifier: "grace", Password: "pa55-wörd"})
	if err != nil {
		t.Fatal(err)
	}
	oldToken := res.GetAccessToken()

	// Verify independently of the service: fetch the JWKS over HTTP.
	jwks := fetchJWKS(t, first)
	claims := verifyWithJWKS(t, oldToken, jwks)
	if claims["sub"] != res.GetUser().GetUserId() || claims["email"] != "grace@example.com" || claims["connection"] != "legacy" {
		t.Fatalf("claims: %v", claims)
	}

	// Rotate: a new signing key, the old one kept for verification.
	oldKey := filepath.Join(e.keyDir, "jwt-signing-key.pem")
	newKeyDir := t.TempDir()
	cfg := e.config()
	cfg.Tokens.DevKeyDir = newKeyDir
	rotatedTmp := e.start(cfg) // generates the new key
	newKey := filepath.Join(newKeyDir, "jwt-signing-key.pem")
	if _, err := os.Stat(newKey); err != nil {
		t.Fatal(err)
	}
	_ = rotatedTmp
	cfg = e.config()
	cfg.Tokens.SigningKeyFile = newKey
	cfg.Tokens.VerificationKeyFiles = []string{oldKey}
	rotated := e.start(cfg)
	if _, err := rotated.Tokens().Verify(oldToken); err != nil {
		t.Fatalf("token signed by the rotated-out key: %v", err)
	}
	res2, err := authClient(t, rotated).Login(context.Background(), &authv1.LoginRequest{Connection: "legacy", Identifier: "grace", Password: "pa55-wörd"})
	if err != nil {
		t.Fatal(err)
	}
	rotatedJWKS := fetchJWKS(t, rotated)
	if len(rotatedJWKS.Keys) != 2 {
		t.Fatalf("rotated JWKS has %d keys, want 2", len(rotatedJWKS.Keys))
	}
	verifyWithJWKS(t, oldToken, rotatedJWKS)
	verifyWithJWKS(t, res2.GetAccessToken(), rotatedJWKS)
	if _, err := first.Tokens().Verify(res2.GetAccessToken()); err == nil {
		t.Fatal("the old instance accepted a token from a key it does not publish")
	}
}

func fetchJWKS(t *testing.T, srv *server.Server) jose.JSONWebKeySet {
	t.Helper()
	resp, err := http.Get("http://" + srv.HTTPAddr() + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("JWKS: %v (%d keys)", err, len(set.Keys))
	}
	return set
}

func verifyWithJWKS(t *testing.T, tok string, set jose.JSONWebKeySet) map[string]any {
	t.Helper()
	sig, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(sig.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in JWKS", sig.Signatures[0].Header.KeyID)
	}
	payload, err := sig.Verify(keys[0].Key)
	if err != nil {
		t.Fatalf("signature does not verify with the JWKS key: %v", err)
	}
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	return claims
}

// 200 concurrent first logins of one user spread over 3 service instances
// sharing MongoDB and Redis.
func TestLoginStormOverThreeInstances(t *testing.T) {
	e := newEnv(t)
	e.legacy.SetDelay(30 * time.Millisecond)
	var clients []authv1.AuthServiceClient
	for range 3 {
		cfg := e.config()
		relaxAdmission(cfg) // 200 concurrent logins from one IP
		clients = append(clients, authClient(t, e.start(cfg)))
	}
	var wg sync.WaitGroup
	var migrated atomic.Int32
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := clients[i%3].Login(context.Background(), &authv1.LoginRequest{Connection: "legacy", Identifier: "grace@example.com", Password: "pa55-wörd"})
			if err != nil {
				t.Errorf("login %d: %v", i, err)
				return
			}
			if res.GetMigrated() {
				migrated.Add(1)
			}
		}()
	}
	wg.Wait()
	client := mongotestClient(t)
	n, err := client.Database(e.dbName).Collection("users").CountDocuments(context.Background(), bson.D{})
	if err != nil || n != 1 {
		t.Fatalf("user documents = %d (%v), want 1", n, err)
	}
	if calls := e.legacy.LoginCalls.Load(); calls != 1 {
		t.Fatalf("connector Login calls = %d, want 1", calls)
	}
	if migrated.Load() != 1 {
		t.Fatalf("migrated: true answered %d times, want 1", migrated.Load())
	}
}

func TestOpsEndpoints(t *testing.T) {
	e := newEnv(t)
	srv := e.start(e.config())
	_, err := authClient(t, srv).Login(context.Background(), &authv1.LoginRequest{Connection: "legacy", Identifier: "grace", Password: "wrong"})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("wrong password: %v", err)
	}
	for path, want := range map[string]string{
		"/healthz": "ok",
		"/readyz":  "ready",
		"/metrics": `trickle_logins_total{connection="legacy",outcome="legacy_refused"} 1`,
	} {
		resp, err := http.Get("http://" + srv.OpsAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d, body lacks %q", path, resp.StatusCode, want)
		}
		if path == "/metrics" && strings.Contains(string(body), "wrong") {
			t.Error("metrics carry a password")
		}
	}
}

// lockedBuffer is an io.Writer safe for a server's concurrent log calls.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// tail returns the last n lines.
func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := strings.Split(strings.TrimRight(b.buf.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
