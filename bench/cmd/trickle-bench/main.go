// Command trickle-bench measures the auth service on this machine, in one
// run, side by side: the argon2id floor, migrated-user logins over gRPC
// (ghz) and REST (hey), the cost of a first login (migration), a storm of
// first logins over three instances, and peak RSS under 1,000 concurrent
// logins. It runs the real authd as separate processes against a MongoDB
// wire-protocol server (MONGODB_URI, or FerretDB started here), the Redis
// lock and a legacy connector whose password verification is real. It writes
// bench/results/<date>.md and .json; profiles and logs go to bench/out/.
//
//	make bench            # builds the tools, then runs this
//	go run ./bench/cmd/trickle-bench -ghz .bin/ghz -hey .bin/hey
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

type benchOptions struct {
	root, ghz, hey, results string
	backend                 string
	runs                    int
	dur                     time.Duration
	seed, migrations        int
}

func main() {
	var o benchOptions
	flag.StringVar(&o.root, "root", ".", "repository root")
	flag.StringVar(&o.ghz, "ghz", ".bin/ghz", "ghz binary (gRPC load)")
	flag.StringVar(&o.hey, "hey", ".bin/hey", "hey binary (HTTP load)")
	flag.StringVar(&o.results, "results", "bench/results", "directory for the results files")
	flag.StringVar(&o.backend, "ferretdb", "postgresql", "FerretDB backend when MONGODB_URI is unset: postgresql or sqlite")
	flag.IntVar(&o.runs, "runs", 3, "repetitions of each measurement (medians are reported)")
	flag.DurationVar(&o.dur, "duration", 5*time.Second, "duration of each throughput run")
	flag.IntVar(&o.seed, "seed-users", 2000, "migrated users put in the store before measuring")
	flag.IntVar(&o.migrations, "migrations", 7, "first logins measured per migration variant")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "trickle-bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

const benchPassword = "correct horse battery staple"

func run(o benchOptions) error {
	start := time.Now()
	stamp := start.UTC().Format("20060102-150405")
	outDir, err := filepath.Abs(filepath.Join(o.root, "bench/out", stamp))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	res := &results{Date: start.UTC().Format(time.RFC3339), Machine: readMachine(), Runs: o.runs,
		Duration: o.dur.String(), SeedUsers: o.seed, Params: defaultArgon(), OutDir: outDir}
	res.LoadAvgStart = loadAvg()
	ncpu := runtime.GOMAXPROCS(0)

	logf("building authd (with the bench pprof overlay)")
	bin, err := buildAuthd(o.root, outDir)
	if err != nil {
		return err
	}
	mongoURI, stopMongo, err := mongoServer(outDir, o.backend, stamp)
	if err != nil {
		return err
	}
	defer stopMongo()
	res.Store = storeName(o.backend)
	redisAddr := envOr("REDIS_ADDR", "127.0.0.1:6379")
	if err := ping(redisAddr); err != nil {
		return fmt.Errorf("redis at %s: %w (run `make services`)", redisAddr, err)
	}
	leg, err := startLegacy(benchPassword, res.Params)
	if err != nil {
		return err
	}
	defer leg.stop()
	db := "bench_" + stamp
	defer dropDatabase(mongoURI, db)
	spec := func(name string) authdSpec {
		return authdSpec{binary: bin, dir: outDir, name: name, mongoURI: mongoURI, database: db,
			redisAddr: redisAddr, redisPrefix: "trickle-bench-" + stamp + ":", connector: leg.addr}
	}

	// 1. The floor, with nothing else running.
	measureFloors(res, leg, ncpu, o.runs)
	// 2. One instance: seed, migrations, throughput, profiles.
	seedUsers, err := measureOneInstance(o, res, spec("authd-load"), leg, bin, mongoURI, db)
	if err != nil {
		return err
	}

	// 3. The storm over three instances.
	res.Storm, err = measureStorm(o, spec, leg, mongoURI, db)
	if err != nil {
		return err
	}
	// 4. Peak RSS, each on a fresh process.
	res.RSS, err = measureRSS(o, spec, seedUsers[1])
	if err != nil {
		return err
	}
	res.LoadAvgEnd = loadAvg()
	res.Elapsed = time.Since(start).Round(time.Second).String()
	return res.write(o.results, stamp)
}

// measureFloors measures one hash on every core and the legacy
// verification as authd sees it.
func measureFloors(res *results, leg *fakeLegacy, ncpu, runs int) {
	logf("floor: argon2id m=%d t=%d p=%d on %d cores", res.Params.MemoryKiB, res.Params.Time, res.Params.Threads, ncpu)
	res.HashMs, res.FloorPerSec, res.HashCPUms, res.FloorRuns = measureFloor(res.Params, ncpu, runs)
	res.LegacyBcryptMs = measureLegacy(leg.addr, leg.add("probe-bcrypt", 1, kindBcrypt)[0], 9)
	res.LegacyArgon2Ms = measureLegacy(leg.addr, leg.add("probe-argon2", 1, kindArgon2Exported)[0], 9)
}

// measureOneInstance seeds migrated users into one authd and measures
// migrations, transport, throughput and profiles; it returns the seeded
// users.
func measureOneInstance(o benchOptions, res *results, sp authdSpec, leg *fakeLegacy, bin, mongoURI, db string) ([]string, error) {
	a, err := startAuthd(sp)
	if err != nil {
		return nil, err
	}
	defer a.stop()
	logf("seeding %d migrated users", o.seed)
	seedUsers := leg.add("seed", o.seed, kindSeed)
	if err := seed(a.grpc, seedUsers, 8); err != nil {
		return nil, err
	}
	res.StoreFindMs, res.StoreInsertMs = measureStoreOps(mongoURI, db)
	res.Migrations = measureMigrations(a, leg, o.migrations, res)
	res.Transport = measureTransport(a, 1500)
	// The last seeded user: the one a scanning store would find last.
	res.Load, res.Profile = measureLoad(o, a, bin, sp.dir, seedUsers[len(seedUsers)-1], runtime.GOMAXPROCS(0))
	return seedUsers, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// background is the harness's context: every call has its own timeout.
func background(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
