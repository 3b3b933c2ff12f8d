// Package ferret starts FerretDB v1 (SQLite backend) in-process: a real
// MongoDB wire-protocol server with no MongoDB installed. The tests
// (through mongotest) and the local runner (services/auth/cmd/trickle-local)
// use it; no production binary may import it.
package ferret

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// startTimeout bounds the wait for FerretDB's listener.
const startTimeout = 10 * time.Second

// Embedded is a running FerretDB.
type Embedded struct {
	uri    string
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs FerretDB on 127.0.0.1 (a free port) with its SQLite files in
// dir, which is created if missing and kept after Stop. logger receives
// FerretDB's own logs; nil keeps only errors, on stderr.
func Start(dir string, logger *slog.Logger) (*Embedded, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("FerretDB data dir: %w", err)
	}
	return start(&ferretdb.Config{Handler: "sqlite", SQLiteURL: "file:" + filepath.ToSlash(abs) + "/", Logger: logger})
}

// StartPostgreSQL runs FerretDB on 127.0.0.1 with its data in the
// PostgreSQL database at url (the backend production FerretDB users run;
// its rules differ from SQLite's, e.g. no NUL bytes in strings).
func StartPostgreSQL(url string, logger *slog.Logger) (*Embedded, error) {
	return start(&ferretdb.Config{Handler: "postgresql", PostgreSQLURL: url, Logger: logger})
}

func start(cfg *ferretdb.Config) (*Embedded, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	// Reserve a free port; FerretDB takes an address, not a listener.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	_ = l.Close()

	cfg.Listener = ferretdb.ListenerConfig{TCP: addr}
	f, err := ferretdb.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("start FerretDB: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Embedded{uri: f.MongoDBURI(), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		_ = f.Run(ctx)
	}()
	if err := waitForPort(addr, startTimeout); err != nil {
		e.Stop()
		return nil, fmt.Errorf("FerretDB did not start listening on %s: %w", addr, err)
	}
	return e, nil
}

// URI is the mongodb:// address of the server.
func (e *Embedded) URI() string { return e.uri }

// Stop stops the server and waits (up to 10s) until its files are closed.
// The data dir is left as it is.
func (e *Embedded) Stop() {
	e.cancel()
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
	}
}

func waitForPort(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return errors.Join(errors.New("timed out"), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
