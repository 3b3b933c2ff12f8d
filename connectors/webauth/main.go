// Command webauth is the Trickle connector for a legacy user API behind HTTP
// Basic auth. The HTTP side lives in internal/webauth, the gRPC service
// around it in connectors/kit/server.
//
//	webauth --config connector.yaml
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/server"
	"github.com/trickle-auth/trickle/connectors/webauth/internal/webauth"
)

// File is the connector's configuration file.
type File struct {
	Server server.Config  `yaml:"server"`
	Legacy webauth.Config `yaml:"legacy"`
}

// SetDefaults fills both sections' defaults.
func (f *File) SetDefaults() { f.Server.SetDefaults(); f.Legacy.SetDefaults() }

// Validate checks both sections.
func (f *File) Validate() error { return errors.Join(f.Server.Validate(), f.Legacy.Validate()) }

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "webauth connector:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("webauth", flag.ContinueOnError)
	path := fs.String("config", "connector.yaml", "path of the YAML configuration file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var f File
	if err := config.Load(*path, &f); err != nil {
		return err
	}
	log := config.NewLogger(f.Server.Log)
	c, err := webauth.New(f.Legacy)
	if err != nil {
		return fmt.Errorf("config %s: %w", *path, err)
	}
	defer c.Close()
	log.Info("legacy web service configured", "login", f.Legacy.Login.URL,
		"profile_call", f.Legacy.Profile.URL != "", "get_user", f.Legacy.GetUser.URL != "",
		"service_auth", f.Legacy.ServiceAuth.Kind(), "proxy_from_environment", f.Legacy.ProxyFromEnvironment)
	return server.Run(ctx, f.Server, c, log)
}
