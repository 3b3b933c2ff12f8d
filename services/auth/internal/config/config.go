// Package config is the auth service's configuration: one YAML file with
// ${ENV} expansion and secrets from env or files (see connectors/kit/config),
// with defaults that work on loopback.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"time"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/tracing"
	"github.com/trickle-auth/trickle/services/auth/internal/bruteforce"
	"github.com/trickle-auth/trickle/services/auth/internal/password"
	"github.com/trickle-auth/trickle/services/auth/internal/token"
)

// Config is the whole file.
type Config struct {
	// Listeners.
	GRPCAddr string `yaml:"grpc_addr"`
	HTTPAddr string `yaml:"http_addr"`
	OpsAddr  string `yaml:"ops_addr"`
	// AdminAddr serves the ManagementService (gRPC and its REST routes on
	// one port) and nothing else; the public listeners do not serve it.
	// Keep it on loopback or a private network (see admin.tls).
	AdminAddr string `yaml:"admin_addr"`
	// Limits bound what clients can make the service hold (connections,
	// streams, calls waiting for password hashing).
	Limits Limits `yaml:"limits"`

	Log         kitconfig.LogConfig `yaml:"log"`
	MongoDB     MongoDB             `yaml:"mongodb"`
	Redis       Redis               `yaml:"redis"`
	Password    Password            `yaml:"password"`
	Tokens      Tokens              `yaml:"tokens"`
	Connections []Connection        `yaml:"connections"`
	Shutdown    time.Duration       `yaml:"shutdown_timeout"`

	Admin         Admin         `yaml:"admin"`
	PasswordReset PasswordReset `yaml:"password_reset"`
	Status        Status        `yaml:"status"`
	Reload        Reload        `yaml:"reload"`

	// BruteForce blocks password guessing per (connection, identifier, IP)
	// and throttles IPs that fail across identifiers (needs redis.addr).
	BruteForce bruteforce.Config `yaml:"brute_force"`
	// TrustedProxies are CIDRs whose x-forwarded-for (gRPC metadata or
	// REST header) is believed when finding a client's IP. The in-process
	// REST gateway is trusted through its own in-memory connection;
	// loopback is not trusted unless listed here. Add your load balancers.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Tracing exports OpenTelemetry spans (off by default); traces continue
	// into the connectors over gRPC.
	Tracing tracing.Config `yaml:"tracing"`
}

// TrustedProxyPrefixes parses TrustedProxies (checked by Validate).
func (c *Config) TrustedProxyPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}

// Admin is the credential of the ManagementService.
type Admin struct {
	// APIKey is the bearer token operators send ("authorization: Bearer
	// KEY"). Unset: the ManagementService answers PERMISSION_DENIED. Read on
	// every call, so a rotated key file applies at once.
	APIKey kitconfig.Secret `yaml:"api_key"`
	// TLS of the admin listener (admin_addr); empty serves plaintext.
	TLS AdminTLS `yaml:"tls"`
}

// AdminTLS secures the admin listener. With ClientCAFile set, every
// client must present a certificate signed by it (mTLS), on top of the
// API key.
type AdminTLS struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
}

