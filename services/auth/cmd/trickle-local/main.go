// Command trickle-local runs Trickle on one machine with nothing but Go:
// the auth service with an embedded MongoDB-compatible store (FerretDB on
// SQLite, unless MONGODB_URI is set), an in-process migration lock (unless
// REDIS_ADDR is set), and a demo SQL connector over a SQLite legacy
// database seeded with users whose passwords use several legacy formats.
// It prints the commands to log in, watch users migrate and read the
// migration status.
//
//	make run                       # go run ./services/auth/cmd/trickle-local --data .data
//	trickle-local -reset           # start again from an empty data dir
//
// This is a development tool, not the production binary: authd (cmd/authd)
// never links FerretDB or the SQLite driver.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	var o Options
	flag.StringVar(&o.DataDir, "data", ".data", "data directory (FerretDB files, demo legacy database, dev keys, generated config)")
	flag.BoolVar(&o.Reset, "reset", false, "delete what earlier runs left in the data directory: users, demo database, keys")
	flag.StringVar(&o.GRPCAddr, "grpc", "127.0.0.1:7400", "auth service gRPC address")
	flag.StringVar(&o.HTTPAddr, "http", "127.0.0.1:7401", "auth service REST address")
	flag.StringVar(&o.OpsAddr, "ops", "127.0.0.1:7402", "auth service /metrics and probes address")
	flag.StringVar(&o.AdminAddr, "admin", "127.0.0.1:7403", "auth service management API address (gRPC and REST)")
	flag.StringVar(&o.LogLevel, "log-level", "info", "debug, info, warn or error")
	flag.Parse()
	o.MongoFromEnv = os.Getenv("MONGODB_URI") != ""
	o.RedisAddr = os.Getenv("REDIS_ADDR")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, nil); err != nil {
		fmt.Fprintln(os.Stderr, "trickle-local:", err)
		os.Exit(1)
	}
}
