package server

import (
	"context"
	"crypto/sha256"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/connset"
)

// WatchConfig makes Run reload the connections from path on SIGHUP and,
// when reload.watch_interval is set, whenever the file's content changes.
// Call it before Run.
func (s *Server) WatchConfig(path string) { s.configPath = path }

// Reload builds the connections of cfg and swaps them in: logins already
// running finish on the old set, new ones use the new set. The old
// connector clients are closed after reload.grace. Only connections are
// reloaded; other keys need a restart. On error nothing changes.
func (s *Server) Reload(cfg *config.Config) error {
	conns, err := connset.NewConnections(cfg.Connections, dialLegacy)
	if err != nil {
		return err
	}
	old := s.conns.Swap(conns)
	time.AfterFunc(s.cfg.Reload.Grace, old.Close)
	names := make([]string, 0, len(cfg.Connections))
	for _, c := range cfg.Connections {
		names = append(names, c.Name)
	}
	s.log.Info("connections reloaded", "connections", names)
	return nil
}

// watch runs until ctx ends.
func (s *Server) watch(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var tick <-chan time.Time
	if d := s.cfg.Reload.WatchInterval; d > 0 {
		t := time.NewTicker(d)
		defer t.Stop()
		tick = t.C
	}
	last := fileSum(s.configPath)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			last = fileSum(s.configPath)
			s.reloadFile()
		case <-tick:
			// A content hash, not the mtime: editors and Kubernetes ConfigMap
			// symlink swaps change files in ways mtimes miss.
			if sum := fileSum(s.configPath); sum != last {
				last = sum
				s.reloadFile()
			}
		}
	}
}

func (s *Server) reloadFile() {
	cfg, err := config.Load(s.configPath)
	if err == nil {
		err = s.Reload(cfg)
	}
	if err != nil {
		s.log.Error("new configuration refused; the one in force is kept", "path", s.configPath, "err", err)
	}
}

func fileSum(path string) [32]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return [32]byte{}
	}
	return sha256.Sum256(b)
}
