package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/connectortest"
	"github.com/trickle-auth/trickle/services/auth/internal/password"
)

const adaPW = "ada's password"

// clientFrom is a gRPC client whose connections come from the loopback
// address src (Linux routes all of 127.0.0.0/8 to lo), so one test plays
// several client IPs.
func clientFrom(t *testing.T, addr, src string) *grpc.ClientConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) { return d.DialContext(ctx, "tcp", a) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// liveHeap is the Go heap in use plus goroutine stacks, in bytes.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

// peakHeap samples liveHeap until stop is closed and returns the peak.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if h := liveHeap(); h > peak {
				peak = h
			}
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// floodHeapBound is the documented bound on the heap (Go objects and
// stacks) of authd under a flood: the 5,000-goroutine flood measured in
// this process (its client side included) and 20,000 concurrent attempts
// from a client process of their own. Without admission
// every call waits for a hashing slot and the heap grows with the callers.
const floodHeapBound = 512 << 20

// A flood of correct logins from one client IP (5,000 goroutines over 200
// connections, production argon2id parameters) meets admission control:
// the excess is refused at once with RESOURCE_EXHAUSTED and a Retry-After,
// the heap stays under floodHeapBound, and a login of another user from
// another IP succeeds at its first try while the flood runs.
func TestLoginFloodIsRefusedNotQueued(t *testing.T) {
	e := newEnv(t)
	e.legacy.Add(connectortest.User{Password: adaPW, Profile: &connectorv1.LegacyProfile{LegacyId: "1002", Email: "ada@example.com", Username: "ada"}})
	cfg := e.config()
	cfg.Password.Params = password.DefaultParams() // ~19 MiB and tens of ms per verification
	cfg.BruteForce.Disabled = true                 // admission alone is under test
	srv := e.start(cfg)
	probe := authv1.NewAuthServiceClient(clientFrom(t, srv.GRPCAddr(), "127.0.0.1"))
	for _, u := range [][2]string{{"grace", gracePW}, {"ada", adaPW}} { // migrate both first
		if _, err := probe.Login(context.Background(), &authv1.LoginRequest{Connection: "legacy", Identifier: u[0], Password: u[1]}); err != nil {
			t.Fatal(err)
		}
	}

	goroutines, conns := 5000, 200
	if raceEnabled { // the race detector allows 8,128 live goroutines
		goroutines, conns = 1500, 60
	}
	flood := make([]authv1.AuthServiceClient, conns)
	for i := range flood {
		flood[i] = authv1.NewAuthServiceClient(clientFrom(t, srv.GRPCAddr(), "127.0.0.2"))
	}
	before := liveHeap()
	stop := make(chan struct{})
	peak := peakHeap(stop)
	var codesSeen sync.Map
	var refused, retryAfter atomic.Int64
	firstRefusal := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2 {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				var hdr metadata.MD
				_, err := flood[i%conns].Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "grace", Password: gracePW}, grpc.Header(&hdr))
				cancel()
				c := status.Code(err)
				n, _ := codesSeen.LoadOrStore(c, new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
				if c == codes.ResourceExhausted {
					refused.Add(1)
					if len(hdr.Get("retry-after")) == 1 {
						retryAfter.Add(1)
					}
					once.Do(func() { close(firstRefusal) })
				}
			}
		}()
	}
	select {
	case <-firstRefusal:
	case <-time.After(60 * time.Second):
		t.Error("no RESOURCE_EXHAUSTED within a minute of the flood: calls are queued without bound")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	res, probeErr := probe.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "ada@example.com", Password: adaPW})
	cancel()
	wg.Wait()
	close(stop)
	top := <-peak

	seen := map[string]int64{}
	codesSeen.Range(func(k, v any) bool { seen[k.(codes.Code).String()] = v.(*atomic.Int64).Load(); return true })
	t.Logf("%d goroutines x 2 logins over %d connections: %v; heap %d MiB before, peak %d MiB (bound %d MiB)",
		goroutines, conns, seen, before>>20, top>>20, floodHeapBound>>20)
	if probeErr != nil || res.GetUser().GetEmail() != "ada@example.com" {
		t.Fatalf("probe login of another user during the flood: %v", probeErr)
	}
	for c := range seen {
		if c != codes.OK.String() && c != codes.ResourceExhausted.String() {
			t.Errorf("flood answered %s: only OK or RESOURCE_EXHAUSTED are acceptable", c)
		}
	}
	if refused.Load() == 0 || retryAfter.Load() != refused.Load() {
		t.Fatalf("refusals %d, with retry-after %d: every refusal must say when to retry", refused.Load(), retryAfter.Load())
	}
	if !raceEnabled && top > floodHeapBound {
		t.Fatalf("peak heap %d MiB exceeds the documented bound of %d MiB", top>>20, floodHeapBound>>20)
	}
	if m := scrape(t, srv); !strings.Contains(m, "trickle_admission_refused_total") {
		t.Error("trickle_admission_refused_total missing from /metrics")
	}
}

