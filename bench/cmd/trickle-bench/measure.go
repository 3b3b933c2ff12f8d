package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// measureFloor returns the median time of one hash on an idle core and the
// median of runs measurements of verifications per second on all cores.
//
// cpuMs is the CPU time one verification costs in the floor runs (process
// CPU time / verifications; nothing else runs in this process then): the
// contention-proof yardstick for authd's CPU time per login.
func measureFloor(p argonParams, ncpu, runs int) (hashMs, perSec, cpuMs float64, all []float64) {
	salt := make([]byte, p.SaltLen)
	_, _ = rand.Read(salt)
	var one []float64
	for range 9 {
		t := time.Now()
		p.key(benchPassword, salt)
		one = append(one, ms(time.Since(t)))
	}
	var cpus []float64
	for range runs {
		cpu0 := cpuTime(os.Getpid())
		var n atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		deadline := start.Add(3 * time.Second)
		for range ncpu {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					p.key(benchPassword, salt)
					n.Add(1)
				}
			})
		}
		wg.Wait()
		all = append(all, float64(n.Load())/time.Since(start).Seconds())
		cpus = append(cpus, ms(cpuTime(os.Getpid())-cpu0)/float64(n.Load()))
	}
	return median(one), median(all), median(cpus), all
}

// measureLegacy times a Login call to the connector itself: the gRPC round
// trip plus the legacy hash verification, what authd waits for.
func measureLegacy(addr, user string, n int) float64 {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0
	}
	defer conn.Close()
	c := connectorv1.NewLegacyConnectorClient(conn)
	var xs []float64
	for range n {
		ctx, cancel := background(30 * time.Second)
		t := time.Now()
		_, err := c.Login(ctx, &connectorv1.LoginRequest{Identifier: user, Password: benchPassword})
		cancel()
		if err == nil {
			xs = append(xs, ms(time.Since(t)))
		}
	}
	return median(xs)
}

type authClient struct {
	conn *grpc.ClientConn
	authv1.AuthServiceClient
}

func dialAuth(addr string) (*authClient, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	return &authClient{conn: conn, AuthServiceClient: authv1.NewAuthServiceClient(conn)}, nil
}

func login(c *authClient, user string) (*authv1.LoginResponse, error) {
	ctx, cancel := background(120 * time.Second)
	defer cancel()
	return c.Login(ctx, &authv1.LoginRequest{Connection: "bench", Identifier: user, Password: benchPassword})
}

// seed migrates users through authd (their legacy hash is adopted, so no
// hashing: seeding is fast).
func seed(addr string, users []string, workers int) error {
	c, err := dialAuth(addr)
	if err != nil {
		return err
	}
	defer c.conn.Close()
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(users); i = int(next.Add(1)) - 1 {
				if _, err := login(c, users[i]); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("seed %s: %w", users[i], err) })
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

type migration struct {
	Variant  string  `json:"variant"`
	Legacy   string  `json:"legacy"`
	Adopted  bool    `json:"adopted"`
	N        int     `json:"n"`
	Ms       float64 `json:"median_ms"`
	LegacyMs float64 `json:"legacy_verify_ms"`
	HashMs   float64 `json:"hash_ms"` // one new hash, 0 when adopted
	// OverMs is what the migration costs beyond legacy verify (+ hash).
	OverMs float64 `json:"overhead_ms"`
	All    []float64
}

// measureMigrations times first logins one at a time (concurrency 1).
func measureMigrations(a *authd, leg *fakeLegacy, n int, res *results) []migration {
	c, err := dialAuth(a.grpc)
	if err != nil {
		return nil
	}
	defer c.conn.Close()
	variants := []struct {
		name, legacy string
		kind         legacyKind
		adopted      bool
		legacyMs     float64
	}{
		{"bcrypt-10, hash not exported: new argon2id hash", "bcrypt cost 10", kindBcrypt, false, res.LegacyBcryptMs},
		{"bcrypt-10 exported: adopted as is", "bcrypt cost 10", kindBcryptExported, true, res.LegacyBcryptMs},
		{"argon2id at policy exported: adopted as is", "argon2id m=19456 t=2 p=1", kindArgon2Exported, true, res.LegacyArgon2Ms},
	}
	var out []migration
	for i, v := range variants {
		logf("migrations: %s", v.name)
		users := leg.add(fmt.Sprintf("mig%d", i), n, v.kind)
		m := migration{Variant: v.name, Legacy: v.legacy, Adopted: v.adopted, LegacyMs: v.legacyMs}
		if !v.adopted {
			m.HashMs = res.HashMs
		}
		for _, u := range users {
			t := time.Now()
			r, err := login(c, u)
			d := ms(time.Since(t))
			if err != nil || !r.GetMigrated() {
				logf("  %s: migrated=%v err=%v", u, r.GetMigrated(), err)
				continue
			}
			m.All = append(m.All, d)
		}
		m.N = len(m.All)
		m.Ms = median(m.All)
		m.OverMs = m.Ms - m.LegacyMs - m.HashMs
		out = append(out, m)
	}
	return out
}