// Limits is admission control. Whatever the number of clients, the
// service holds at most MaxConnections connections per listener, each with
// at most MaxConcurrentStreams calls, and at most MaxInFlight + MaxQueue
// calls that hash passwords; beyond that callers get RESOURCE_EXHAUSTED
// (HTTP 429 with Retry-After) instead of memory growth.
type Limits struct {
	// MaxConnections per public listener (gRPC, REST). Beyond it new
	// connections wait in the kernel's accept backlog until one closes.
	// Default 1024: three listeners stay well below a 4096 fd limit.
	MaxConnections int `yaml:"max_connections"`
	// MaxAdminConnections caps the admin and ops listeners. Default 64.
	MaxAdminConnections int `yaml:"max_admin_connections"`
	// MaxConcurrentStreams per HTTP/2 connection (gRPC and REST). Default 32:
	// each open stream costs the service memory before admission can refuse
	// it (about 25 KiB), so 20,000 attempts over 400 connections hold at
	// most 12,800 streams here and queue the rest in their clients.
	MaxConcurrentStreams uint32 `yaml:"max_concurrent_streams"`
	// IdleTimeout closes connections without calls (gRPC max connection
	// idle, HTTP keep-alive idle). Default 2m.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// HandshakeTimeout closes connections that do not complete the
	// HTTP/2 (gRPC) preface or send request headers (REST). Default 10s.
	HandshakeTimeout time.Duration `yaml:"handshake_timeout"`
	// KeepaliveMinTime: clients pinging more often are disconnected
	// (gRPC keepalive enforcement). Default 30s.
	KeepaliveMinTime time.Duration `yaml:"keepalive_min_time"`
	// MaxInFlight calls that hash passwords (Login, SignUp, password
	// reset) run at once; MaxQueue more wait, each at most QueueTimeout.
	// Defaults 64, 256 and 2s. Password hashing itself is also bounded
	// by password.max_concurrent.
	MaxInFlight  int           `yaml:"max_in_flight"`
	MaxQueue     int           `yaml:"max_queue"`
	QueueTimeout time.Duration `yaml:"queue_timeout"`
	// MaxPerClient bounds the in-flight and queued calls of one client IP,
	// so one address cannot take every slot. Default 16.
	MaxPerClient int `yaml:"max_per_client"`
	// DefaultDeadline applies to calls that arrive without a deadline.
	// Default 30s.
	DefaultDeadline time.Duration `yaml:"default_deadline"`
}

// PasswordPolicy applies to passwords chosen in Trickle (sign-up and
// reset), never to passwords migrated from the legacy store.
type PasswordPolicy struct {
	MinLength   int  `yaml:"min_length"`   // characters (Unicode code points)
	MaxBytes    int  `yaml:"max_bytes"`    // at most 1024
	ForbidEmail bool `yaml:"forbid_email"` // refuse the user's email or username as the password
}

// PasswordReset configures reset tickets and their delivery.
type PasswordReset struct {
	TicketTTL time.Duration `yaml:"ticket_ttl"`
	// MaxTicketTTL bounds the ttl an operator may ask for.
	MaxTicketTTL time.Duration `yaml:"max_ticket_ttl"`
	// MaxPending bounds reset requests being looked up or delivered in the
	// background; beyond it requests answer RESOURCE_EXHAUSTED.
	MaxPending int     `yaml:"max_pending"`
	Webhook    Webhook `yaml:"webhook"`
}

// Webhook receives reset tickets for delivery (e-mail, SMS...). Each POST
// is signed: X-Trickle-Signature: v1=hex(HMAC-SHA256(secret, timestamp +
// "." + body)) with the timestamp in X-Trickle-Timestamp.
type Webhook struct {
	URL            string           `yaml:"url"` // empty: no self-service delivery
	Secret         kitconfig.Secret `yaml:"secret"`
	Timeout        time.Duration    `yaml:"timeout"`
	MaxAttempts    int              `yaml:"max_attempts"`
	InitialBackoff time.Duration    `yaml:"initial_backoff"`
	MaxBackoff     time.Duration    `yaml:"max_backoff"`
}

// Status configures the migration status gauges.
type Status struct {
	// CacheTTL: /metrics recomputes the status (counts and the connector's
	// CountUsers) at most this often.
	CacheTTL time.Duration `yaml:"cache_ttl"`
}

// Reload configures reloading connections without a restart (SIGHUP
// always reloads).
type Reload struct {
	// WatchInterval: how often the file is checked for changes; 0 turns
	// watching off (SIGHUP only).
	WatchInterval time.Duration `yaml:"watch_interval"`
	// Grace: how long replaced connector clients stay open for calls in
	// flight.
	Grace time.Duration `yaml:"grace"`
}

// MongoDB is the user store.
type MongoDB struct {
	URI      kitconfig.Secret `yaml:"uri"` // may hold credentials
	Database string           `yaml:"database"`
	Timeout  time.Duration    `yaml:"timeout"`
}

