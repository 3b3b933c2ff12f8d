// Package server wires the auth service together from its configuration
// and runs its three listeners: gRPC, REST (grpc-gateway, plus the JWKS)
// and ops (/metrics, /healthz, /readyz). Start-up and shutdown live here
// and nowhere else.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/trickle-auth/trickle/services/auth/internal/account"
	"github.com/trickle-auth/trickle/services/auth/internal/api"
	"github.com/trickle-auth/trickle/services/auth/internal/bruteforce"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/connset"
	"github.com/trickle-auth/trickle/services/auth/internal/importer"
	"github.com/trickle-auth/trickle/services/auth/internal/legacy"
	"github.com/trickle-auth/trickle/services/auth/internal/lock"
	"github.com/trickle-auth/trickle/services/auth/internal/login"
	"github.com/trickle-auth/trickle/services/auth/internal/manage"
	"github.com/trickle-auth/trickle/services/auth/internal/password"
	"github.com/trickle-auth/trickle/services/auth/internal/store/mongostore"
	"github.com/trickle-auth/trickle/services/auth/internal/token"
	"github.com/trickle-auth/trickle/services/auth/internal/webhook"
)

// Request size limits: a login is a few hundred bytes; metadata updates
// are the largest legitimate bodies.
const (
	maxMessageBytes = 1 << 20
	maxBodyBytes    = 1 << 20
)

// Server is a running auth service.
type Server struct {
	cfg      *config.Config
	log      *slog.Logger
	mongo    *mongo.Client
	redis    *redis.Client
	store    *mongostore.Store
	logins   *login.Service
	accounts *account.Service
	conns    *connset.ConnectionSource
	tokens   *token.Issuer
	health   *health.Server

	grpcSrv, adminGRPC                 *grpc.Server
	httpSrv, adminHTTP, opsSrv         *http.Server
	grpcLis, httpLis, adminLis, opsLis net.Listener
	gatewayLis, adminGatewayLis        *api.GatewayListener
	closers                            []func()
	configPath                         string // reloaded on SIGHUP and change (WatchConfig)
}

// New connects to the stores, builds the services and binds the listeners.
// Nothing is served until Run.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (_ *Server, err error) {
	s := &Server{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	locker, err := s.connectStores(ctx)
	if err != nil {
		return nil, err
	}
	hasher, err := password.NewHasher(cfg.Password.Params, cfg.Password.MaxConcurrent)
	if err != nil {
		return nil, err
	}
	conns, err := connset.NewConnections(cfg.Connections, dialLegacy)
	if err != nil {
		return nil, err
	}
	s.conns = connset.NewConnectionSource(conns)
	// The set in force at shutdown owns its clients; replaced sets are
	// closed by the reload.
	s.closers = append(s.closers, func() { s.conns.Current().Close() })
	guard := s.bruteForceGuard(reg)
	s.logins = login.New(login.Deps{
		Store: s.store, Stats: s.store, Locker: locker, Guard: guard, Hasher: hasher,
		Connections: s.conns, Metrics: login.NewMetrics(reg), Logger: log,
	})
	s.accounts = account.New(account.Deps{
		Store: s.store, Hasher: hasher, Connections: s.conns, Policy: cfg.Password.Policy,
		Reset: cfg.PasswordReset, Notifier: s.resetNotifier(), Logger: log,
	})
	manager := manage.New(s.store, s.conns, log)
	reg.MustRegister(manage.NewCollector(manager, cfg.Status.CacheTTL))
	if s.tokens, err = token.NewIssuer(cfg.Tokens); err != nil {
		return nil, err
	}

	s.health = health.NewServer()
	ips := api.ClientIPs{Trusted: cfg.TrustedProxyPrefixes()}
	if err := s.listen(cfg); err != nil {
		return nil, err
	}
	if err := s.newPublic(ctx, reg, ips, &api.AuthServer{Logins: s.logins, Tokens: s.tokens, Accounts: s.accounts, Guard: guard, ClientIPs: ips}); err != nil {
		return nil, err
	}
	if err := s.newAdmin(ctx, ips, &api.ManagementServer{Manage: manager, Tickets: s.accounts, Guard: guard,
		Importer: importer.New(s.store, s.conns, hasher.Verifier(), log)}); err != nil {
		return nil, err
	}
	s.newOps(reg)
	return s, nil
}

