// Package password is the auth service's password policy: new hashes are
// argon2id PHC strings ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>") at
// the configured parameters (OWASP's by default: m=19 MiB, t=2, p=1), which
// hashes from elsewhere are good enough to keep (MeetsPolicy), and when a
// stored hash should be replaced (Verify's needsRehash).
//
// Every format is verified by the shared core, passwordhash, with one set of
// rules for the connectors, the login flow and the bulk import: a legacy
// bcrypt hash is verified as the software that made it did (the first 72
// bytes count), and passwords are never truncated by anything this package
// writes. Hashing is memory-hard on purpose, so every hash or verification
// runs inside a bounded pool (see NewHasher): a burst of logins queues
// instead of exhausting memory. Errors never contain passwords or hashes
// (invariant I6).
package password

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"

	"github.com/trickle-auth/trickle/passwordhash"
)

// MaxLength is the longest password, in bytes, that Hash and Verify accept.
// Passwords are never truncated.
const MaxLength = 1024

// MinBcryptCost is the lowest bcrypt cost MeetsPolicy accepts.
const MinBcryptCost = 10

// Limits on configured parameters. Stored hashes are bounded by
// passwordhash, which refuses hostile parameters.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
	minSaltLen   = 8
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 128
)

var (
	// ErrTooLong means the password is longer than MaxLength bytes.
	ErrTooLong = errors.New("password: longer than 1024 bytes")
	// ErrEmpty means Hash was given an empty password.
	ErrEmpty = errors.New("password: empty")
)

// Params are the argon2id parameters for new hashes.
type Params struct {
	// MemoryKiB is the memory cost in KiB (argon2 m).
	MemoryKiB uint32 `yaml:"memory_kib"`
	// Time is the number of passes (argon2 t).
	Time uint32 `yaml:"time"`
	// Threads is the degree of parallelism (argon2 p).
	Threads uint8 `yaml:"threads"`
	// SaltLen is the salt length in bytes.
	SaltLen uint32 `yaml:"salt_len"`
	// KeyLen is the derived key length in bytes.
	KeyLen uint32 `yaml:"key_len"`
}