// Redis holds the migration lock. With no addr, an in-process lock is used
// (one replica only).
type Redis struct {
	Addr      string           `yaml:"addr"`
	Username  string           `yaml:"username"`
	Password  kitconfig.Secret `yaml:"password"`
	DB        int              `yaml:"db"`
	KeyPrefix string           `yaml:"key_prefix"`
	TLS       bool             `yaml:"tls"`
	Timeout   time.Duration    `yaml:"timeout"`
	// PoolSize is the most connections to Redis (default 64); MinIdleConns
	// are kept open (default 4). A command waits at most PoolTimeout
	// (default 500ms) for a free connection, then fails with a pool
	// timeout (which is not Redis being down).
	PoolSize     int           `yaml:"pool_size"`
	PoolTimeout  time.Duration `yaml:"pool_timeout"`
	MinIdleConns int           `yaml:"min_idle_conns"`
}

// Password is the service's own password hashing (argon2id).
type Password struct {
	password.Params `yaml:",inline"`
	// MaxConcurrent bounds simultaneous hash computations (memory); 0 means
	// the number of CPUs.
	MaxConcurrent int `yaml:"max_concurrent"`
	// Policy for passwords chosen in Trickle.
	Policy PasswordPolicy `yaml:"policy"`
}

// Tokens configures access tokens (see internal/token).
type Tokens = token.Config

// Connection is one legacy store and how its users migrate.
type Connection struct {
	Name string `yaml:"name"`
	// ImportMode copies users into the store on their first login.
	ImportMode bool `yaml:"import_mode"`
	// LegacyEnabled false is the cut-over: the connector is never called.
	LegacyEnabled    bool      `yaml:"legacy_enabled"`
	RequiresUsername bool      `yaml:"requires_username"`
	Connector        Connector `yaml:"connector"`
}

// Connector is how to reach a connection's connector service.
type Connector struct {
	Address string        `yaml:"address"`
	Timeout time.Duration `yaml:"timeout"`
	// LockTTL is how long one replica may hold the migration lock of an
	// identifier (after a crash, the next login waits this long). It must
	// exceed Timeout so that two legacy Login calls for one identifier never
	// overlap. Default: Timeout + 5s.
	LockTTL time.Duration `yaml:"lock_ttl"`
	TLS     ClientTLS     `yaml:"tls"`
	// Token is sent as a bearer token on every call (over TLS, or plaintext
	// only when tls.insecure is set).
	Token kitconfig.Secret `yaml:"token"`
	// Guard protects the legacy store and the service from each other.
	Guard Guard `yaml:"guard"`
}

// Guard bounds the calls to one connector.
type Guard struct {
	// MaxConcurrent caps calls in flight to the connector; more wait for a
	// slot until their deadline, then fail UNAVAILABLE. Default 32.
	MaxConcurrent int `yaml:"max_concurrent"`
	// BreakerFailures consecutive UNAVAILABLE answers open the circuit:
	// calls then fail fast for BreakerCooldown instead of piling onto a dead
	// store. Default 5 and 10s.
	BreakerFailures uint32        `yaml:"breaker_failures"`
	BreakerCooldown time.Duration `yaml:"breaker_cooldown"`
	// GetUserRetries retries GetUser (a read, safe to repeat) on
	// UNAVAILABLE; -1 disables. Login is never retried: the legacy store
	// may count failed attempts. Default 2.
	GetUserRetries int `yaml:"get_user_retries"`
}

// ClientTLS configures TLS to a connector. All empty with Insecure false is
// an error: plaintext must be chosen explicitly.
type ClientTLS struct {
	CAFile     string `yaml:"ca_file"`
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	ServerName string `yaml:"server_name"`
	// Insecure uses plaintext (loopback and tests only).
	Insecure bool `yaml:"insecure"`
}