// connectStores connects to MongoDB (the user store) and, when
// configured, Redis, and returns the migration lock to use.
func (s *Server) connectStores(ctx context.Context) (lock.Locker, error) {
	cfg := s.cfg
	uri, err := cfg.MongoDB.URI.Value()
	if err != nil {
		return nil, fmt.Errorf("mongodb.uri: %w", err)
	}
	s.mongo, err = mongo.Connect(options.Client().ApplyURI(uri).SetTimeout(cfg.MongoDB.Timeout))
	if err != nil {
		return nil, fmt.Errorf("mongodb: %w", err)
	}
	s.closers = append(s.closers, func() { _ = s.mongo.Disconnect(context.Background()) })
	if s.store, err = mongostore.New(ctx, s.mongo.Database(cfg.MongoDB.Database)); err != nil {
		return nil, fmt.Errorf("mongodb: %w", err)
	}
	if cfg.Redis.Addr == "" {
		s.log.Warn("no redis.addr: using an in-process migration lock; run a single replica only")
		return lock.NewLocal(), nil
	}
	if s.redis, err = newRedis(cfg.Redis); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { _ = s.redis.Close() })
	return lock.NewRedis(s.redis, cfg.Redis.KeyPrefix+"lock:"), nil
}

// bruteForceGuard shares Redis with the lock; without Redis it allows
// everything (a single local replica).
func (s *Server) bruteForceGuard(reg prometheus.Registerer) *bruteforce.Guard {
	var rdb redis.UniversalClient // stays a nil interface without Redis
	if s.redis != nil {
		rdb = s.redis
	} else if !s.cfg.BruteForce.Disabled {
		s.log.Warn("no redis.addr: brute-force protection is off")
	}
	return bruteforce.New(s.cfg.BruteForce, rdb, s.cfg.Redis.KeyPrefix, s.log, reg)
}

// resetNotifier delivers self-service reset tickets, or nil when no
// webhook is configured.
func (s *Server) resetNotifier() account.Notifier {
	w := s.cfg.PasswordReset.Webhook
	if w.URL == "" {
		s.log.Warn("no password_reset.webhook.url: self-service reset tickets are not delivered (operators can still create them)")
		return nil
	}
	return webhook.New(webhook.Config{
		URL: w.URL, Secret: w.Secret.Value, Timeout: w.Timeout, MaxAttempts: w.MaxAttempts,
		InitialBackoff: w.InitialBackoff, MaxBackoff: w.MaxBackoff,
	})
}

// newOps is the ops listener's server: /metrics, /healthz, /readyz.
func (s *Server) newOps(reg *prometheus.Registry) {
	ops := http.NewServeMux()
	ops.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ops.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	ops.HandleFunc("/readyz", s.readyz)
	s.opsSrv = &http.Server{Handler: ops, ReadHeaderTimeout: s.cfg.Limits.HandshakeTimeout, ReadTimeout: 30 * time.Second, IdleTimeout: s.cfg.Limits.IdleTimeout}
}

func newRedis(c config.Redis) (*redis.Client, error) {
	opts := &redis.Options{Addr: c.Addr, Username: c.Username, DB: c.DB,
		DialTimeout: c.Timeout, ReadTimeout: c.Timeout, WriteTimeout: c.Timeout,
		PoolSize: c.PoolSize, PoolTimeout: c.PoolTimeout, MinIdleConns: c.MinIdleConns, MaxActiveConns: c.PoolSize}
	if c.Password.IsSet() {
		var err error
		if opts.Password, err = c.Password.Value(); err != nil {
			return nil, fmt.Errorf("redis.password: %w", err)
		}
	}
	return redis.NewClient(opts), nil
}