// Connections beyond limits.max_connections wait in the kernel's backlog
// instead of costing descriptors: with 3x the limit of silent connections
// open on the gRPC and REST listeners, the process holds at most the
// limit per listener on its side, and a new caller still logs in once
// the handshake timeout has closed silent connections ahead of it.
func TestIdleConnectionsBeyondTheLimit(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	const limit, idle = 40, 3 * 40
	cfg.Limits.MaxConnections = limit
	cfg.Limits.HandshakeTimeout = 500 * time.Millisecond
	cfg.Limits.IdleTimeout = time.Second
	logs := &lockedBuffer{}
	srv := e.startLogged(cfg, slog.New(slog.NewTextHandler(logs, nil)))
	base := openFDs(t)
	var silent []net.Conn
	t.Cleanup(func() {
		for _, c := range silent {
			_ = c.Close()
		}
	})
	for _, addr := range []string{srv.GRPCAddr(), srv.HTTPAddr()} {
		for range idle {
			c, err := net.Dial("tcp", addr) // completes in the kernel backlog even when not accepted
			if err != nil {
				t.Fatal(err)
			}
			silent = append(silent, c)
		}
	}
	time.Sleep(300 * time.Millisecond) // let the server accept what it will
	held := openFDs(t) - base - len(silent)
	t.Logf("%d silent connections per listener, limit %d: the server side holds %d descriptors", idle, limit, held)
	if held > 2*limit+10 {
		t.Fatalf("the server holds %d descriptors for %d silent connections: listener limit %d not applied", held, 2*idle, limit)
	}
	// A real caller, queued behind the silent connections.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := authClient(t, srv).Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "grace", Password: gracePW}); err != nil {
		t.Fatalf("login behind %d silent connections: %v", idle, err)
	}
	if strings.Contains(logs.tail(1000), "too many open files") {
		t.Fatal("the server ran out of file descriptors")
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// 20,000 concurrent login attempts, from a client process of their own
// (built without the race detector, so the flood is not bounded by its
// goroutine limit and its memory is not counted as the service's): the
// service's heap stays under floodHeapBound, refusals say when to retry,
// and a login of another user during the flood answers at its first try.
func TestTwentyThousandConcurrentAttempts(t *testing.T) {
	e := newEnv(t)
	e.legacy.Add(connectortest.User{Password: adaPW, Profile: &connectorv1.LegacyProfile{LegacyId: "1002", Email: "ada@example.com", Username: "ada"}})
	cfg := e.config()
	cfg.Password.Params = password.DefaultParams()
	cfg.BruteForce.Disabled = true // admission alone is under test
	srv := e.start(cfg)
	probe := authv1.NewAuthServiceClient(clientFrom(t, srv.GRPCAddr(), "127.0.0.1"))
	for _, u := range [][2]string{{"grace", gracePW}, {"ada", adaPW}} {
		if _, err := probe.Login(context.Background(), &authv1.LoginRequest{Connection: "legacy", Identifier: u[0], Password: u[1]}); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(t.TempDir(), "floodclient")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/floodclient").CombinedOutput(); err != nil {
		t.Fatalf("build the flood client: %v\n%s", err, out)
	}
	stop := make(chan struct{})
	peak := peakHeap(stop)
	cmd := exec.Command(bin, "-addr", srv.GRPCAddr(), "-n", "20000", "-conns", "400", "-identifier", "grace", "-password", gracePW)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The probe goes in once the flood is under way: its first refusal.
	waitFor(t, "the flood's first refusal", func() bool {
		return metric(t, srv.OpsAddr(), `trickle_admission_refused_total{reason="queue_full"}`) > 0 ||
			metric(t, srv.OpsAddr(), `trickle_admission_refused_total{reason="per_client"}`) > 0
	})
	// The deadline is no time limit under test: the race detector on a
	// loaded 2-core machine makes everything slow, only an answer counts.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	res, probeErr := probe.Login(ctx, &authv1.LoginRequest{Connection: "legacy", Identifier: "ada@example.com", Password: adaPW})
	cancel()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("flood client: %v\n%s", err, stderr.String())
	}
	close(stop)
	top := <-peak
	var got struct {
		Codes      map[string]int    `json:"codes"`
		RetryAfter int               `json:"retry_after"`
		Samples    map[string]string `json:"samples"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("flood client output %q: %v", stdout.String(), err)
	}
	t.Logf("20,000 concurrent attempts: %v (%v), %d refusals with retry-after; service heap peak %d MiB (bound %d MiB)",
		got.Codes, got.Samples, got.RetryAfter, top>>20, floodHeapBound>>20)
	if probeErr != nil || res.GetUser().GetEmail() != "ada@example.com" {
		t.Fatalf("probe login of another user during the flood: %v", probeErr)
	}
	// A connection the service could not take in time is reset
	// (UNAVAILABLE at the client, which may retry); nothing else.
	if got.Codes["OK"]+got.Codes["ResourceExhausted"]+got.Codes["Unavailable"] != 20000 || got.RetryAfter != got.Codes["ResourceExhausted"] {
		t.Fatalf("answers %v, %d with retry-after: want only OK, RESOURCE_EXHAUSTED with retry-after, or a reset connection", got.Codes, got.RetryAfter)
	}
	if top > floodHeapBound {
		t.Fatalf("service heap peaked at %d MiB, over the documented bound of %d MiB", top>>20, floodHeapBound>>20)
	}
}
