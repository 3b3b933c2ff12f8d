package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore"
	"github.com/trickle-auth/trickle/deploy/testenv/mongotest"
	"github.com/trickle-auth/trickle/deploy/testenv/redistest"
	"github.com/trickle-auth/trickle/deploy/testenv/sqltest"
	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/connectortest"
	"github.com/trickle-auth/trickle/services/auth/internal/kstest"
	"github.com/trickle-auth/trickle/services/auth/internal/password"
	"github.com/trickle-auth/trickle/services/auth/internal/server"
)

// BenchmarkLoginTiming measures invariant I7 at the API: the time of a
// failed login over gRPC for an unknown user, a migrated user's wrong
// password and an unmigrated user's wrong password. Everything is real:
// FerretDB (or MONGODB_URI), Redis, the SQL connector over PostgreSQL with
// bcrypt (cost 10) legacy hashes, and the production argon2id parameters.
// Each iteration runs the three cases once, in random order, so drift in
// machine load hits all three alike. It logs p50/p90/p99 of each case and
// the two-sample Kolmogorov-Smirnov distance between each pair (with the
// 1% critical value); it asserts only the answers, never a time.
//
//	cd services/auth && go test -run '^$' -bench LoginTiming -benchtime 300x ./internal/server
func BenchmarkLoginTiming(b *testing.B) {
	const (
		right = "correct horse battery staple"
		wrong = "Tr0ub4dor&3"
		users = 20 // per kind; brute-force protection is off, so they repeat
	)
	// The legacy store: the generic preset's table on PostgreSQL.
	dsn, db := sqltest.Postgres(b)
	hash, err := bcrypt.GenerateFromPassword([]byte(right), 10)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE users (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL, username TEXT, name TEXT,
		email_verified BOOLEAN NOT NULL, password_hash TEXT, user_metadata JSONB, app_metadata JSONB)`); err != nil {
		b.Fatal(err)
	}
	for i := range 2 * users {
		if _, err := db.Exec(`INSERT INTO users (email, username, name, email_verified, password_hash, user_metadata)
			VALUES ($1, $2, $3, true, $4, '{"plan":"gold"}')`, fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("user%d", i),
			fmt.Sprintf("User %d", i), string(hash)); err != nil {
			b.Fatal(err)
		}
	}
	var lc sqlcore.Config
	lc.SetDefaults()
	lc.DSN, lc.Preset = kitconfig.SecretLiteral(dsn), "generic"
	connectorAddr := connectortest.ServeSQL(b, lc, "pgx", sqlcore.Postgres{}, "timing-token")

	// The auth service with production settings, brute-force protection off.
	var cfg config.Config
	cfg.SetDefaults()
	cfg.GRPCAddr, cfg.HTTPAddr, cfg.OpsAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.MongoDB.URI = kitconfig.SecretLiteral(mongotest.URI(b))
	cfg.MongoDB.Database = mongotest.Database(b).Name()
	_, prefix := redistest.Client(b)
	cfg.Redis.Addr, cfg.Redis.KeyPrefix = redistest.Addr(), prefix
	cfg.Password.Params = password.DefaultParams()
	cfg.BruteForce.Disabled = true
	cfg.Tokens.DevKeyDir = b.TempDir()
	cfg.Connections = []config.Connection{{
		Name: "legacy", ImportMode: true, LegacyEnabled: true,
		Connector: config.Connector{Address: connectorAddr, Timeout: 5 * time.Second,
			TLS: config.ClientTLS{Insecure: true}, Token: kitconfig.SecretLiteral("timing-token")},
	}}
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, &cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	cc, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cc.Close() })
	client := authv1.NewAuthServiceClient(cc)

	login := func(ident, pw string) (time.Duration, error) {
		start := time.Now()
		_, err := client.Login(context.Background(), &authv1.LoginRequest{Connection: "legacy", Identifier: ident, Password: pw})
		return time.Since(start), err
	}
	// Users 0..users-1 are migrated; the others stay in the legacy store.
	for i := range users {
		if _, err := login(fmt.Sprintf("user%d@example.com", i), right); err != nil {
			b.Fatalf("migrating user%d: %v", i, err)
		}
	}
	cases := []struct {
		name  string
		ident func(i int) string
	}{
		{"unknown", func(i int) string { return fmt.Sprintf("nobody%d@example.com", i) }},
		{"migrated-wrong", func(i int) string { return fmt.Sprintf("user%d@example.com", i%users) }},
		{"unmigrated-wrong", func(i int) string { return fmt.Sprintf("user%d@example.com", users+i%users) }},
	}
	samples := make([][]time.Duration, len(cases))
	round := func(i int, record bool) {
		for _, k := range mrand.Perm(len(cases)) {
			d, err := login(cases[k].ident(i), wrong)
			if st := status.Convert(err); st.Code() != codes.Unauthenticated || st.Message() != "invalid credentials" {
				b.Fatalf("%s: got %v, want UNAUTHENTICATED invalid credentials", cases[k].name, err)
			}
			if record {
				samples[k] = append(samples[k], d)
			}
		}
	}
	for i := range 10 { // warm-up: connections, caches, recent legacy refusals
		round(i, false)
	}
	b.ResetTimer()
	for i := range b.N {
		round(i, true)
	}
	b.StopTimer()
	if b.N < 10 {
		return // the framework's calibration run
	}

	var out strings.Builder
	fmt.Fprintf(&out, "failed-login latency over gRPC, argon2id m=%d KiB t=%d p=%d, legacy bcrypt cost 10, %d samples per case\n",
		cfg.Password.Params.MemoryKiB, cfg.Password.Params.Time, cfg.Password.Params.Threads, b.N)
	fmt.Fprintf(&out, "%-18s %8s %8s %8s %8s\n", "case", "p50 ms", "p90 ms", "p99 ms", "mean ms")
	for k, c := range cases {
		s := slices.Clone(samples[k])
		slices.Sort(s)
		p50, p90, p99 := quantile(s, 0.50), quantile(s, 0.90), quantile(s, 0.99)
		fmt.Fprintf(&out, "%-18s %8.1f %8.1f %8.1f %8.1f\n", c.name, ms(p50), ms(p90), ms(p99), ms(mean(s)))
		b.ReportMetric(ms(p50), c.name+"-p50-ms")
		b.ReportMetric(ms(p99), c.name+"-p99-ms")
	}
	crit := kstest.Critical(b.N, b.N, 0.01)
	for i := range cases {
		for j := i + 1; j < len(cases); j++ {
			d := kstest.Distance(samples[i], samples[j])
			verdict := "not distinguishable"
			if d > crit {
				verdict = "DISTINGUISHABLE"
			}
			fmt.Fprintf(&out, "KS %s vs %s: D=%.3f (1%% critical %.3f): %s\n", cases[i].name, cases[j].name, d, crit, verdict)
		}
	}
	fmt.Print(out.String()) // b.Log output of benchmarks is cut
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// quantile of sorted samples (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func mean(s []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return sum / time.Duration(max(1, len(s)))
}