type transport struct {
	N           int     `json:"n"`
	GRPCp50ms   float64 `json:"grpc_p50_ms"`
	RESTp50ms   float64 `json:"rest_p50_ms"`
	RESTOverMs  float64 `json:"rest_over_grpc_ms"`
	Description string  `json:"description"`
}

// measureTransport isolates what REST adds to gRPC: a Login on an unknown
// connection passes the interceptors and (for REST) the gateway and its
// loopback gRPC call, but no store or hash, so the difference of the
// medians is the gateway's cost without the hash's noise.
func measureTransport(a *authd, n int) transport {
	c, err := dialAuth(a.grpc)
	if err != nil {
		return transport{}
	}
	defer c.conn.Close()
	req := &authv1.LoginRequest{Connection: "no-such-connection", Identifier: "x@bench.test", Password: "x"}
	body := []byte(`{"connection":"no-such-connection","identifier":"x@bench.test","password":"x"}`)
	hc := &http.Client{Timeout: 10 * time.Second}
	var g, r []float64
	for i := range 2 * n {
		if i%2 == 0 {
			t := time.Now()
			ctx, cancel := background(10 * time.Second)
			_, err := c.Login(ctx, req)
			cancel()
			if status.Code(err) == codes.InvalidArgument {
				g = append(g, ms(time.Since(t)))
			}
			continue
		}
		t := time.Now()
		resp, err := hc.Post("http://"+a.http+"/v1/login", "application/json", bytes.NewReader(body))
		if err == nil {
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusBadRequest {
				r = append(r, ms(time.Since(t)))
			}
		}
	}
	t := transport{N: n, GRPCp50ms: median(g), RESTp50ms: median(r),
		Description: "Login on an unknown connection (INVALID_ARGUMENT / 400): interceptors, gateway, no store, no hash; alternating, sequential"}
	t.RESTOverMs = t.RESTp50ms - t.GRPCp50ms
	return t
}

type profile struct {
	During   string `json:"during"`
	CPUTop   string `json:"cpu_top"`
	AllocTop string `json:"alloc_top"`
	Files    string `json:"files"`
}

// measureLoad runs ghz and hey at each concurrency, interleaved, runs times;
// during the first gRPC run at 2 x cores it takes CPU and alloc profiles.
func measureLoad(o benchOptions, a *authd, bin, outDir, user string, ncpu int) ([]loadResult, profile) {
	body := loginBody{Connection: "bench", Identifier: user, Password: benchPassword}
	var out []loadResult
	var prof profile
	for r := range o.runs {
		for _, c := range []int{1, 2 * ncpu, 50} {
			for _, tool := range []string{"ghz", "hey"} {
				profiling := r == 0 && c == 2*ncpu && tool == "ghz"
				d := o.dur
				var wg sync.WaitGroup
				if profiling {
					secs := int(max(o.dur, 5*time.Second).Seconds())
					d = time.Duration(secs+1) * time.Second
					prof.During = fmt.Sprintf("ghz, concurrency %d, %ds", c, secs)
					cpuPath, allocPath := filepath.Join(outDir, "cpu.pprof"), filepath.Join(outDir, "allocs.pprof")
					prof.Files = cpuPath + ", " + allocPath
					for _, k := range []struct{ kind, path string }{{"profile", cpuPath}, {"allocs", allocPath}} {
						wg.Go(func() {
							ctx, cancel := background(time.Minute)
							defer cancel()
							time.Sleep(500 * time.Millisecond)
							if err := a.fetchProfile(ctx, k.kind, secs-1, k.path); err != nil {
								logf("profile %s: %v", k.kind, err)
							}
						})
					}
				}
				cpu0, self0 := cpuTime(a.pid()), cpuTime(os.Getpid())
				raw := filepath.Join(outDir, fmt.Sprintf("load-%d-%s-c%d.out", r+1, tool, c))
				var lr loadResult
				var err error
				if tool == "ghz" {
					lr, err = runGhz(o.ghz, raw, a.grpc, body, c, 0, d)
				} else {
					lr, err = runHey(o.hey, raw, outDir, a.http, body, c, 0, d)
				}
				cpu, self := cpuTime(a.pid())-cpu0, cpuTime(os.Getpid())-self0
				wg.Wait()
				if err != nil {
					logf("load %s c=%d: %v", tool, c, err)
					continue
				}
				if lr.OK > 0 {
					lr.AuthdCPUms = ms(cpu) / float64(lr.OK)
					lr.StoreCPUms = ms(self) / float64(lr.OK)
				}
				logf("load run %d %s c=%-3d %6.1f logins/s p50 %6.1f ms p99 %7.1f ms errors %d, CPU ms/login: authd %.1f, harness %.1f",
					r+1, tool, c, lr.RPS, lr.P50ms, lr.P99ms, lr.Errors, lr.AuthdCPUms, lr.StoreCPUms)
				out = append(out, lr)
			}
		}
	}
	if prof.Files != "" {
		prof.CPUTop = pprofTop(bin, filepath.Join(outDir, "cpu.pprof"))
		prof.AllocTop = pprofTop(bin, filepath.Join(outDir, "allocs.pprof"), "-sample_index=alloc_space")
	}
	return out, prof
}

