package server

import (
	"errors"
	"fmt"
	"time"

	"github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/tracing"
)

// Config is the `server:` section every connector's YAML file shares.
type Config struct {
	// Listen is the gRPC address. Default 127.0.0.1:7070.
	Listen string `yaml:"listen"`
	// OpsListen serves /metrics, /healthz and /readyz over plain HTTP.
	// Default 127.0.0.1:9090; "off" disables it.
	OpsListen string `yaml:"ops_listen"`
	// TLS for the gRPC listener; with client_ca_file callers must present
	// a client certificate signed by that CA (mTLS).
	TLS TLSConfig `yaml:"tls"`
	// Auth is the caller credential besides (or instead of) mTLS.
	Auth AuthConfig `yaml:"auth"`
	// CallTimeout bounds every call into the legacy store, including the
	// wait for a free slot. Default 5s.
	CallTimeout time.Duration `yaml:"call_timeout"`
	// MaxConcurrentCalls caps legacy calls in flight; more wait (up to
	// CallTimeout) and then fail with UNAVAILABLE. Keep it at or below the
	// legacy connection pool size. Default 16.
	MaxConcurrentCalls int `yaml:"max_concurrent_calls"`
	// ListPageSize is how many users ListUsers reads per legacy query.
	// Default 500.
	ListPageSize int `yaml:"list_page_size"`
	// ShutdownTimeout is how long in-flight calls may finish after
	// SIGINT/SIGTERM. Default 15s.
	ShutdownTimeout time.Duration    `yaml:"shutdown_timeout"`
	Log             config.LogConfig `yaml:"log"`
	// Tracing exports OpenTelemetry spans (off by default); a trace started
	// by the auth service continues into the connector.
	Tracing tracing.Config `yaml:"tracing"`
}

// TLSConfig holds PEM file paths.
type TLSConfig struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
}

// AuthConfig configures the bearer token callers must send as
// "authorization: Bearer <token>".
type AuthConfig struct {
	BearerToken config.Secret `yaml:"bearer_token"`
	// AllowUnauthenticated must be set to run with neither a bearer token
	// nor mTLS (local experiments only).
	AllowUnauthenticated bool `yaml:"allow_unauthenticated"`
}

// SetDefaults fills the loopback defaults.
func (c *Config) SetDefaults() {
	c.Listen = "127.0.0.1:7070"
	c.OpsListen = "127.0.0.1:9090"
	c.CallTimeout = 5 * time.Second
	c.MaxConcurrentCalls = 16
	c.ListPageSize = 500
	c.ShutdownTimeout = 15 * time.Second
	c.Log = config.LogConfig{Level: "info", Format: "json"}
}

// Validate reports configuration that cannot work or is unsafe.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Tracing.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Listen == "" {
		errs = append(errs, errors.New("server.listen is empty"))
	}
	if c.CallTimeout <= 0 {
		errs = append(errs, errors.New("server.call_timeout must be positive"))
	}
	if c.MaxConcurrentCalls <= 0 {
		errs = append(errs, errors.New("server.max_concurrent_calls must be positive"))
	}
	if c.ListPageSize <= 0 {
		errs = append(errs, errors.New("server.list_page_size must be positive"))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("server.tls: set both cert_file and key_file"))
	}
	if c.TLS.ClientCAFile != "" && c.TLS.CertFile == "" {
		errs = append(errs, errors.New("server.tls.client_ca_file needs cert_file and key_file"))
	}
	if c.TLS.ClientCAFile == "" && !c.Auth.BearerToken.IsSet() && !c.Auth.AllowUnauthenticated {
		errs = append(errs, errors.New("server: no caller authentication: set auth.bearer_token and/or tls.client_ca_file (or auth.allow_unauthenticated: true for local use)"))
	}
	if err := c.Log.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("server.%w", err))
	}
	return errors.Join(errs...)
}
