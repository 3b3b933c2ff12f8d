package config

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// LogConfig selects the slog handler of a service (the auth service and
// every connector read the same shape).
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // json (default) or text
}

// Validate reports a level or format slog does not know.
func (c LogConfig) Validate() error {
	if _, err := parseLevel(c.Level); err != nil {
		return err
	}
	if c.Format != "" && c.Format != "json" && c.Format != "text" {
		return fmt.Errorf("log.format %q: want json or text", c.Format)
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if s == "" {
		return slog.LevelInfo, nil
	}
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("log.level %q: %w", s, err)
	}
	return l, nil
}

// NewLogger returns the slog logger the configuration asks for, on stderr.
func NewLogger(c LogConfig) *slog.Logger {
	level, _ := parseLevel(c.Level) // checked by Validate
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}
