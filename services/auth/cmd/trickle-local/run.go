package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go)

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore"
	"github.com/trickle-auth/trickle/deploy/testenv/ferret"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/server"
)

// connectionName is the demo connection clients log in to.
const connectionName = "legacy-demo"

// ownedFiles are what the runner keeps in the data dir (and -reset deletes).
var ownedFiles = []string{"ferretdb", "legacy-demo.sqlite", "keys", "admin-key", "connector-token", "auth.yaml", "connector.yaml"}

// Options configure a local run.
type Options struct {
	// DataDir holds everything the run keeps: FerretDB's files, the demo
	// legacy database, the dev signing key, the generated secrets and
	// configuration files.
	DataDir string
	// Reset deletes what earlier runs left in DataDir (and nothing else).
	Reset bool
	// Listeners of the auth service (port 0: any free port).
	GRPCAddr, HTTPAddr, OpsAddr, AdminAddr string
	// MongoFromEnv uses the MongoDB at $MONGODB_URI (database
	// trickle_local) instead of the embedded FerretDB.
	MongoFromEnv bool
	// RedisAddr, when set, holds the migration lock (password from
	// $REDIS_PASSWORD if set); empty uses an in-process lock.
	RedisAddr string
	// LogLevel of the services' logs (debug, info, warn, error).
	LogLevel string
	// Log receives the services' logs; Out the commands to try.
	Log, Out io.Writer
}

// Demo describes a running local demo.
type Demo struct {
	GRPCAddr, HTTPAddr, OpsAddr, AdminAddr string
	Connection                             string
	AdminKey                               string
	UserStore, Lock, Legacy                string // for people
	DataDir                                string
}

// run starts the user store (unless external), the demo connector and the
// auth service, calls ready once all listen, and serves until ctx ends.
func run(ctx context.Context, o Options, ready func(*Demo)) (err error) {
	dir, err := prepareDir(o)
	if err != nil {
		return err
	}
	log, level, err := o.logger()
	if err != nil {
		return err
	}
	d := &Demo{GRPCAddr: o.GRPCAddr, Connection: connectionName, DataDir: dir}
	mongoURI, database, stopStore, err := startUserStore(o, dir, d)
	if err != nil {
		return err
	}
	defer stopStore()

	// Secrets, made once and kept in the data dir.
	tokenFile, adminFile := filepath.Join(dir, "connector-token"), filepath.Join(dir, "admin-key")
	if _, err := ensureSecret(tokenFile); err != nil {
		return err
	}
	if d.AdminKey, err = ensureSecret(adminFile); err != nil {
		return err
	}
	connectorAddr, stopConnector, err := startConnector(ctx, dir, tokenFile, level, log, d)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := stopConnector(); cerr != nil && err == nil {
			err = fmt.Errorf("connector: %w", cerr)
		}
	}()

	// The auth service, from a generated configuration file.
	authFile := filepath.Join(dir, "auth.yaml")
	authYAML := fmt.Sprintf(authYAMLTemplate,
		yamlString(o.GRPCAddr), yamlString(o.HTTPAddr), yamlString(o.OpsAddr), yamlString(o.AdminAddr), yamlString(level),
		mongoURI, yamlString(database), redisYAML(o, d), yamlString(filepath.Join(dir, "keys")), yamlString(adminFile),
		yamlString(connectionName), yamlString(connectorAddr), yamlString(tokenFile))
	if err := writeFile(authFile, authYAML); err != nil {
		return err
	}
	cfg, err := config.Load(authFile)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg, log.With("service", "authd"))
	if err != nil {
		return err
	}
	d.GRPCAddr, d.HTTPAddr, d.OpsAddr, d.AdminAddr = srv.GRPCAddr(), srv.HTTPAddr(), srv.OpsAddr(), srv.AdminAddr()
	printCommands(o.Out, d)
	if ready != nil {
		ready(d)
	}
	return srv.Run(ctx)
}

// prepareDir makes the data dir; -reset removes only what the runner made
// (the dir may hold other files, e.g. make certs).
func prepareDir(o Options) (string, error) {
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return "", err
	}
	if o.Reset {
		for _, name := range ownedFiles {
			if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
				return "", err
			}
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("data dir: %w", err)
	}
	return dir, nil
}

// logger is the demo's text logger; it also defaults Log and Out.
func (o *Options) logger() (*slog.Logger, string, error) {
	level := o.LogLevel
	if level == "" {
		level = "info"
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, "", fmt.Errorf("log level: %w", err)
	}
	return slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: l})), level, nil
}

