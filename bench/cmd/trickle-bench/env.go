package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/jackc/pgx/v5"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

type machine struct {
	CPUs      int    `json:"cpus"`
	Model     string `json:"cpu_model"`
	MemTotal  string `json:"mem_total"`
	GoVersion string `json:"go_version"`
	Kernel    string `json:"kernel"`
}

func readMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				m.MemTotal = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func storeName(backend string) string {
	switch {
	case os.Getenv("MONGODB_URI") != "":
		return "MongoDB at $MONGODB_URI"
	case backend == "sqlite":
		return "FerretDB v1.24 on SQLite (as in the tests; scans every query), in the harness process"
	}
	return "FerretDB v1.24 on the local PostgreSQL (equality filters pushed down to indexes), FerretDB in the harness process"
}

// mongoServer returns MONGODB_URI, or starts FerretDB v1 in this process:
// on the local PostgreSQL (a database made for the run and dropped after),
// or on SQLite as the tests do (deploy/testenv/mongotest). FerretDB on
// SQLite pushes no filter down, so every lookup scans the collection: fine
// for tests, meaningless for throughput.
func mongoServer(dir, backend, stamp string) (string, func(), error) {
	if uri := os.Getenv("MONGODB_URI"); uri != "" {
		return uri, func() {}, nil
	}
	addr, err := freePort()
	if err != nil {
		return "", nil, err
	}
	cfg := &ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: addr},
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	}
	var cleanup func()
	switch backend {
	case "sqlite":
		dataDir := dir + "/ferretdb"
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return "", nil, err
		}
		cfg.Handler, cfg.SQLiteURL = "sqlite", "file:"+dataDir+"/"
		cleanup = func() { _ = os.RemoveAll(dataDir) }
	case "postgresql":
		admin := envOr("TRICKLE_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
		name := "trickle_bench_" + strings.ReplaceAll(stamp, "-", "_")
		if err := pgExec(admin, "CREATE DATABASE "+name); err != nil {
			return "", nil, fmt.Errorf("postgresql for FerretDB (run `make services`): %w", err)
		}
		u, err := url.Parse(admin)
		if err != nil {
			return "", nil, err
		}
		u.Path = "/" + name
		cfg.Handler, cfg.PostgreSQLURL = "postgresql", u.String()
		cleanup = func() { _ = pgExec(admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") }
	default:
		return "", nil, fmt.Errorf("unknown FerretDB backend %q", backend)
	}
	f, err := ferretdb.New(cfg)
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("start FerretDB: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(ctx) }()
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
		cleanup()
	}
	for deadline := time.Now().Add(10 * time.Second); ping(addr) != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("FerretDB did not listen on %s", addr)
		}
	}
	return f.MongoDBURI(), stop, nil
}

func pgExec(url, sql string) error {
	ctx, cancel := background(30 * time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, sql)
	return err
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

func mongoClient(uri string) (*mongo.Client, error) {
	return mongo.Connect(options.Client().ApplyURI(uri).SetTimeout(30 * time.Second))
}

func dropDatabase(uri, db string) {
	c, err := mongoClient(uri)
	if err != nil {
		return
	}
	ctx, cancel := background(30 * time.Second)
	defer cancel()
	_ = c.Database(db).Drop(ctx)
	_ = c.Disconnect(ctx)
}