// SetDefaults implements kitconfig.Defaulter.
func (c *Config) SetDefaults() {
	c.GRPCAddr = "127.0.0.1:7400"
	c.HTTPAddr = "127.0.0.1:7401"
	c.OpsAddr = "127.0.0.1:7402"
	c.AdminAddr = "127.0.0.1:7403"
	c.Limits = DefaultLimits()
	c.Log = kitconfig.LogConfig{Level: "info", Format: "json"}
	c.MongoDB = MongoDB{URI: kitconfig.SecretLiteral("mongodb://127.0.0.1:27017"), Database: "trickle", Timeout: 5 * time.Second}
	c.Redis = Redis{KeyPrefix: "trickle:", Timeout: time.Second, PoolSize: 64, PoolTimeout: 500 * time.Millisecond, MinIdleConns: 4}
	c.Password = Password{Params: password.DefaultParams(), Policy: PasswordPolicy{MinLength: 8, MaxBytes: password.MaxLength, ForbidEmail: true}}
	c.Tokens = Tokens{Issuer: "trickle", Audience: "trickle", TTL: time.Hour}
	c.Shutdown = 15 * time.Second
	c.PasswordReset = PasswordReset{
		TicketTTL: time.Hour, MaxTicketTTL: 7 * 24 * time.Hour, MaxPending: 256,
		Webhook: Webhook{Timeout: 5 * time.Second, MaxAttempts: 5, InitialBackoff: time.Second, MaxBackoff: time.Minute},
	}
	c.Status = Status{CacheTTL: 30 * time.Second}
	c.Reload = Reload{WatchInterval: 5 * time.Second, Grace: 30 * time.Second}
}

// DefaultLimits are the documented admission defaults.
func DefaultLimits() Limits {
	return Limits{
		MaxConnections: 1024, MaxAdminConnections: 64, MaxConcurrentStreams: 32,
		IdleTimeout: 2 * time.Minute, HandshakeTimeout: 10 * time.Second, KeepaliveMinTime: 30 * time.Second,
		MaxInFlight: 64, MaxQueue: 256, QueueTimeout: 2 * time.Second, MaxPerClient: 16, DefaultDeadline: 30 * time.Second,
	}
}

func (l Limits) validate() error {
	if l.MaxConnections < 1 || l.MaxAdminConnections < 1 || l.MaxConcurrentStreams < 1 || l.MaxInFlight < 1 ||
		l.MaxQueue < 0 || l.MaxPerClient < 1 {
		return errors.New("limits: max_connections, max_admin_connections, max_concurrent_streams, max_in_flight and max_per_client must be at least 1, max_queue at least 0")
	}
	if l.IdleTimeout <= 0 || l.HandshakeTimeout <= 0 || l.KeepaliveMinTime <= 0 || l.QueueTimeout <= 0 || l.DefaultDeadline <= 0 {
		return errors.New("limits: idle_timeout, handshake_timeout, keepalive_min_time, queue_timeout and default_deadline must be positive")
	}
	return nil
}

func (r Redis) validate() error {
	if r.PoolSize < 1 || r.MinIdleConns < 0 || r.MinIdleConns > r.PoolSize || r.PoolTimeout <= 0 {
		return errors.New("redis: need pool_size >= 1, 0 <= min_idle_conns <= pool_size and pool_timeout > 0")
	}
	return nil
}

func (a Admin) validate() error {
	t := a.TLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		return errors.New("admin.tls: cert_file and key_file go together")
	}
	if t.ClientCAFile != "" && t.CertFile == "" {
		return errors.New("admin.tls: client_ca_file (mTLS) needs cert_file and key_file")
	}
	return nil
}

// DefaultConnectorTimeout applies when a connector has no timeout.
const DefaultConnectorTimeout = 5 * time.Second