// startUserStore starts the embedded FerretDB (or uses $MONGODB_URI) and
// returns the URI and database for the auth configuration.
func startUserStore(o Options, dir string, d *Demo) (uri, database string, stop func(), err error) {
	if o.MongoFromEnv {
		d.UserStore = "MongoDB at $MONGODB_URI, database trickle_local"
		return "{env: MONGODB_URI}", "trickle_local", func() {}, nil
	}
	fdir := filepath.Join(dir, "ferretdb")
	f, err := ferret.Start(fdir, slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelError})))
	if err != nil {
		return "", "", nil, err
	}
	d.UserStore = "FerretDB (embedded, SQLite in " + rel(fdir) + ") at " + f.URI()
	return yamlString(f.URI()), "trickle", f.Stop, nil
}

// redisYAML is the auth configuration's redis section: Redis when
// REDIS_ADDR is set, else none (an in-process lock).
func redisYAML(o Options, d *Demo) string {
	if o.RedisAddr == "" {
		d.Lock = "in-process (set REDIS_ADDR to use Redis)"
		return "{}"
	}
	redis := "\n  addr: " + yamlString(o.RedisAddr)
	if os.Getenv("REDIS_PASSWORD") != "" {
		redis += "\n  password: {env: REDIS_PASSWORD}"
	}
	d.Lock = "Redis at " + o.RedisAddr
	return redis
}

// startConnector seeds the demo legacy store and serves its connector over
// real gRPC on loopback with a bearer token, as in production. stop ends
// it and says why it stopped.
func startConnector(ctx context.Context, dir, tokenFile, level string, log *slog.Logger, d *Demo) (addr string, stop func() error, err error) {
	legacyPath := filepath.Join(dir, "legacy-demo.sqlite")
	if err := seedLegacy(ctx, legacyPath); err != nil {
		return "", nil, fmt.Errorf("demo legacy database: %w", err)
	}
	d.Legacy = "SQLite " + rel(legacyPath) + " (generic preset)"
	connectorFile := filepath.Join(dir, "connector.yaml")
	if err := writeFile(connectorFile, fmt.Sprintf(connectorYAML, yamlString(tokenFile), yamlString(level), yamlString(sqliteDSN(legacyPath, true)))); err != nil {
		return "", nil, err
	}
	var cf sqlcore.File
	if err := kitconfig.Load(connectorFile, &cf); err != nil {
		return "", nil, err
	}
	clis, err := net.Listen("tcp", cf.Server.Listen)
	if err != nil {
		return "", nil, err
	}
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	wait, err := sqlcore.Start(cctx, cf, clis, "sqlite", sqlcore.SQLite{}, log.With("service", "connector"))
	if err != nil {
		cancel()
		_ = clis.Close()
		return "", nil, fmt.Errorf("%s: %w", connectorFile, err)
	}
	d.Legacy += " through the SQL connector at " + clis.Addr().String()
	return clis.Addr().String(), func() error { cancel(); return wait() }, nil
}

// connectorYAML is the demo connector's configuration (sqlcore.File).
const connectorYAML = `# Generated by trickle-local on every start.
server:
  listen: 127.0.0.1:0
  ops_listen: "off"
  auth:
    bearer_token: {file: %s}
  log: {level: %s, format: text}
legacy:
  dsn: %s
  preset: generic
`

// authYAMLTemplate is the auth service's configuration; everything not
// set here keeps authd's defaults (argon2id parameters included).
const authYAMLTemplate = `# Generated by trickle-local on every start; authd --config takes the same file.
grpc_addr: %s
http_addr: %s
ops_addr: %s
admin_addr: %s
shutdown_timeout: 5s
log: {level: %s, format: text}
mongodb:
  uri: %s
  database: %s
redis: %s
tokens:
  dev_key_dir: %s
admin:
  api_key: {file: %s}
status:
  cache_ttl: 2s
connections:
  - name: %s
    import_mode: true
    legacy_enabled: true
    connector:
      address: %s
      tls: {insecure: true}
      token: {file: %s}
`

// yamlString quotes s as a YAML double-quoted scalar.
func yamlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// ensureSecret returns the secret in path, creating a random one (0600)
// the first time.
func ensureSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	s := hex.EncodeToString(raw)
	return s, os.WriteFile(path, []byte(s+"\n"), 0o600)
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

// rel shortens path relative to the working directory when it is inside.
func rel(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	r, err := filepath.Rel(wd, path)
	if err != nil || strings.HasPrefix(r, "..") {
		return path
	}
	return "./" + r
}
