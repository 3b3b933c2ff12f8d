package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/trickle-auth/trickle/passwordhash"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

// How a legacy user's password is checked and what the profile carries.
type legacyKind int

const (
	// kindBcrypt: verified against a bcrypt cost-10 hash (passwordhash); the
	// profile carries no hash, so authd hashes the password anew.
	kindBcrypt legacyKind = iota
	// kindBcryptExported: the same, but the profile carries the bcrypt hash,
	// which meets the policy (cost >= 10) and is adopted as is.
	kindBcryptExported
	// kindArgon2Exported: verified against an argon2id hash at the policy
	// parameters (passwordhash), exported in the profile and adopted.
	kindArgon2Exported
	// kindSeed: a cheap plain comparison, argon2id hash exported: used only
	// to fill the store with migrated users quickly.
	kindSeed
)

type legacyUser struct {
	id   string
	kind legacyKind
}

// fakeLegacy is a LegacyConnector over gRPC on loopback whose verification
// is real: passwordhash checks the password against a bcrypt or argon2id hash,
// exactly what a SQL connector does after its query. Every user of a kind
// shares one password and hence one stored hash (hashing 200 distinct
// bcrypt hashes would only slow the start-up).
type fakeLegacy struct {
	connectorv1.UnimplementedLegacyConnectorServer

	addr     string
	password string
	bcrypt   string // bcrypt cost 10 of password
	argon2   string // argon2id at the policy parameters of password
	verifier *passwordhash.Verifier

	mu    sync.Mutex
	users map[string]legacyUser // by lowercased email
	calls map[string]int        // Login calls by identifier
	total atomic.Int64

	srv *grpc.Server
}

func startLegacy(password string, p argonParams) (*fakeLegacy, error) {
	v, err := passwordhash.New(passwordhash.Config{})
	if err != nil {
		return nil, err
	}
	b, err := bcrypt.GenerateFromPassword([]byte(password), 10)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &fakeLegacy{
		addr: lis.Addr().String(), password: password, bcrypt: string(b), argon2: p.phc(password),
		verifier: v, users: map[string]legacyUser{}, calls: map[string]int{}, srv: grpc.NewServer(),
	}
	connectorv1.RegisterLegacyConnectorServer(f.srv, f)
	go func() { _ = f.srv.Serve(lis) }()
	return f, nil
}

func (f *fakeLegacy) stop() { f.srv.Stop() }

// add registers users email0..emailN-1 under prefix; it returns their emails.
func (f *fakeLegacy) add(prefix string, n int, kind legacyKind) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, n)
	for i := range out {
		e := fmt.Sprintf("%s-%d@bench.test", prefix, i)
		f.users[e] = legacyUser{id: fmt.Sprintf("%s-%d", prefix, i), kind: kind}
		out[i] = e
	}
	return out
}

// callsFor sums the Login calls made for identifiers.
func (f *fakeLegacy) callsFor(ids []string) (total, maxPerUser int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		n := f.calls[id]
		total += n
		maxPerUser = max(maxPerUser, n)
	}
	return total, maxPerUser
}

// Login implements connectorv1.LegacyConnectorServer.
func (f *fakeLegacy) Login(_ context.Context, req *connectorv1.LoginRequest) (*connectorv1.LoginResponse, error) {
	id := strings.ToLower(strings.TrimSpace(req.GetIdentifier()))
	f.total.Add(1)
	f.mu.Lock()
	u, ok := f.users[id]
	f.calls[id]++
	f.mu.Unlock()
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "invalid credentials")
	}
	var stored string
	switch u.kind {
	case kindBcrypt, kindBcryptExported:
		stored = f.bcrypt
	case kindArgon2Exported:
		stored = f.argon2
	}
	if stored != "" {
		if err := f.verifier.Verify(req.GetPassword(), passwordhash.Hash{Value: stored}); err != nil {
			return nil, status.Error(codes.Unauthenticated, "invalid credentials")
		}
	} else if req.GetPassword() != f.password {
		return nil, status.Error(codes.Unauthenticated, "invalid credentials")
	}
	// Every user has a username: without one the store writes a key
	// holding a NUL byte, which FerretDB on PostgreSQL (jsonb) refuses.
	p := &connectorv1.LegacyProfile{LegacyId: u.id, Email: id, Username: u.id, EmailVerified: true, Name: "Bench " + u.id}
	switch u.kind {
	case kindBcryptExported:
		p.PasswordHash = &connectorv1.LegacyPasswordHash{Hash: f.bcrypt}
	case kindArgon2Exported, kindSeed:
		p.PasswordHash = &connectorv1.LegacyPasswordHash{Hash: f.argon2}
	}
	return &connectorv1.LoginResponse{Profile: p}, nil
}

// argonParams are authd's argon2id parameters (its defaults, OWASP).
type argonParams struct {
	MemoryKiB uint32 `json:"memory_kib"`
	Time      uint32 `json:"time"`
	Threads   uint8  `json:"threads"`
	KeyLen    uint32 `json:"key_len"`
	SaltLen   int    `json:"salt_len"`
}

func defaultArgon() argonParams {
	return argonParams{MemoryKiB: 19456, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}
}

func (p argonParams) key(password string, salt []byte) []byte {
	return argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
}

// phc is the PHC string authd itself would produce.
func (p argonParams) phc(password string) string {
	salt := make([]byte, p.SaltLen)
	_, _ = rand.Read(salt)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(p.key(password, salt)))
}
