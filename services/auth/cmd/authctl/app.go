package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
)

// app holds the global flags and the connection.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	addr, adminKey, adminKeyFile       string
	tls                                bool
	caFile, certFile, keyFile, srvName string
	output                             string
	timeout                            time.Duration
	conn                               *grpc.ClientConn
}

// flagEnv maps each connection flag to its environment variable. Flag
// defaults are never taken from the environment: --help would print them,
// and TRICKLE_ADMIN_KEY is a secret. The environment is read when a
// command runs, for the flags not given.
var flagEnv = []struct{ flag, env string }{
	{"admin-addr", "TRICKLE_ADMIN_ADDR"},
	{"admin-key", "TRICKLE_ADMIN_KEY"},
	{"admin-key-file", "TRICKLE_ADMIN_KEY_FILE"},
	{"tls", "TRICKLE_TLS"},
	{"tls-ca", "TRICKLE_TLS_CA"},
	{"tls-cert", "TRICKLE_TLS_CERT"},
	{"tls-key", "TRICKLE_TLS_KEY"},
	{"tls-server-name", "TRICKLE_TLS_SERVER_NAME"},
	{"output", "TRICKLE_OUTPUT"},
	{"timeout", "TRICKLE_TIMEOUT"},
	{"jwks-url", "TRICKLE_JWKS_URL"},
}

// applyEnv sets the flags not given on the command line from the
// environment.
func (a *app) applyEnv(cmd *cobra.Command) error {
	for _, fe := range flagEnv {
		f := cmd.Flags().Lookup(fe.flag)
		v := a.getenv(fe.env)
		if f == nil || f.Changed || v == "" {
			continue
		}
		if err := f.Value.Set(v); err != nil {
			return usageError("%s: %v", fe.env, err)
		}
	}
	return nil
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "authctl",
		Short: "Operate a Trickle auth service over its management API",
		Long: `authctl talks to authd's ManagementService over gRPC with the admin API key.

Every connection flag has an environment variable (shown in brackets); flags win.
authd serves the management API on its admin listener (admin_addr) only.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.applyEnv(cmd); err != nil {
				return err
			}
			switch a.output {
			case "table", "json":
				return nil
			}
			return usageError("--output must be table or json")
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&a.addr, "admin-addr", "127.0.0.1:7403", "authd admin listener (admin_addr), gRPC [TRICKLE_ADMIN_ADDR]")
	f.StringVar(&a.addr, "addr", "127.0.0.1:7403", "")
	_ = f.MarkDeprecated("addr", "use --admin-addr: the management API is served on authd's admin_addr only")
	f.StringVar(&a.adminKey, "admin-key", "", "admin API key [TRICKLE_ADMIN_KEY]")
	f.StringVar(&a.adminKeyFile, "admin-key-file", "", "file holding the admin API key [TRICKLE_ADMIN_KEY_FILE]")
	f.BoolVar(&a.tls, "tls", false, "use TLS (implied by --tls-ca or --tls-cert) [TRICKLE_TLS]")
	f.StringVar(&a.caFile, "tls-ca", "", "CA certificate (PEM) to verify authd [TRICKLE_TLS_CA]")
	f.StringVar(&a.certFile, "tls-cert", "", "client certificate (PEM) for mTLS [TRICKLE_TLS_CERT]")
	f.StringVar(&a.keyFile, "tls-key", "", "client key (PEM) for mTLS [TRICKLE_TLS_KEY]")
	f.StringVar(&a.srvName, "tls-server-name", "", "server name to verify [TRICKLE_TLS_SERVER_NAME]")
	f.StringVarP(&a.output, "output", "o", "table", "output format: table or json [TRICKLE_OUTPUT]")
	f.DurationVar(&a.timeout, "timeout", 30*time.Second, "deadline of each single call (imports and exports run until done) [TRICKLE_TIMEOUT]")

	root.AddCommand(a.statusCmd(), a.usersCmd(), a.resetTicketCmd(), a.tokenCmd(), a.importCmd(), a.exportCmd())
	return root
}

func (a *app) close() {
	if a.conn != nil {
		_ = a.conn.Close()
	}
}

// client dials authd (lazily, once) with the admin key on every call.
func (a *app) client() (authv1.ManagementServiceClient, error) {
	if a.conn == nil {
		key := a.adminKey
		if a.adminKeyFile != "" {
			b, err := os.ReadFile(a.adminKeyFile)
			if err != nil {
				return nil, fmt.Errorf("admin key file: %w", err)
			}
			key = strings.TrimSpace(string(b))
		}
		if key == "" {
			return nil, usageError("no admin key: set --admin-key, --admin-key-file or TRICKLE_ADMIN_KEY")
		}
		secure := a.tls || a.caFile != "" || a.certFile != ""
		opts := []grpc.DialOption{grpc.WithPerRPCCredentials(bearer{key: key, secure: secure})}
		if secure {
			tc, err := a.tlsConfig()
			if err != nil {
				return nil, err
			}
			opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
		} else {
			opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
		}
		conn, err := grpc.NewClient(a.addr, opts...)
		if err != nil {
			return nil, fmt.Errorf("authd %s: %w", a.addr, err)
		}
		a.conn = conn
	}
	return authv1.NewManagementServiceClient(a.conn), nil
}

func (a *app) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: a.srvName}
	if a.caFile != "" {
		pem, err := os.ReadFile(a.caFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no certificates", a.caFile)
		}
		tc.RootCAs = pool
	}
	if a.certFile != "" || a.keyFile != "" {
		cert, err := tls.LoadX509KeyPair(a.certFile, a.keyFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// bearer sends the admin key.
type bearer struct {
	key    string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.key}, nil
}

func (b bearer) RequireTransportSecurity() bool { return b.secure }

// call bounds one unary call by --timeout.
func (a *app) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, a.timeout)
}

var jsonOut = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}

// printJSON writes v (a proto message, a slice of them, or anything
// encoding/json takes) as indented JSON.
func (a *app) printJSON(v any) error {
	raw, err := toJSON(v)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(raw)
}

func toJSON(v any) (any, error) {
	switch x := v.(type) {
	case proto.Message:
		b, err := jsonOut.Marshal(x)
		return json.RawMessage(b), err
	case []proto.Message:
		out := make([]json.RawMessage, len(x))
		for i, m := range x {
			b, err := jsonOut.Marshal(m)
			if err != nil {
				return nil, err
			}
			out[i] = b
		}
		return out, nil
	}
	return v, nil
}

// Errors and exit codes: 2 for usage, 3 when authd refused the credential,
// 4 for NOT_FOUND, 5 when an import or export finished with failures, 1
// otherwise.
type usageErr struct{ msg string }

func (e usageErr) Error() string { return e.msg }

func usageError(format string, args ...any) error { return usageErr{fmt.Sprintf(format, args...)} }

var errFailures = errors.New("finished with failures")

func describe(err error) error {
	if st, ok := status.FromError(err); ok && st.Code() != codes.OK {
		return fmt.Errorf("%s: %s", st.Code(), st.Message())
	}
	return err
}

func exitCode(err error) int {
	var u usageErr
	switch {
	case errors.As(err, &u):
		return 2
	case errors.Is(err, errFailures):
		return 5
	}
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied:
		return 3
	case codes.NotFound:
		return 4
	}
	return 1
}
