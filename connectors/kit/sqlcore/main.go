package sqlcore

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"

	"github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/server"
)

// Main is the whole of a SQL connector's main: it reads --config, opens the
// legacy database with driverName and d, and serves until SIGINT/SIGTERM.
func Main(ctx context.Context, args []string, driverName string, d Dialect) error {
	fs := flag.NewFlagSet("connector", flag.ContinueOnError)
	path := fs.String("config", "connector.yaml", "path of the YAML configuration file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var f File
	if err := config.Load(*path, &f); err != nil {
		return err
	}
	log := config.NewLogger(f.Server.Log)
	c, err := Open(f.Legacy, driverName, d, log)
	if err != nil {
		return fmt.Errorf("config %s: %w", *path, err)
	}
	defer c.Close()
	log.Info("legacy store configured", "dialect", d.Name(), "preset", f.Legacy.Preset)
	return server.Run(ctx, f.Server, c, log)
}

// Start opens the legacy database and serves the connector on lis until
// ctx ends, for a process that hosts a connector beside other work (the
// local demo, tests). wait blocks until the connector has stopped and the
// database is closed, and returns why it stopped.
func Start(ctx context.Context, f File, lis net.Listener, driverName string, d Dialect, log *slog.Logger) (wait func() error, err error) {
	c, err := Open(f.Legacy, driverName, d, log)
	if err != nil {
		return nil, err
	}
	srv, err := server.New(f.Server, c, log)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(ctx, lis, nil)
		_ = c.Close()
		done <- err
	}()
	return func() error { return <-done }, nil
}