type storm struct {
	Run            int     `json:"run"`
	Instances      int     `json:"instances"`
	Logins         int     `json:"logins"`
	Users          int     `json:"users"`
	OK             int     `json:"ok"`
	Errors         int     `json:"errors"`
	MigratedTrue   int     `json:"migrated_true"`
	LegacyCalls    int     `json:"legacy_calls"`
	MaxCallsOne    int     `json:"max_legacy_calls_one_user"`
	UsersCreated   int64   `json:"users_created"`
	Duplicates     int64   `json:"duplicates"`
	Seconds        float64 `json:"seconds"`
	FirstErrorText string  `json:"first_error,omitempty"`
}

// measureStorm: 500 concurrent first logins of 50 users over 3 instances
// sharing the store and the Redis lock.
func measureStorm(o benchOptions, spec func(string) authdSpec, leg *fakeLegacy, mongoURI, db string) ([]storm, error) {
	const instances, logins, users = 3, 500, 50
	var as []*authd
	defer func() {
		for _, a := range as {
			a.stop()
		}
	}()
	var clients []*authClient
	for i := range instances {
		a, err := startAuthd(spec(fmt.Sprintf("authd-storm-%d", i+1)))
		if err != nil {
			return nil, err
		}
		as = append(as, a)
		c, err := dialAuth(a.grpc)
		if err != nil {
			return nil, err
		}
		defer c.conn.Close()
		clients = append(clients, c)
	}
	mc, err := mongoClient(mongoURI)
	if err != nil {
		return nil, err
	}
	defer func() { _ = mc.Disconnect(context.Background()) }()
	coll := mc.Database(db).Collection("users")

	var out []storm
	for r := range o.runs {
		ids := leg.add(fmt.Sprintf("storm%d", r), users, kindBcrypt)
		s := storm{Run: r + 1, Instances: instances, Logins: logins, Users: users}
		var mu sync.Mutex
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i := range logins {
			wg.Go(func() {
				<-gate
				resp, err := login(clients[i%instances], ids[i%users])
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					s.Errors++
					if s.FirstErrorText == "" {
						s.FirstErrorText = err.Error()
					}
				default:
					s.OK++
					if resp.GetMigrated() {
						s.MigratedTrue++
					}
				}
			})
		}
		t := time.Now()
		close(gate)
		wg.Wait()
		s.Seconds = time.Since(t).Seconds()
		s.LegacyCalls, s.MaxCallsOne = leg.callsFor(ids)
		ctx, cancel := background(30 * time.Second)
		n, err := coll.CountDocuments(ctx, bson.D{{Key: "connection", Value: "bench"}, {Key: "email_key", Value: bson.D{{Key: "$in", Value: ids}}}})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("count storm users: %w", err)
		}
		s.UsersCreated = n
		s.Duplicates = max(n-int64(users), 0)
		logf("storm run %d: %d logins (%d errors) in %.1fs, legacy calls %d, users %d, migrated:true %d",
			r+1, s.OK, s.Errors, s.Seconds, s.LegacyCalls, s.UsersCreated, s.MigratedTrue)
		out = append(out, s)
	}
	return out, nil
}

