package server_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/deploy/testenv"
	"github.com/trickle-auth/trickle/deploy/testenv/ferret"
	"github.com/trickle-auth/trickle/deploy/testenv/redistest"
	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/connectortest"
)

// The fault tests break one dependency in the middle of the login flow and
// check, each time: a clear status code, no duplicate user and no
// half-written user (checkUsers), and that the service recovers.

const gracePW = "pa55-wörd"

// legacyUser adds a legacy user with metadata (a half-written copy would
// lack it) and returns its password.
func legacyUser(e *env, id, name string) string {
	um, _ := structpb.NewStruct(map[string]any{"locale": "fr", "id": id})
	e.legacy.Add(connectortest.User{Password: "pw-" + name + "-123", Profile: &connectorv1.LegacyProfile{
		LegacyId: id, Email: name + "@example.com", Username: name, EmailVerified: true, Name: name, UserMetadata: um,
	}})
	return "pw-" + name + "-123"
}

func loginErr(c authv1.AuthServiceClient, ident, pw string) error {
	_, err := c.Login(context.Background(), &authv1.LoginRequest{Connection: "legacy", Identifier: ident, Password: pw})
	return err
}

func wantCodeOf(t *testing.T, what string, err error, want codes.Code) {
	t.Helper()
	if status.Code(err) != want {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

// checkUsers asserts the users collection holds exactly the listed legacy
// users (email -> legacy id), one document each, every one whole.
func checkUsers(t *testing.T, db *mongo.Database, want map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cur, err := db.Collection("users").Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.M
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, d := range docs {
		email, _ := d["email"].(string)
		seen[email]++
		id, ok := want[email]
		if !ok {
			t.Errorf("unexpected user document %q", email)
			continue
		}
		hash, _ := d["password_hash"].(string)
		um := asMap(d["user_metadata"])
		switch {
		case d["legacy_id"] != id:
			t.Errorf("%s: legacy_id %v, want %s", email, d["legacy_id"], id)
		case !strings.HasPrefix(hash, "$argon2id$"):
			t.Errorf("%s: half-written, password_hash %q", email, hash)
		case d["origin"] != "migrated_on_login" || d["email_key"] == nil || d["created_at"] == nil:
			t.Errorf("%s: half-written document %v", email, d)
		case um == nil || (email != "grace@example.com" && um["id"] != id):
			t.Errorf("%s: user_metadata missing or wrong: %v", email, d["user_metadata"])
		}
	}
	for email := range want {
		if seen[email] != 1 {
			t.Errorf("%s: %d documents, want 1", email, seen[email])
		}
	}
}

// asMap reads a nested document whichever way the driver decoded it.
func asMap(v any) map[string]any {
	switch x := v.(type) {
	case bson.M:
		return x
	case bson.D:
		m := make(map[string]any, len(x))
		for _, e := range x {
			m[e.Key] = e.Value
		}
		return m
	}
	return nil
}

func (e *env) db(t *testing.T) *mongo.Database { return mongotestClient(t).Database(e.dbName) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The connector dies while a first login waits for its answer.
func TestFaultConnectorKilledMidLogin(t *testing.T) {
	t.Parallel() // mostly waiting on timeouts
	e := newEnv(t)
	cfg := e.config()
	cfg.Connections[0].Connector.Timeout = 10 * time.Second
	cfg.Connections[0].Connector.Guard.BreakerFailures = 1000 // the reconnect loop below must not open it
	client := authClient(t, e.start(cfg))
	e.legacy.SetDelay(time.Hour)
	errc := make(chan error, 1)
	go func() { errc <- loginErr(client, "grace@example.com", gracePW) }()
	waitFor(t, "the Login call to reach the connector", func() bool { return e.legacy.LoginCalls.Load() == 1 })
	e.legacy.Stop()
	wantCodeOf(t, "login while the connector dies", <-errc, codes.Unavailable)
	wantCodeOf(t, "login while the connector is down", loginErr(client, "grace@example.com", gracePW), codes.Unavailable)
	checkUsers(t, e.db(t), map[string]string{})

	// Back on the same address: the login works, nothing was left behind
	// (no stuck lock, no partial user).
	e.legacy.SetDelay(0)
	e.legacy.Restart(t)
	// The connector client reconnects with backoff: UNAVAILABLE (and
	// nothing written) until it has.
	waitFor(t, "a login once the connector is back", func() bool {
		err := loginErr(client, "grace@example.com", gracePW)
		if err != nil {
			wantCodeOf(t, "login while reconnecting", err, codes.Unavailable)
			time.Sleep(100 * time.Millisecond)
		}
		return err == nil
	})
	checkUsers(t, e.db(t), map[string]string{"grace@example.com": "1001"})
}

// The connector hangs past the connection's deadline.
func TestFaultConnectorHangsPastDeadline(t *testing.T) {
	t.Parallel() // mostly waiting on timeouts
	e := newEnv(t)
	cfg := e.config()
	cfg.Connections[0].Connector.Timeout = 300 * time.Millisecond
	client := authClient(t, e.start(cfg))
	rdb, _ := redistest.Client(t)
	lockKey := e.prefix + "lock:legacy:grace@example.com"

	e.legacy.SetDelay(time.Hour)
	wantCodeOf(t, "login past the deadline", loginErr(client, "grace@example.com", gracePW), codes.Unavailable)
	checkUsers(t, e.db(t), map[string]string{})
	if n, err := rdb.Exists(context.Background(), lockKey).Result(); err != nil || n != 0 {
		t.Fatalf("migration lock left behind after a timeout: exists=%d %v", n, err)
	}
	e.legacy.SetDelay(0)
	if err := loginErr(client, "grace@example.com", gracePW); err != nil {
		t.Fatalf("after the connector answers again: %v", err)
	}
	checkUsers(t, e.db(t), map[string]string{"grace@example.com": "1001"})
}

// startRedis runs a private redis-server on a free port (never the shared
// one) and returns its address and a function that kills it.
func startRedis(t *testing.T, port int) (addr string, kill func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Unavailable(t, "redis-server binary", err)
	}
	if port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
	}
	addr = "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill = func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(kill)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	waitFor(t, "redis-server on "+addr, func() bool { return rdb.Ping(context.Background()).Err() == nil })
	return addr, kill
}

// metric returns the value of one Prometheus sample line (0 when absent).
func metric(t *testing.T, opsAddr, sample string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + opsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return 0
}

// Redis (lock and brute-force counters) goes away and comes back: logins
// go on without the lock, concurrent first logins over two instances still
// make one user, and the lock is used again once Redis is back.
func TestFaultRedisStoppedThenRestarted(t *testing.T) {
	t.Parallel() // mostly waiting on timeouts
	e := newEnv(t)
	addr, kill := startRedis(t, 0)
	cfg := e.config()
	cfg.Redis.Addr, cfg.Redis.Timeout = addr, 300*time.Millisecond
	a, b := e.start(cfg), e.start(cfg)
	ca, cb := authClient(t, a), authClient(t, b)
	alanPW, bobPW := legacyUser(e, "2001", "alan"), legacyUser(e, "2002", "bob")
	const unavailable = `trickle_migration_lock_unavailable_total{connection="legacy"}`

	if err := loginErr(ca, "grace@example.com", gracePW); err != nil {
		t.Fatal(err)
	}
	kill()
	if err := loginErr(cb, "grace", gracePW); err != nil {
		t.Fatalf("migrated user while Redis is down: %v", err)
	}
	wantCodeOf(t, "wrong password while Redis is down", loginErr(ca, "grace", "nope"), codes.Unauthenticated)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ca
			if i%2 == 1 {
				c = cb
			}
			if err := loginErr(c, "alan@example.com", alanPW); err != nil {
				t.Errorf("first login %d while Redis is down: %v", i, err)
			}
		}()
	}
	wg.Wait()
	down := metric(t, a.OpsAddr(), unavailable) + metric(t, b.OpsAddr(), unavailable)
	if down < 1 {
		t.Fatalf("no migration counted as done without the lock (%v)", down)
	}
	checkUsers(t, e.db(t), map[string]string{"grace@example.com": "1001", "alan@example.com": "2001"})

	port, _ := strconv.Atoi(addr[strings.LastIndex(addr, ":")+1:])
	startRedis(t, port)
	// The Redis client redials in the background (about a second): probe
	// with unknown users, whose logins take the lock too, until one does.
	probe := 0
	waitFor(t, "the lock to work again", func() bool {
		probe++
		before := metric(t, a.OpsAddr(), unavailable)
		wantCodeOf(t, "probe", loginErr(ca, fmt.Sprintf("probe%d@example.com", probe), "x"), codes.Unauthenticated)
		if metric(t, a.OpsAddr(), unavailable) == before {
			return true
		}
		time.Sleep(50 * time.Millisecond)
		return false
	})
	down = metric(t, a.OpsAddr(), unavailable) + metric(t, b.OpsAddr(), unavailable)
	if err := loginErr(ca, "bob@example.com", bobPW); err != nil {
		t.Fatalf("first login after Redis came back: %v", err)
	}
	if after := metric(t, a.OpsAddr(), unavailable) + metric(t, b.OpsAddr(), unavailable); after != down {
		t.Fatalf("migrations without the lock went from %v to %v after Redis came back", down, after)
	}
	checkUsers(t, e.db(t), map[string]string{"grace@example.com": "1001", "alan@example.com": "2001", "bob@example.com": "2002"})
}

