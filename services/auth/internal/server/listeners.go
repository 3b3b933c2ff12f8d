package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/netutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/trickle-auth/trickle/connectors/kit/tracing"
	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/api"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/token"
)

// Flow-control windows, fixed so that what one connection can make the
// server buffer is bounded (the default BDP estimation grows to 16 MiB).
const (
	streamWindow = 64 << 10
	connWindow   = 256 << 10
)

// listen binds the four network listeners, each capped at its connection
// limit: beyond it new connections wait in the kernel's accept backlog
// until one closes (idle ones close after limits.idle_timeout), instead of
// the process running out of file descriptors.
func (s *Server) listen(cfg *config.Config) error {
	l := cfg.Limits
	for _, b := range []struct {
		name, addr string
		max        int
		dst        *net.Listener
	}{
		{"grpc_addr", cfg.GRPCAddr, l.MaxConnections, &s.grpcLis},
		{"http_addr", cfg.HTTPAddr, l.MaxConnections, &s.httpLis},
		{"admin_addr", cfg.AdminAddr, l.MaxAdminConnections, &s.adminLis},
		{"ops_addr", cfg.OpsAddr, l.MaxAdminConnections, &s.opsLis},
	} {
		lis, err := net.Listen("tcp", b.addr)
		if err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
		*b.dst = netutil.LimitListener(lis, b.max)
		s.closers = append(s.closers, func() { _ = lis.Close() })
	}
	if need := 2*l.MaxConnections + 2*l.MaxAdminConnections + 256; need > fdLimit() {
		s.log.Warn("the file descriptor limit is below what limits.max_connections allows: lower it or raise ulimit -n",
			"fd_limit", fdLimit(), "needed", need)
	}
	return nil
}

// grpcOptions are the transport limits every gRPC server here applies.
func grpcOptions(l config.Limits) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(maxMessageBytes),
		grpc.MaxConcurrentStreams(l.MaxConcurrentStreams),
		grpc.ConnectionTimeout(l.HandshakeTimeout),
		grpc.InitialWindowSize(streamWindow),
		grpc.InitialConnWindowSize(connWindow),
		grpc.MaxHeaderListSize(64 << 10),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: l.KeepaliveMinTime, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: l.IdleTimeout, Time: time.Minute, Timeout: 20 * time.Second}),
		tracing.ServerOption(),
	}
}

// newPublic builds the public gRPC server (AuthService only) and its REST
// gateway. The gateway reaches gRPC over an in-memory listener, so gRPC
// knows its calls from network ones and believes the client address it
// forwards (see api.ClientIPs).
func (s *Server) newPublic(ctx context.Context, reg prometheus.Registerer, ips api.ClientIPs, auth authv1.AuthServiceServer) error {
	l := s.cfg.Limits
	adm := api.NewAdmission(api.AdmissionConfig{
		MaxInFlight: l.MaxInFlight, MaxQueue: l.MaxQueue, MaxPerClient: l.MaxPerClient,
		QueueTimeout: l.QueueTimeout, DefaultDeadline: l.DefaultDeadline,
	}, ips, reg)
	s.grpcSrv = grpc.NewServer(append(grpcOptions(l),
		grpc.ChainUnaryInterceptor(api.UnaryInterceptor(s.log, ips), adm.Unary()),
		grpc.ChainStreamInterceptor(api.StreamInterceptor(s.log)),
	)...)
	authv1.RegisterAuthServiceServer(s.grpcSrv, auth)
	healthpb.RegisterHealthServer(s.grpcSrv, s.health)
	reflection.Register(s.grpcSrv)

	s.gatewayLis = api.NewGatewayListener()
	conn, err := dialMemory(s.gatewayLis)
	if err != nil {
		return err
	}
	s.closers = append(s.closers, func() { _ = conn.Close() })
	gw := newGatewayMux(runtime.WithIncomingHeaderMatcher(api.GatewayHeaderMatcher), runtime.WithMetadata(api.GatewayMetadata))
	if err := authv1.RegisterAuthServiceHandler(ctx, gw, conn); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(token.JWKSPath, s.tokens.JWKSHandler())
	mux.Handle("/", ips.GatewayHandler(limitBody(gw, maxBodyBytes)))
	s.httpSrv = newHTTPServer(mux, l)
	return nil
}