// GRPCAddr, HTTPAddr, AdminAddr and OpsAddr are the bound addresses
// (useful with port 0).
func (s *Server) GRPCAddr() string { return s.grpcLis.Addr().String() }

// AdminAddr is the management listener's address (gRPC and REST).
func (s *Server) AdminAddr() string { return s.adminLis.Addr().String() }

// HTTPAddr is the REST listener's address.
func (s *Server) HTTPAddr() string { return s.httpLis.Addr().String() }

// OpsAddr is the ops listener's address.
func (s *Server) OpsAddr() string { return s.opsLis.Addr().String() }

// Tokens is the token issuer (tests verify tokens with it).
func (s *Server) Tokens() *token.Issuer { return s.tokens }

// readyz answers 200 only when the user store answers: without it no
// login can succeed.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("not ready: user store", "err", err)
		http.Error(w, "user store unavailable", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// Run serves until ctx ends, then stops gracefully within the configured
// shutdown timeout.
func (s *Server) Run(ctx context.Context) error {
	defer s.close()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.grpcSrv.Serve(s.grpcLis) })
	g.Go(func() error { return s.grpcSrv.Serve(s.gatewayLis) })
	g.Go(func() error { return s.adminGRPC.Serve(s.adminGatewayLis) })
	g.Go(func() error { return ignoreClosed(s.httpSrv.Serve(s.httpLis)) })
	g.Go(func() error { return ignoreClosed(s.adminHTTP.Serve(s.adminLis)) })
	g.Go(func() error { return ignoreClosed(s.opsSrv.Serve(s.opsLis)) })
	if s.configPath != "" {
		g.Go(func() error { s.watch(gctx); return nil })
	}
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.log.Info("auth service started", "grpc", s.GRPCAddr(), "http", s.HTTPAddr(), "admin", s.AdminAddr(), "ops", s.OpsAddr(), "connections", len(s.cfg.Connections))
	g.Go(func() error {
		<-gctx.Done()
		s.shutdown()
		return nil
	})
	err := g.Wait()
	if ctx.Err() != nil && errors.Is(err, grpc.ErrServerStopped) {
		err = nil
	}
	return err
}

func (s *Server) shutdown() {
	s.health.Shutdown() // tell load balancers first
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Shutdown)
	defer cancel()
	_ = s.httpSrv.Shutdown(ctx)
	_ = s.adminHTTP.Shutdown(ctx)
	done := make(chan struct{})
	go func() { s.grpcSrv.GracefulStop(); s.adminGRPC.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.log.Warn("shutdown deadline passed: stopping in-flight calls")
		s.grpcSrv.Stop()
		s.adminGRPC.Stop()
	}
	_ = s.opsSrv.Shutdown(ctx)
	s.accounts.Close(ctx) // background reset deliveries
	s.log.Info("auth service stopped")
}

func (s *Server) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// dialLegacy is a guarded connector client (see legacy.Guard).
func dialLegacy(c config.Connector) (legacy.Connector, error) {
	cl, err := legacy.Dial(c)
	if err != nil {
		return nil, err
	}
	return legacy.Guard(c.Address, cl, c.Guard), nil
}

// adminKey reads the admin API key on every call, so a rotated key file
// applies without a restart.
func adminKey(a config.Admin) api.AdminKey {
	return func() (string, bool, error) {
		if !a.APIKey.IsSet() {
			return "", false, nil
		}
		k, err := a.APIKey.Value()
		return k, err == nil, err
	}
}

// outgoingHeader passes Retry-After and the request id through as plain
// HTTP headers; other gRPC metadata keeps the gateway's Grpc-Metadata- prefix.
func outgoingHeader(key string) (string, bool) {
	switch key {
	case api.RetryAfterHeader:
		return "Retry-After", true
	case "x-request-id":
		return "X-Request-Id", true
	}
	return runtime.MetadataHeaderPrefix + key, true
}

func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