type rssRun struct {
	Tool        string  `json:"tool"`
	Concurrency int     `json:"concurrency"`
	IdleRSSMiB  float64 `json:"idle_rss_mib"`
	PeakRSSMiB  float64 `json:"peak_rss_mib"` // VmHWM
	OK          int     `json:"ok"`
	Errors      int     `json:"errors"`
	Seconds     float64 `json:"seconds"`
	// HeapTop is the in-use heap 4 s into the run (logins queued).
	HeapFile string `json:"heap_profile"`
	HeapTop  string `json:"heap_top"`
}

// measureRSS runs `concurrency` logins at once against a fresh authd
// process and reads its peak RSS (VmHWM).
func measureRSS(o benchOptions, spec func(string) authdSpec, user string) ([]rssRun, error) {
	var out []rssRun
	for _, c := range []struct {
		tool string
		n    int
	}{{"ghz", 50}, {"ghz", 1000}, {"hey", 1000}} {
		s := spec(fmt.Sprintf("authd-rss-%s-%d", c.tool, c.n))
		a, err := startAuthd(s)
		if err != nil {
			return nil, err
		}
		cl, err := dialAuth(a.grpc)
		if err == nil {
			for range 3 { // warm: connections, first hash
				_, _ = login(cl, user)
			}
			cl.conn.Close()
		}
		idle, _, _ := memKiB(a.pid())
		body := loginBody{Connection: "bench", Identifier: user, Password: benchPassword}
		var lr loadResult
		raw := filepath.Join(s.dir, s.name+".out")
		// While the logins wait for the pool, see what holds the memory.
		heapPath := filepath.Join(s.dir, s.name+"-heap.pprof")
		var wg sync.WaitGroup
		wg.Go(func() {
			time.Sleep(4 * time.Second)
			ctx, cancel := background(30 * time.Second)
			defer cancel()
			if err := a.fetchProfile(ctx, "heap", 0, heapPath); err != nil {
				logf("heap profile: %v", err)
			}
		})
		if c.tool == "ghz" {
			lr, err = runGhz(o.ghz, raw, a.grpc, body, c.n, c.n, 0)
		} else {
			lr, err = runHey(o.hey, raw, s.dir, a.http, body, c.n, c.n, 0)
		}
		wg.Wait()
		_, hwm, merr := memKiB(a.pid())
		a.stop()
		if err = errors.Join(err, merr); err != nil {
			return nil, err
		}
		r := rssRun{Tool: c.tool, Concurrency: c.n, IdleRSSMiB: float64(idle) / 1024, PeakRSSMiB: float64(hwm) / 1024,
			OK: lr.OK, Errors: lr.Errors, Seconds: lr.Seconds, HeapFile: heapPath,
			HeapTop: pprofTop(s.binary, heapPath, "-sample_index=inuse_space", "-nodecount=12")}
		logf("rss %s c=%d: idle %.0f MiB, peak %.0f MiB (%d ok, %d errors, %.1fs)", c.tool, c.n, r.IdleRSSMiB, r.PeakRSSMiB, r.OK, r.Errors, r.Seconds)
		out = append(out, r)
	}
	return out, nil
}

// measureStoreOps times single round trips to the user store from here:
// an indexed lookup that finds nothing (what a first login does several
// times) and an insert. A migration makes about nine such round trips.
func measureStoreOps(uri, db string) (findMs, insertMs float64) {
	c, err := mongoClient(uri)
	if err != nil {
		return 0, 0
	}
	defer func() { _ = c.Disconnect(context.Background()) }()
	users := c.Database(db).Collection("users")
	probe := c.Database(db).Collection("bench_probe")
	var f, ins []float64
	for i := range 30 {
		ctx, cancel := background(10 * time.Second)
		t := time.Now()
		_ = users.FindOne(ctx, bson.D{{Key: "connection", Value: "bench"}, {Key: "email_key", Value: "nobody@bench.test"}}).Err()
		f = append(f, ms(time.Since(t)))
		t = time.Now()
		if _, err := probe.InsertOne(ctx, bson.D{{Key: "_id", Value: i}, {Key: "v", Value: "x"}}); err == nil {
			ins = append(ins, ms(time.Since(t)))
		}
		cancel()
	}
	return median(f), median(ins)
}
