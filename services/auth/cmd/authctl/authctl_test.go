package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL connector's driver
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore"
	"github.com/trickle-auth/trickle/deploy/testenv/mongotest"
	"github.com/trickle-auth/trickle/deploy/testenv/sqltest"
	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/connectortest"
	"github.com/trickle-auth/trickle/services/auth/internal/password"
	"github.com/trickle-auth/trickle/services/auth/internal/server"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

// Hashes made by the software that uses each format (from
// connectors/kit/sqlcore/presettest/testdata/hashes.json), all of pw.
const (
	pw         = "correct horse battery staple"
	hashPHPass = "$P$6FdWEJzcPqQG3mAOMBreIAZYEpWqEx/"
	hashDjango = "pbkdf2_sha256$1000$daaHEVzuF2O3zlwI0r7g1L$vxwgrggHEW3/REgNZMWMlwiieVmrv4NnSHJTSsFJwr8="
	hashBcrypt = "$2y$05$VUKL8ozhxboumFQzbarDHeHQ3K.eLbLrnHXCeVlc4LSRRJmph79fy"
	adminKey   = "test-admin-key-0123456789"
)

var hashes = []string{hashPHPass, hashDjango, hashBcrypt}

type env struct {
	t      *testing.T
	srv    *server.Server
	dbName string
	legacy *connectortest.Server
}

// start runs authd with a "legacy" connection on a connectortest store and,
// when pgAddr is set, a "pg" connection on a PostgreSQL connector.
func start(t *testing.T, pgAddr string) *env {
	t.Helper()
	db := mongotest.Database(t)
	e := &env{t: t, dbName: db.Name(), legacy: connectortest.Start(t)}
	var cfg config.Config
	cfg.SetDefaults()
	cfg.GRPCAddr, cfg.HTTPAddr, cfg.OpsAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.MongoDB.URI = kitconfig.SecretLiteral(mongotest.URI(t))
	cfg.MongoDB.Database = db.Name()
	cfg.MongoDB.Timeout = time.Minute
	cfg.Password.Params = password.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	cfg.Tokens.DevKeyDir = t.TempDir()
	cfg.Admin.APIKey = kitconfig.SecretLiteral(adminKey)
	cfg.BruteForce.Disabled = true
	cfg.Connections = []config.Connection{{
		Name: "legacy", ImportMode: true, LegacyEnabled: true,
		Connector: config.Connector{Address: e.legacy.Addr, Timeout: 5 * time.Second, TLS: config.ClientTLS{Insecure: true}},
	}}
	if pgAddr != "" {
		cfg.Connections = append(cfg.Connections, config.Connection{
			Name: "pg", ImportMode: true, LegacyEnabled: true,
			Connector: config.Connector{Address: pgAddr, Timeout: 30 * time.Second, TLS: config.ClientTLS{Insecure: true}},
		})
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, &cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	e.srv = srv
	return e
}

// authctl runs the CLI in-process against the server.
func (e *env) authctl(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		switch k {
		case "TRICKLE_ADMIN_ADDR":
			return e.srv.AdminAddr()
		case "TRICKLE_ADMIN_KEY":
			return adminKey
		}
		return ""
	}
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb, getenv)
	return code, out.String(), errb.String()
}

func (e *env) mustJSON(v any, args ...string) {
	e.t.Helper()
	code, out, errs := e.authctl(append(args, "--output", "json")...)
	if code != 0 {
		e.t.Fatalf("authctl %v: exit %d\n%s%s", args, code, out, errs)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		e.t.Fatalf("authctl %v: %v\n%s", args, err, out)
	}
}

