// Package server runs a connector as the trickle.connector.v1.LegacyConnector
// gRPC service, with everything a production deployment needs around it:
// caller authentication (mTLS and/or bearer token), a deadline and a
// concurrency limit on every legacy call, gRPC health and reflection,
// Prometheus metrics and probes on a separate ops listener, JSON logs and
// graceful shutdown.
//
// A connector's main loads its configuration, builds its implementation of
// the connector interfaces and calls Run.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/connector"
	"github.com/trickle-auth/trickle/connectors/kit/tracing"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

// readinessInterval is how often the gRPC health status follows the legacy
// store's reachability.
const readinessInterval = 10 * time.Second

// Server is a configured connector service, ready to Serve.
type Server struct {
	cfg      Config
	impl     connector.PasswordConnector
	log      *slog.Logger
	grpc     *grpc.Server
	health   *health.Server
	registry *prometheus.Registry
	stopping atomic.Bool
}

// New builds the gRPC server around impl. It reads the TLS files and the
// bearer token once, here.
func New(cfg Config, impl connector.PasswordConnector, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = config.NewLogger(cfg.Log)
	}
	auth := &callerAuth{requireTLS: cfg.TLS.ClientCAFile != ""}
	if cfg.Auth.BearerToken.IsSet() {
		tok, err := cfg.Auth.BearerToken.Value()
		if err != nil {
			return nil, fmt.Errorf("server.auth.bearer_token: %w", err)
		}
		sum := sha256.Sum256([]byte(tok))
		auth.tokenSum = &sum
	}
	if cfg.Auth.AllowUnauthenticated && auth.tokenSum == nil && !auth.requireTLS {
		log.Warn("caller authentication is off (auth.allow_unauthenticated): any caller can test passwords")
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	reg.MustRegister(metrics)
	svc := &service{
		impl:     impl,
		timeout:  cfg.CallTimeout,
		slots:    semaphore.NewWeighted(int64(cfg.MaxConcurrentCalls)),
		pageSize: cfg.ListPageSize,
		log:      log,
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trickle_connector_legacy_calls_in_flight", Help: "Calls into the legacy store in progress.",
		}),
		busy: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trickle_connector_busy_total", Help: "Calls refused because every legacy slot stayed busy until the deadline.",
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trickle_connector_legacy_failures_total", Help: "Legacy store calls that failed (answered UNAVAILABLE).",
		}, []string{"op"}),
	}
	reg.MustRegister(svc.inflight, svc.busy, svc.failures)

	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(metrics.UnaryServerInterceptor(), auth.unary),
		grpc.ChainStreamInterceptor(metrics.StreamServerInterceptor(), auth.stream),
		grpc.MaxRecvMsgSize(64 << 10), // requests are an identifier and a password
		tracing.ServerOption(),
	}
	if cfg.TLS.CertFile != "" {
		tc, err := serverTLS(cfg.TLS)
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.Creds(credentials.NewTLS(tc)))
	}
	gs := grpc.NewServer(opts...)
	connectorv1.RegisterLegacyConnectorServer(gs, svc)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	metrics.InitializeMetrics(gs)

	return &Server{cfg: cfg, impl: impl, log: log, grpc: gs, health: hs, registry: reg}, nil
}

func serverTLS(c TLSConfig) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("server.tls: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.ClientCAFile != "" {
		pem, err := os.ReadFile(c.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("server.tls.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("server.tls.client_ca_file: no PEM certificate found")
		}
		tc.ClientCAs = pool
		// Verified if given; the auth interceptor refuses calls without one
		// with UNAUTHENTICATED (a failed handshake would look like an outage),
		// and health probes stay possible without a certificate.
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return tc, nil
}

// Run listens on the configured addresses and serves until ctx ends or the
// process gets SIGINT/SIGTERM, then shuts down gracefully.
func Run(ctx context.Context, cfg Config, impl connector.PasswordConnector, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := New(cfg, impl, log)
	if err != nil {
		return err
	}
	shutdownTracing, err := tracing.Setup(ctx, "trickle-connector", cfg.Tracing)
	if err != nil {
		return err
	}
	defer func() {
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdownTracing(fctx)
	}()
	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	var ops net.Listener
	if cfg.OpsListen != "" && cfg.OpsListen != "off" {
		if ops, err = net.Listen("tcp", cfg.OpsListen); err != nil {
			_ = lis.Close()
			return err
		}
	}
	return s.Serve(ctx, lis, ops)
}

// Serve serves gRPC on lis and the ops endpoints on ops (nil: none) until
// ctx ends, then stops gracefully within the shutdown timeout.
func (s *Server) Serve(ctx context.Context, lis, ops net.Listener) error {
	s.setServing(true)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		s.log.Info("connector listening", "grpc", lis.Addr().String())
		return s.grpc.Serve(lis)
	})
	var httpSrv *http.Server
	if ops != nil {
		httpSrv = &http.Server{Handler: s.opsHandler(), ReadHeaderTimeout: 5 * time.Second}
		g.Go(func() error {
			s.log.Info("ops listening", "http", ops.Addr().String())
			if err := httpSrv.Serve(ops); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	g.Go(func() error { s.followReadiness(ctx); return nil })
	g.Go(func() error {
		<-ctx.Done()
		s.shutdown(httpSrv)
		return nil
	})
	return g.Wait()
}

func (s *Server) shutdown(httpSrv *http.Server) {
	s.stopping.Store(true)
	s.health.Shutdown() // NOT_SERVING: load balancers stop sending calls
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout.String())
	done := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(done) }()
	timer := time.NewTimer(s.cfg.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		s.log.Warn("shutdown timeout: cancelling calls still in flight")
		s.grpc.Stop()
	}
	if httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = httpSrv.Shutdown(ctx)
	}
}

func (s *Server) setServing(ok bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if ok {
		st = healthpb.HealthCheckResponse_SERVING
	}
	s.health.SetServingStatus("", st)
	s.health.SetServingStatus(connectorv1.LegacyConnector_ServiceDesc.ServiceName, st)
}

// ready pings the legacy store when the connector can.
func (s *Server) ready(ctx context.Context) error {
	if s.stopping.Load() {
		return errors.New("shutting down")
	}
	p, ok := s.impl.(connector.Pinger)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	return p.Ping(ctx)
}

func (s *Server) followReadiness(ctx context.Context) {
	t := time.NewTicker(readinessInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := s.ready(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("legacy store not ready", "err", err)
			}
			if ctx.Err() == nil {
				s.setServing(err == nil)
			}
		}
	}
}

func (s *Server) opsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.ready(r.Context()); err != nil {
			// The reason (e.g. a missing table) is for the operator; the ops
			// listener is not the public one, and errors carry no secrets.
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return mux
}