// newAdmin builds the ManagementService server: gRPC and its REST routes
// on admin_addr only (told apart by content type), with the admin key on
// every call and, when configured, TLS and client certificates.
func (s *Server) newAdmin(ctx context.Context, ips api.ClientIPs, mgmt authv1.ManagementServiceServer) error {
	key := adminKey(s.cfg.Admin)
	s.adminGRPC = grpc.NewServer(append(grpcOptions(s.cfg.Limits),
		grpc.ChainUnaryInterceptor(api.UnaryInterceptor(s.log, ips), api.AdminInterceptor(key)),
		grpc.ChainStreamInterceptor(api.StreamInterceptor(s.log), api.AdminStreamInterceptor(key)),
	)...)
	authv1.RegisterManagementServiceServer(s.adminGRPC, mgmt)
	healthpb.RegisterHealthServer(s.adminGRPC, s.health)
	reflection.Register(s.adminGRPC)

	s.adminGatewayLis = api.NewGatewayListener()
	conn, err := dialMemory(s.adminGatewayLis)
	if err != nil {
		return err
	}
	s.closers = append(s.closers, func() { _ = conn.Close() })
	gw := newGatewayMux()
	if err := authv1.RegisterManagementServiceHandler(ctx, gw, conn); err != nil {
		return err
	}
	rest := limitBody(gw, maxBodyBytes)
	s.adminHTTP = newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			s.adminGRPC.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	}), s.cfg.Limits)
	s.adminHTTP.WriteTimeout = 0 // imports and exports stream for as long as they take
	s.adminHTTP.ReadTimeout = 0
	tc, err := adminTLS(s.cfg.Admin.TLS)
	if err != nil {
		return err
	}
	s.adminHTTP.Protocols = new(http.Protocols)
	s.adminHTTP.Protocols.SetHTTP1(true)
	if tc != nil {
		s.adminHTTP.Protocols.SetHTTP2(true)
		s.adminLis = tls.NewListener(s.adminLis, tc)
	} else {
		s.adminHTTP.Protocols.SetUnencryptedHTTP2(true)
	}
	return nil
}

// adminTLS is nil without a certificate; with client_ca_file every client
// must present a certificate that CA signed.
func adminTLS(c config.AdminTLS) (*tls.Config, error) {
	if c.CertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("admin.tls: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	if c.ClientCAFile != "" {
		pem, err := os.ReadFile(c.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("admin.tls.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("admin.tls.client_ca_file %s: no certificates", c.ClientCAFile)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

func dialMemory(l *api.GatewayListener) (*grpc.ClientConn, error) {
	return grpc.NewClient("passthrough:///in-process", grpc.WithContextDialer(l.Dial),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
}

func newGatewayMux(opts ...runtime.ServeMuxOption) *runtime.ServeMux {
	return runtime.NewServeMux(append([]runtime.ServeMuxOption{
		runtime.WithOutgoingHeaderMatcher(outgoingHeader),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true},
			UnmarshalOptions: protojson.UnmarshalOptions{},
		}),
	}, opts...)...)
}

func newHTTPServer(h http.Handler, l config.Limits) *http.Server {
	return &http.Server{
		Handler: h, ReadHeaderTimeout: l.HandshakeTimeout, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
		IdleTimeout: l.IdleTimeout, MaxHeaderBytes: 64 << 10,
		HTTP2: &http.HTTP2Config{MaxConcurrentStreams: int(l.MaxConcurrentStreams)},
	}
}
