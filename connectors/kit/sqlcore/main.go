package sqlcore

import (
	"context"
	"flag"
	"fmt"

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