func (e *env) login(connection, identifier string) (*authv1.LoginResponse, error) {
	conn, err := grpc.NewClient(e.srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	return authv1.NewAuthServiceClient(conn).Login(context.Background(), &authv1.LoginRequest{Connection: connection, Identifier: identifier, Password: pw})
}

func (e *env) users() *mongo.Collection {
	c, err := mongo.Connect(options.Client().ApplyURI(mongotest.URI(e.t)))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c.Database(e.dbName).Collection("users")
}

// storedHash returns the stored password hash of the user with the email.
func (e *env) storedHash(email string) string {
	var d struct {
		Hash string `bson:"password_hash"`
	}
	if err := e.users().FindOne(context.Background(), bson.D{{Key: "email", Value: email}}).Decode(&d); err != nil {
		e.t.Fatalf("find %s: %v", email, err)
	}
	return d.Hash
}

// assertUnique fails unless the connection holds want users with distinct
// legacy ids.
func (e *env) assertUnique(connection string, want int) {
	e.t.Helper()
	cur, err := e.users().Find(context.Background(), bson.D{{Key: "connection", Value: connection}},
		options.Find().SetProjection(bson.D{{Key: "legacy_id", Value: 1}}))
	if err != nil {
		e.t.Fatal(err)
	}
	var docs []struct {
		LegacyID string `bson:"legacy_id"`
	}
	if err := cur.All(context.Background(), &docs); err != nil {
		e.t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range docs {
		if seen[d.LegacyID] {
			e.t.Errorf("legacy id %s stored twice", d.LegacyID)
		}
		seen[d.LegacyID] = true
	}
	if len(docs) != want {
		e.t.Fatalf("connection %s holds %d users, want %d", connection, len(docs), want)
	}
}

// writeJSONL writes n users with ids from+1.. (hashes cycling through
// phpass, Django, bcrypt) and returns the path.
func writeJSONL(t *testing.T, from, n int, extra ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := from + 1; i <= from+n; i++ {
		fmt.Fprintf(w, `{"legacy_id":"%d","email":"user%d@example.com","username":"user%d","name":"User %d","email_verified":true,"user_metadata":{"locale":"de","n":%d},"app_metadata":{"plan":"gold"},"password_hash":{"hash":%q}}`+"\n",
			i, i, i, i, i, hashes[i%3])
	}
	for _, l := range extra {
		fmt.Fprintln(w, l)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAuthctlEndToEnd(t *testing.T) {
	e := start(t, "")
	for i := 1; i <= 30; i++ {
		e.legacy.Add(connectortest.User{Password: pw, Profile: &connectorv1.LegacyProfile{
			LegacyId: fmt.Sprint(i), Email: fmt.Sprintf("legacy%d@example.com", i), Username: fmt.Sprintf("legacy%d", i),
			PasswordHash: &connectorv1.LegacyPasswordHash{Hash: hashes[i%3]},
		}})
	}

	// Status: nothing migrated yet, 30 in the legacy store.
	var st []map[string]any
	e.mustJSON(&st, "status")
	if len(st) != 1 || st[0]["connection"] != "legacy" || st[0]["migrated_users"] != "0" || st[0]["legacy_total"] != "30" {
		t.Fatalf("status: %v", st)
	}
	if code, out, _ := e.authctl("status"); code != 0 || !strings.Contains(out, "CONNECTION") || !strings.Contains(out, "legacy") {
		t.Fatalf("status table: %d %s", code, out)
	}

	// Export before any import: all 30, without hashes.
	code, out, errs := e.authctl("export-unmigrated", "--connection", "legacy")
	if code != 0 || strings.Count(out, "\n") != 30 || strings.Contains(out, "password_hash") || strings.Contains(out, "$P$") {
		t.Fatalf("export: %d\n%s%s", code, out, errs)
	}

	// JSONL import of 2,000 users plus a broken line and an unknown hash.
	const n = 2000
	file := writeJSONL(t, 1000, n, `{"legacy_id": "x", "email": `, `{"legacy_id":"9999","email":"bad@example.com","password_hash":{"hash":"0123456789abcdef"}}`)
	start := time.Now()
	code, out, errs = e.authctl("import", "--connection", "legacy", "--file", file, "--output", "json")
	t.Logf("JSONL import of %d users: %s", n, time.Since(start))
	var rep report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("import report: %v\n%s%s", err, out, errs)
	}
	if code != 5 || rep.Imported != n || rep.Failed != 2 || len(rep.Failures) != 2 || rep.Failures[0].Line != n+1 || rep.Failures[1].LegacyID != "9999" {
		t.Fatalf("import: exit %d report %+v\n%s", code, rep, errs)
	}
	if strings.Contains(out+errs, "0123456789abcdef") {
		t.Error("the report shows a password hash")
	}
	if _, err := os.Stat(file + ".checkpoint"); !os.IsNotExist(err) {
		t.Errorf("checkpoint left after a finished import: %v", err)
	}
	e.assertUnique("legacy", n)

	// Again: nothing changes.
	code, out, _ = e.authctl("import", "--connection", "legacy", "--file", file, "--output", "json")
	rep = report{}
	_ = json.Unmarshal([]byte(out), &rep)
	if code != 5 || rep.Imported != 0 || rep.SkippedExists != n {
		t.Fatalf("re-import: exit %d %+v", code, rep)
	}
	e.assertUnique("legacy", n)

	// An interrupted import (checkpoint after line 700 of a new file)
	// resumes after it, without duplicates.
	file2 := writeJSONL(t, 5000, 1000)
	cp, _ := json.Marshal(fileCheckpoint{File: file2, Line: 700})
	if err := os.WriteFile(file2+".checkpoint", cp, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = e.authctl("import", "--connection", "legacy", "--file", file2, "--output", "json")
	rep = report{}
	_ = json.Unmarshal([]byte(out), &rep)
	if code != 0 || rep.Imported != 300 || rep.StartedAfter != "line 700" || !strings.Contains(errs, "resuming after line 700") {
		t.Fatalf("resumed import: exit %d %+v\n%s", code, rep, errs)
	}
	code, out, _ = e.authctl("import", "--connection", "legacy", "--file", file2, "--output", "json")
	rep = report{}
	_ = json.Unmarshal([]byte(out), &rep)
	if code != 0 || rep.Imported != 700 || rep.SkippedExists != 300 {
		t.Fatalf("the rest of the file: exit %d %+v", code, rep)
	}
	e.assertUnique("legacy", n+1000)

	// From the connector: the 30 legacy users.
	code, out, errs = e.authctl("import", "--connection", "legacy", "--from-connector")
	if code != 0 || !strings.Contains(out, "imported") {
		t.Fatalf("import --from-connector: %d\n%s%s", code, out, errs)
	}
	e.assertUnique("legacy", n+1000+30)
	code, out, _ = e.authctl("export-unmigrated", "--connection", "legacy")
	if code != 0 || out != "" {
		t.Fatalf("export after import: %d %q", code, out)
	}

	// First login of imported phpass, Django and bcrypt users, rehashed.
	var token string
	for _, i := range []int{1002, 1003, 1004} {
		email := fmt.Sprintf("user%d@example.com", i)
		before := e.storedHash(email)
		resp, err := e.login("legacy", email)
		if err != nil {
			t.Fatalf("login %s (%.4s hash): %v", email, before, err)
		}
		if after := e.storedHash(email); before != hashes[i%3] || !strings.HasPrefix(after, "$argon2id$") {
			t.Errorf("%s: hash %.10s before, %.10s after the first login", email, before, after)
		}
		if resp.GetUser().GetOrigin() != authv1.UserOrigin_USER_ORIGIN_IMPORTED || resp.GetMigrated() {
			t.Errorf("%s: origin %v migrated %v", email, resp.GetUser().GetOrigin(), resp.GetMigrated())
		}
		token = resp.GetAccessToken()
	}
	if e.legacy.LoginCalls.Load() != 0 {
		t.Errorf("imported users' logins called the connector %d times", e.legacy.LoginCalls.Load())
	}

	// Users.
	var page struct {
		Users []map[string]any `json:"users"`
		Next  string           `json:"next_page_token"`
	}
	e.mustJSON(&page, "users", "list", "--connection", "legacy", "--origin", "imported", "--limit", "5")
	if len(page.Users) != 5 || page.Next == "" {
		t.Fatalf("users list: %+v", page)
	}
	var u map[string]any
	e.mustJSON(&u, "users", "get", page.Users[0]["user_id"].(string))
	if u["origin"] != "USER_ORIGIN_IMPORTED" {
		t.Fatalf("users get: %v", u)
	}
	id := u["user_id"].(string)
	e.mustJSON(&u, "users", "block", id)
	if u["blocked"] != true {
		t.Fatalf("block: %v", u)
	}
	e.mustJSON(&u, "users", "unblock", id)
	if u["blocked"] != false {
		t.Fatalf("unblock: %v", u)
	}
	if code, out, errs := e.authctl("users", "delete", id); code != 0 || !strings.Contains(out, "deleted") {
		t.Fatalf("delete: %d %s%s", code, out, errs)
	}
	if code, _, errs := e.authctl("users", "get", id); code != 4 || !strings.Contains(errs, "NotFound") {
		t.Fatalf("get deleted user: %d %s", code, errs)
	}
	// The deleted user is not re-imported.
	code, out, _ = e.authctl("import", "--connection", "legacy", "--file", file2, "--output", "json")
	rep = report{}
	_ = json.Unmarshal([]byte(out), &rep)
	if rep.SkippedTombstoned+rep.SkippedExists != 1000 || rep.Imported != 0 {
		t.Fatalf("import after delete: %+v", rep)
	}

	// Reset ticket, token verification, wrong credentials.
	var tk map[string]any
	e.mustJSON(&tk, "reset-ticket", "--connection", "legacy", "--identifier", "user1002@example.com")
	if s, _ := tk["ticket"].(string); len(s) < 20 {
		t.Fatalf("reset ticket: %v", tk)
	}
	jwks := "http://" + e.srv.HTTPAddr() + "/.well-known/jwks.json"
	var v struct {
		Valid  bool           `json:"valid"`
		Claims map[string]any `json:"claims"`
	}
	e.mustJSON(&v, "token", "verify", token, "--jwks-url", jwks, "--issuer", "trickle", "--audience", "trickle")
	if !v.Valid || v.Claims["email"] != "user1004@example.com" {
		t.Fatalf("token verify: %+v", v)
	}
	tampered := token[:len(token)-4] + "AAAA"
	if code, _, errs := e.authctl("token", "verify", tampered, "--jwks-url", jwks); code == 0 || !strings.Contains(errs, "invalid token") {
		t.Fatalf("tampered token: %d %s", code, errs)
	}
	if code, _, errs := e.authctl("token", "verify", token, "--jwks-url", jwks, "--audience", "someone-else"); code == 0 {
		t.Fatalf("wrong audience accepted: %s", errs)
	}
	if code, _, errs := e.authctl("status", "--admin-key", "wrong"); code != 3 || !strings.Contains(errs, "Unauthenticated") {
		t.Fatalf("wrong admin key: %d %s", code, errs)
	}
	// Streaming calls need the admin key too.
	if code, _, errs := e.authctl("export-unmigrated", "--connection", "legacy", "--admin-key", "wrong"); code != 3 {
		t.Fatalf("export with a wrong admin key: %d %s", code, errs)
	}
	if code, _, _ := e.authctl("import", "--connection", "legacy"); code != 2 {
		t.Fatalf("import without a source: exit %d, want 2", code)
	}
}

// startPostgresConnector seeds a generic users table with n users (ids
// 1..n, hashes cycling through phpass, Django, bcrypt) and serves the real
// SQL connector over it.
func startPostgresConnector(t *testing.T, n int) string {
	t.Helper()
	dsn, db := sqltest.Postgres(t)
	ctx := context.Background()
	for _, stmt := range []string{
		"CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(255) NOT NULL, username VARCHAR(255), name VARCHAR(255), email_verified BOOLEAN NOT NULL, password_hash VARCHAR(255), user_metadata JSONB, app_metadata JSONB)",
		fmt.Sprintf(`INSERT INTO users SELECT i, 'pg' || i || '@example.com', 'pg' || i, 'PG User ' || i, true,
			CASE i %% 3 WHEN 0 THEN '%s' WHEN 1 THEN '%s' ELSE '%s' END,
			jsonb_build_object('locale', 'fr', 'n', i), '{"plan":"silver"}'::jsonb
			FROM generate_series(1, %d) AS i`, hashPHPass, hashDjango, hashBcrypt, n),
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := url.Parse(dsn); err != nil {
		t.Fatal(err)
	}
	var sc sqlcore.Config
	sc.SetDefaults()
	sc.DSN = kitconfig.SecretLiteral(dsn)
	sc.Preset = "generic"
	return connectortest.ServeSQL(t, sc, "pgx", sqlcore.Postgres{}, "")
}

func TestAuthctlImportFromPostgresConnector(t *testing.T) {
	const n = 2000
	e := start(t, startPostgresConnector(t, n))
	start := time.Now()
	code, out, errs := e.authctl("import", "--connection", "pg", "--from-connector", "--output", "json")
	var rep report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 {
		t.Fatalf("import: exit %d %v\n%s%s", code, err, out, errs)
	}
	t.Logf("PostgreSQL connector import of %d users: %s", n, time.Since(start))
	if rep.Imported != n || rep.Failed != 0 || rep.Checkpoint != fmt.Sprint(n) {
		t.Fatalf("report %+v", rep)
	}
	e.assertUnique("pg", n)
	for i := 1; i <= 3; i++ { // Django, bcrypt, phpass
		email := fmt.Sprintf("pg%d@example.com", i)
		if _, err := e.login("pg", email); err != nil {
			t.Fatalf("login %s: %v", email, err)
		}
		if h := e.storedHash(email); !strings.HasPrefix(h, "$argon2id$") {
			t.Errorf("%s not rehashed: %.10s", email, h)
		}
	}
	// Resume after the stored checkpoint: nothing left.
	code, out, _ = e.authctl("import", "--connection", "pg", "--from-connector", "--output", "json")
	rep = report{}
	_ = json.Unmarshal([]byte(out), &rep)
	if code != 0 || rep.StartedAfter != fmt.Sprint(n) || rep.Imported+rep.SkippedExists != 0 {
		t.Fatalf("resumed import: %d %+v", code, rep)
	}
	// From the start: every user is skipped, nothing written.
	code, out, _ = e.authctl("import", "--connection", "pg", "--from-connector", "--restart", "--output", "json")
	rep = report{}
	_ = json.Unmarshal([]byte(out), &rep)
	if code != 0 || rep.SkippedExists != n || rep.Imported != 0 {
		t.Fatalf("restarted import: %d %+v", code, rep)
	}
	e.assertUnique("pg", n)
}

// peak samples the Go heap while a run lasts; the process's peak RSS comes
// from /proc (it includes the in-process FerretDB and PostgreSQL client).
type peak struct {
	stop chan struct{}
	heap atomic.Uint64
}

func samplePeak() *peak {
	p := &peak{stop: make(chan struct{})}
	go func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > p.heap.Load() {
				p.heap.Store(ms.HeapInuse)
			}
			select {
			case <-p.stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return p
}

func (p *peak) done() (heapMiB, rssMiB float64) {
	close(p.stop)
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			rssMiB = kb / 1024
		}
	}
	return float64(p.heap.Load()) / (1 << 20), rssMiB
}

// TestImport100k imports 100,000 users from a JSON Lines file and from the
// PostgreSQL connector through authctl and a real authd (opt-in: it takes
// minutes on FerretDB). TRICKLE_IMPORT_100K=1 go test -run Import100k ./cmd/authctl
func TestImport100k(t *testing.T) {
	if os.Getenv("TRICKLE_IMPORT_100K") == "" {
		t.Skip("set TRICKLE_IMPORT_100K=1 to import 100,000 users from JSONL and from PostgreSQL")
	}
	const n = 100_000
	t.Run("jsonl", func(t *testing.T) {
		e := start(t, "")
		file := writeJSONL(t, 0, n)
		p := samplePeak()
		start := time.Now()
		code, out, errs := e.authctl("import", "--connection", "legacy", "--file", file, "--output", "json")
		d := time.Since(start)
		heap, rss := p.done()
		var rep report
		if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || rep.Imported != n {
			t.Fatalf("exit %d %v %+v\n%s", code, err, rep, errs)
		}
		t.Logf("IMPORT-100K source=jsonl users=%d duration=%s rate=%.0f/s peak_heap_inuse=%.0fMiB peak_rss_process=%.0fMiB", n, d.Round(time.Millisecond), n/d.Seconds(), heap, rss)
		start = time.Now()
		code, out, _ = e.authctl("import", "--connection", "legacy", "--file", file, "--output", "json")
		rep = report{}
		_ = json.Unmarshal([]byte(out), &rep)
		if code != 0 || rep.SkippedExists != n {
			t.Fatalf("re-run: %d %+v", code, rep)
		}
		t.Logf("IMPORT-100K source=jsonl re-run (all skipped) duration=%s", time.Since(start).Round(time.Millisecond))
		e.assertUnique("legacy", n)
	})
	t.Run("postgres", func(t *testing.T) {
		e := start(t, startPostgresConnector(t, n))
		p := samplePeak()
		start := time.Now()
		code, out, errs := e.authctl("import", "--connection", "pg", "--from-connector", "--output", "json")
		d := time.Since(start)
		heap, rss := p.done()
		var rep report
		if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || rep.Imported != n {
			t.Fatalf("exit %d %v %+v\n%s", code, err, rep, errs)
		}
		t.Logf("IMPORT-100K source=postgres users=%d duration=%s rate=%.0f/s peak_heap_inuse=%.0fMiB peak_rss_process=%.0fMiB", n, d.Round(time.Millisecond), n/d.Seconds(), heap, rss)
		e.assertUnique("pg", n)
		if _, err := e.login("pg", "pg99999@example.com"); err != nil {
			t.Fatalf("login after the import: %v", err)
		}
	})
}

// --help never prints a secret: flag defaults do not come from the
// environment, which is read only when a command runs.
func TestHelpDoesNotPrintTheAdminKey(t *testing.T) {
	const secret = "s3cret-admin-key-from-env"
	getenv := func(k string) string {
		switch k {
		case "TRICKLE_ADMIN_KEY":
			return secret
		case "TRICKLE_TLS_KEY":
			return "/secret/path/key.pem"
		}
		return ""
	}
	for _, args := range [][]string{{"--help"}, {"status", "--help"}, {"users", "--help"}, {"token", "verify", "--help"}} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, strings.NewReader(""), &out, &errb, getenv); code != 0 {
			t.Fatalf("authctl %v: exit %d: %s", args, code, errb.String())
		}
		all := out.String() + errb.String()
		if strings.Contains(all, secret) || strings.Contains(all, "/secret/path") {
			t.Fatalf("authctl %v printed a value from the environment:\n%s", args, all)
		}
		if !strings.Contains(all, "TRICKLE_ADMIN_KEY") {
			t.Fatalf("authctl %v: the help no longer names the variable:\n%s", args, all)
		}
	}
}