// The user store goes away: logins answer UNAVAILABLE and never reach the
// legacy store (nothing could be written anyway); what was written before
// is intact after a restart.
func TestFaultMongoDBStopped(t *testing.T) {
	t.Parallel() // mostly waiting on timeouts
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "ferretdb")
	f, err := ferret.Start(dir, nil)
	if err != nil {
		if testenv.InCI() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	t.Cleanup(f.Stop)
	cfg := e.config()
	cfg.MongoDB.URI, cfg.MongoDB.Database, cfg.MongoDB.Timeout = kitconfig.SecretLiteral(f.URI()), "trickle", time.Second
	srv := e.start(cfg)
	client := authClient(t, srv)
	alanPW := legacyUser(e, "2001", "alan")
	if err := loginErr(client, "grace@example.com", gracePW); err != nil {
		t.Fatal(err)
	}
	f.Stop()
	calls := e.legacy.LoginCalls.Load()
	wantCodeOf(t, "first login without MongoDB", loginErr(client, "alan@example.com", alanPW), codes.Unavailable)
	wantCodeOf(t, "migrated user without MongoDB", loginErr(client, "grace@example.com", gracePW), codes.Unavailable)
	wantCodeOf(t, "unknown user without MongoDB", loginErr(client, "nobody@example.com", "x"), codes.Unavailable)
	_, err = client.SignUp(context.Background(), &authv1.SignUpRequest{Connection: "legacy", Email: "new@example.com", Password: "a-long-password"})
	wantCodeOf(t, "sign-up without MongoDB", err, codes.Unavailable)
	if got := e.legacy.LoginCalls.Load(); got != calls {
		t.Fatalf("connector Login called %d times while MongoDB was down", got-calls)
	}
	if e.legacy.GetUserCalls.Load() != 0 {
		t.Fatal("connector GetUser called while MongoDB was down")
	}
	resp, err := http.Get("http://" + srv.OpsAddr() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz without MongoDB: %d", resp.StatusCode)
	}

	f2, err := ferret.Start(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f2.Stop)
	c, err := mongo.Connect(options.Client().ApplyURI(f2.URI()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	checkUsers(t, c.Database("trickle"), map[string]string{"grace@example.com": "1001"})
}

// An instance dies while holding the migration lock (its key stays in
// Redis until the TTL): the next first login of that identifier does not
// reach the connector while the key lives, then migrates once.
func TestFaultInstanceDiesHoldingTheLock(t *testing.T) {
	t.Parallel() // mostly waiting on timeouts
	e := newEnv(t)
	cfg := e.config()
	cfg.Connections[0].Connector.Timeout = 500 * time.Millisecond
	cfg.Connections[0].Connector.LockTTL = 1500 * time.Millisecond
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	client := authClient(t, e.start(cfg))
	rdb, _ := redistest.Client(t)
	ctx := context.Background()
	// What the dead instance left: the same key, its own token.
	lockKey := e.prefix + "lock:legacy:grace@example.com"
	if err := rdb.Set(ctx, lockKey, "token-of-a-dead-instance", cfg.Connections[0].Connector.LockTTL).Err(); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- loginErr(client, "grace@example.com", gracePW) }()
	for {
		calls := e.legacy.LoginCalls.Load() // before reading the key: it cannot come back
		v, err := rdb.Get(ctx, lockKey).Result()
		if err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		if v != "token-of-a-dead-instance" {
			break // expired; the live instance may hold it now
		}
		if calls != 0 {
			t.Fatal("connector called while the dead instance's lock was live")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := <-errc; err != nil {
		t.Fatalf("login after the lock expired: %v", err)
	}
	if calls := e.legacy.LoginCalls.Load(); calls != 1 {
		t.Fatalf("connector Login calls = %d, want 1", calls)
	}
	checkUsers(t, e.db(t), map[string]string{"grace@example.com": "1001"})
}
