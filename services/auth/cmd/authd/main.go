// Command authd is the Trickle auth service.
//
//	authd --config /etc/trickle/auth.yaml
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/tracing"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/server"
)

func main() {
	path := flag.String("config", "auth.yaml", "configuration file (YAML, ${ENV} expanded)")
	flag.Parse()
	if err := run(*path); err != nil {
		fmt.Fprintln(os.Stderr, "authd:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	log := kitconfig.NewLogger(cfg.Log)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	shutdownTracing, err := tracing.Setup(ctx, "trickle-auth", cfg.Tracing)
	if err != nil {
		return err
	}
	defer func() {
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdownTracing(fctx) // flush the last spans
	}()
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	srv.WatchConfig(path) // SIGHUP or a changed file reloads the connections
	return srv.Run(ctx)
}