// DefaultParams returns the OWASP-recommended argon2id parameters:
// m=19456 KiB (19 MiB), t=2, p=1, a 16-byte salt and a 32-byte key.
func DefaultParams() Params {
	return Params{MemoryKiB: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Validate reports whether p can be used to produce hashes.
func (p Params) Validate() error {
	switch {
	case p.Threads < 1:
		return errors.New("password: threads must be at least 1")
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("password: time must be between 1 and %d", maxTime)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("password: memory_kib must be between 8*threads and %d", maxMemoryKiB)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("password: salt_len must be between %d and %d", minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("password: key_len must be between %d and %d", minKeyLen, maxKeyLen)
	}
	return nil
}

// Hasher hashes and verifies passwords with a bounded number of concurrent
// computations. It is safe for concurrent use.
type Hasher struct {
	params   Params
	verifier *passwordhash.Verifier
	slots    chan struct{}
	// dummy is an argon2id hash at params of a random password, for
	// DummyVerify.
	dummy string

	// inSlot, when set (by tests), is called while a slot is held, before
	// the work runs.
	inSlot func()
}

// NewHasher returns a Hasher producing hashes with p. maxConcurrent bounds
// how many hash or verify computations run at once (each argon2id computation
// holds p.MemoryKiB of memory); callers beyond the bound wait for a slot.
// maxConcurrent 0 means runtime.GOMAXPROCS(0). Stored hashes are verified
// with a passwordhash.Verifier of the zero Config (see Verifier).
func NewHasher(p Params, maxConcurrent int) (*Hasher, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if maxConcurrent < 0 {
		return nil, errors.New("password: maxConcurrent must not be negative")
	}
	if maxConcurrent == 0 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	v, err := passwordhash.New(passwordhash.Config{})
	if err != nil {
		return nil, err
	}
	h := &Hasher{params: p, verifier: v, slots: make(chan struct{}, maxConcurrent)}
	h.dummy = passwordhash.NewArgon2id(rand.Text(), h.salt(), h.argon2Params())
	return h, nil
}

// Params returns the parameters new hashes are produced with.
func (h *Hasher) Params() Params { return h.params }

// Verifier returns the verifier of stored hashes, for code that checks a
// hash is usable before storing it (the bulk import).
func (h *Hasher) Verifier() *passwordhash.Verifier { return h.verifier }

func (h *Hasher) argon2Params() passwordhash.Argon2Params {
	p := h.params
	return passwordhash.Argon2Params{MemoryKiB: p.MemoryKiB, Time: p.Time, Threads: p.Threads, KeyLen: int(p.KeyLen)}
}

func (h *Hasher) salt() []byte {
	salt := make([]byte, h.params.SaltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (Go 1.24+)
	return salt
}

// run executes work in a pool slot, waiting for one until ctx is done.
func (h *Hasher) run(ctx context.Context, work func()) error {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("password: waiting for a hashing slot: %w", context.Cause(ctx))
	}
	defer func() { <-h.slots }()
	if h.inSlot != nil {
		h.inSlot()
	}
	work()
	return nil
}

// Hash returns a new argon2id PHC string for password, with a random salt.
// It refuses empty passwords (ErrEmpty) and passwords longer than MaxLength
// bytes (ErrTooLong).
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if password == "" {
		return "", ErrEmpty
	}
	if len(password) > MaxLength {
		return "", ErrTooLong
	}
	salt := h.salt()
	var enc string
	if err := h.run(ctx, func() { enc = passwordhash.NewArgon2id(password, salt, h.argon2Params()) }); err != nil {
		return "", err
	}
	return enc, nil
}

// Verify reports whether password matches the stored hash: any format
// passwordhash verifies, as a self-describing string or in the form
// passwordhash.EncodeStored writes (bulk-imported hashes).
//
// needsRehash is true only when ok is true and the stored hash should be
// replaced by Hash(password): for every format but argon2id, and for
// argon2id when its memory, time, threads or key length differ from the
// configured parameters or its salt is shorter than configured.
//
// err wraps passwordhash.ErrMalformed or passwordhash.ErrUnknownFormat when
// stored cannot be verified, ErrTooLong when password exceeds MaxLength, or
// the context's error when ctx ended while waiting for a pool slot.
func (h *Hasher) Verify(ctx context.Context, password, stored string) (ok bool, needsRehash bool, err error) {
	if len(password) > MaxLength {
		return false, false, ErrTooLong
	}
	var verr error
	if err := h.run(ctx, func() { verr = h.verifier.Verify(password, passwordhash.DecodeStored(stored)) }); err != nil {
		return false, false, err
	}
	switch {
	case errors.Is(verr, passwordhash.ErrMismatch):
		return false, false, nil
	case verr != nil:
		return false, false, fmt.Errorf("password: stored hash unusable: %w", verr)
	}
	return true, h.needsRehash(stored), nil
}

func (h *Hasher) needsRehash(stored string) bool {
	info, err := passwordhash.Inspect(stored)
	if err != nil || info.Format != passwordhash.FormatArgon2id {
		return true
	}
	a, p := info.Argon2, h.params
	return a.MemoryKiB != p.MemoryKiB || a.Time != p.Time || a.Threads != p.Threads ||
		a.KeyLen != int(p.KeyLen) || a.SaltLen < int(p.SaltLen)
}

// DummyVerify spends the work of verifying password against the stored
// hash like, or against an argon2id hash at the configured parameters when
// like is "", and discards the result. Failures call it so that they cost
// the same whatever the reason (invariant I7): like is a stored hash of the
// format and cost to imitate. It waits for a pool slot like Verify does and
// returns early only if ctx ends while waiting.
func (h *Hasher) DummyVerify(ctx context.Context, password, like string) {
	if len(password) > MaxLength {
		password = password[:MaxLength] // the result is discarded anyway
	}
	if like == "" {
		like = h.dummy
	}
	_ = h.run(ctx, func() { _ = h.verifier.Verify(password, passwordhash.DecodeStored(like)) })
}

// MeetsPolicy reports whether a hash from elsewhere (for example a legacy
// database), known to match password, is good enough to be stored as-is: an
// argon2id hash with memory and time at least the configured ones, or a
// bcrypt hash with cost at least MinBcryptCost, and in both cases a hash
// that holds the whole password. A bcrypt hash of a password of 72 bytes or
// more is lossy (bcrypt reads 72: every password sharing them would match
// it), so that password gets a fresh argon2id hash instead.
//
// A hash that meets the policy may still get needsRehash from Verify
// (bcrypt always does; argon2id does when its parameters differ from the
// configured ones), so adopted hashes converge to the configured parameters
// on a later login.
func (h *Hasher) MeetsPolicy(stored, password string) bool {
	info, err := passwordhash.Inspect(stored)
	switch {
	case err != nil:
		return false
	case info.MaxPasswordBytes > 0 && len(password) >= info.MaxPasswordBytes:
		return false
	case info.Format == passwordhash.FormatBcrypt:
		return info.BcryptCost >= MinBcryptCost
	case info.Format == passwordhash.FormatArgon2id:
		a := info.Argon2
		return a.MemoryKiB >= h.params.MemoryKiB && a.Time >= h.params.Time &&
			a.SaltLen >= minSaltLen && a.KeyLen >= minKeyLen
	}
	return false
}