var connectionName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$`)

// Validate implements kitconfig.Validator.
func (c *Config) Validate() error {
	var errs []error
	for _, a := range []struct{ name, addr string }{{"grpc_addr", c.GRPCAddr}, {"http_addr", c.HTTPAddr}, {"ops_addr", c.OpsAddr}, {"admin_addr", c.AdminAddr}} {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.name, err))
		}
	}
	for _, err := range []error{c.Limits.validate(), c.Redis.validate(), c.Admin.validate()} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if !c.MongoDB.URI.IsSet() || c.MongoDB.Database == "" {
		errs = append(errs, errors.New("mongodb: uri and database are required"))
	}
	if err := c.Tracing.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Log.Validate(); err != nil {
		errs = append(errs, err)
	}
	bf := c.BruteForce
	bf.SetDefaults()
	if err := bf.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			errs = append(errs, fmt.Errorf("trusted_proxies: %q is not a CIDR (e.g. 10.0.0.0/8)", p))
		}
	}
	if err := c.Password.Params.Validate(); err != nil {
		errs = append(errs, err)
	}
	if p := c.Password.Policy; p.MinLength < 1 || p.MaxBytes < p.MinLength || p.MaxBytes > password.MaxLength {
		errs = append(errs, fmt.Errorf("password.policy: need 1 <= min_length <= max_bytes <= %d", password.MaxLength))
	}
	errs = append(errs, c.PasswordReset.validate()...)
	if c.Status.CacheTTL < 0 || c.Reload.WatchInterval < 0 || c.Reload.Grace < 0 {
		errs = append(errs, errors.New("status.cache_ttl, reload.watch_interval and reload.grace cannot be negative"))
	}
	if c.Tokens.TTL <= 0 {
		errs = append(errs, errors.New("tokens.ttl must be positive"))
	}
	if c.Tokens.SigningKeyFile == "" && c.Tokens.DevKeyDir == "" {
		errs = append(errs, errors.New("tokens: set signing_key_file (production) or dev_key_dir (development)"))
	}
	return errors.Join(append(errs, c.validateConnections()...)...)
}

// validateConnections checks every connection and fills its connector
// deadlines' defaults.
func (c *Config) validateConnections() []error {
	var errs []error
	seen := map[string]bool{}
	for i := range c.Connections {
		conn := &c.Connections[i]
		if !connectionName.MatchString(conn.Name) {
			errs = append(errs, fmt.Errorf("connections[%d]: name %q must match %s", i, conn.Name, connectionName))
			continue
		}
		if seen[conn.Name] {
			errs = append(errs, fmt.Errorf("connection %q is defined twice", conn.Name))
		}
		seen[conn.Name] = true
		if conn.Connector.Timeout == 0 {
			conn.Connector.Timeout = DefaultConnectorTimeout
		}
		if conn.Connector.LockTTL == 0 {
			conn.Connector.LockTTL = conn.Connector.Timeout + 5*time.Second
		}
		if conn.Connector.LockTTL <= conn.Connector.Timeout {
			errs = append(errs, fmt.Errorf("connection %q: connector.lock_ttl must be longer than connector.timeout", conn.Name))
		}
		if conn.ImportMode && conn.LegacyEnabled {
			if conn.Connector.Address == "" {
				errs = append(errs, fmt.Errorf("connection %q: connector.address is required while the legacy store is enabled", conn.Name))
			}
			t := conn.Connector.TLS
			if !t.Insecure && t.CAFile == "" && t.CertFile == "" {
				errs = append(errs, fmt.Errorf("connection %q: connector.tls: set ca_file (and cert_file/key_file for mTLS), or insecure: true for plaintext on loopback", conn.Name))
			}
			if (t.CertFile == "") != (t.KeyFile == "") {
				errs = append(errs, fmt.Errorf("connection %q: connector.tls: cert_file and key_file go together", conn.Name))
			}
		}
	}
	return errs
}

// Load reads and validates the file.
func Load(path string) (*Config, error) {
	var c Config
	if err := kitconfig.Load(path, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Connection returns the named connection or false.
func (c *Config) Connection(name string) (*Connection, bool) {
	for i := range c.Connections {
		if c.Connections[i].Name == name {
			return &c.Connections[i], true
		}
	}
	return nil, false
}

func (r *PasswordReset) validate() []error {
	var errs []error
	if r.TicketTTL <= 0 || r.MaxTicketTTL < r.TicketTTL {
		errs = append(errs, errors.New("password_reset: need 0 < ticket_ttl <= max_ticket_ttl"))
	}
	if r.MaxPending < 1 {
		errs = append(errs, errors.New("password_reset.max_pending must be at least 1"))
	}
	w := r.Webhook
	if w.URL == "" {
		return errs
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, errors.New("password_reset.webhook.url must be an absolute http(s) URL"))
	}
	if !w.Secret.IsSet() {
		errs = append(errs, errors.New("password_reset.webhook.secret is required with a url: receivers must be able to verify the signature"))
	}
	if w.Timeout <= 0 || w.MaxAttempts < 1 || w.MaxAttempts > 20 || w.InitialBackoff <= 0 || w.MaxBackoff < w.InitialBackoff {
		errs = append(errs, errors.New("password_reset.webhook: need timeout > 0, 1 <= max_attempts <= 20, 0 < initial_backoff <= max_backoff"))
	}
	return errs
}
