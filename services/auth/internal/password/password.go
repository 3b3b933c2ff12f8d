// Package password hashes and verifies the auth service's own user passwords.
//
// New hashes are always argon2id, encoded as PHC strings
// ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>", unpadded standard base64),
// at the OWASP parameters by default (m=19 MiB, t=2, p=1).
//
// bcrypt hashes ("$2a$", "$2b$", "$2y$") are understood for
// verification only, never produced: bcrypt reads at most 72 bytes of a
// password, and this package never truncates a password. Verifying a password
// longer than 72 bytes against a bcrypt hash therefore reports a mismatch
// instead of silently comparing a prefix. A successful bcrypt verification
// always asks for a rehash to argon2id.
//
// Hashing is memory-hard on purpose, so every hash or verification runs inside
// a bounded pool (see NewHasher): a burst of logins queues instead of
// exhausting memory. Errors never contain passwords or hashes (invariant I6).
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// MaxLength is the longest password, in bytes, that Hash and Verify accept.
// Passwords are never truncated.
const MaxLength = 1024

// MinBcryptCost is the lowest bcrypt cost MeetsPolicy accepts.
const MinBcryptCost = 10

// bcryptMaxInput is how many password bytes bcrypt actually uses.
const bcryptMaxInput = 72

// Limits on parameters, both configured and read from stored hashes. Stored
// hashes may come from a legacy database, so they are untrusted input: these
// bounds keep a hostile hash from costing unbounded memory or time.
const (
	maxMemoryKiB  = 1 << 20 // 1 GiB
	maxTime       = 64
	minSaltLen    = 8
	maxSaltLen    = 64
	minKeyLen     = 16
	maxKeyLen     = 128
	maxBcryptCost = 16
)

var (
	// ErrMalformed means a stored hash could not be parsed.
	ErrMalformed = errors.New("password: malformed hash")
	// ErrUnsupported means a stored hash is well-formed but uses an algorithm,
	// version or parameter this package does not verify.
	ErrUnsupported = errors.New("password: unsupported hash")
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
	params Params
	slots  chan struct{}
	// dummySalt is used by DummyVerify; fixed per Hasher.
	dummySalt []byte
	dummyKey  []byte

	// inSlot, when set (by tests), is called while a slot is held, before
	// the work runs.
	inSlot func()
}

// NewHasher returns a Hasher producing hashes with p. maxConcurrent bounds
// how many hash or verify computations run at once (each argon2id computation
// holds p.MemoryKiB of memory); callers beyond the bound wait for a slot.
// maxConcurrent 0 means runtime.GOMAXPROCS(0).
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
	h := &Hasher{
		params:    p,
		slots:     make(chan struct{}, maxConcurrent),
		dummySalt: make([]byte, p.SaltLen),
		dummyKey:  make([]byte, p.KeyLen),
	}
	_, _ = rand.Read(h.dummySalt) // crypto/rand.Read never fails (Go 1.24+)
	_, _ = rand.Read(h.dummyKey)
	return h, nil
}

// Params returns the parameters new hashes are produced with.
func (h *Hasher) Params() Params { return h.params }

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
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: reading salt: %w", err)
	}
	var key []byte
	err := h.run(ctx, func() {
		key = argon2.IDKey([]byte(password), salt, h.params.Time, h.params.MemoryKiB, h.params.Threads, h.params.KeyLen)
	})
	if err != nil {
		return "", err
	}
	return encodePHC(phc{
		memoryKiB: h.params.MemoryKiB,
		time:      h.params.Time,
		threads:   h.params.Threads,
		salt:      salt,
		key:       key,
	}), nil
}

// Verify reports whether password matches the stored hash encoded.
//
// needsRehash is true only when ok is true and the stored hash should be
// replaced by Hash(password): always for bcrypt, and for argon2id when its
// memory, time, threads or key length differ from the configured parameters
// or its salt is shorter than configured.
//
// err wraps ErrMalformed or ErrUnsupported when encoded cannot be verified,
// ErrTooLong when password exceeds MaxLength, or the context's error when ctx
// ended while waiting for a pool slot. A password longer than 72 bytes checked
// against a bcrypt hash is a mismatch (ok false, err nil), never truncated.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok bool, needsRehash bool, err error) {
	if len(password) > MaxLength {
		return false, false, ErrTooLong
	}
	switch kind, err := identify(encoded); {
	case err != nil:
		return false, false, err
	case kind == kindBcrypt:
		return h.verifyBcrypt(ctx, password, encoded)
	default:
		return h.verifyArgon2id(ctx, password, encoded)
	}
}

func (h *Hasher) verifyArgon2id(ctx context.Context, password, encoded string) (bool, bool, error) {
	d, err := parsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	var got []byte
	err = h.run(ctx, func() {
		got = argon2.IDKey([]byte(password), d.salt, d.time, d.memoryKiB, d.threads, uint32(len(d.key)))
	})
	if err != nil {
		return false, false, err
	}
	if subtle.ConstantTimeCompare(got, d.key) != 1 {
		return false, false, nil
	}
	p := h.params
	rehash := d.memoryKiB != p.MemoryKiB || d.time != p.Time || d.threads != p.Threads ||
		uint32(len(d.key)) != p.KeyLen || uint32(len(d.salt)) < p.SaltLen
	return true, rehash, nil
}

func (h *Hasher) verifyBcrypt(ctx context.Context, password, encoded string) (bool, bool, error) {
	if _, err := bcryptCost(encoded); err != nil {
		return false, false, err
	}
	if len(password) > bcryptMaxInput {
		// bcrypt would only look at the first 72 bytes: refuse rather
		// than accept a password that merely shares a prefix.
		return false, false, nil
	}
	var cmpErr error
	err := h.run(ctx, func() {
		cmpErr = bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
	})
	switch {
	case err != nil:
		return false, false, err
	case errors.Is(cmpErr, bcrypt.ErrMismatchedHashAndPassword):
		return false, false, nil
	case cmpErr != nil:
		// Only parse errors remain; bcryptCost already parsed the hash.
		return false, false, fmt.Errorf("%w: bcrypt", ErrMalformed)
	}
	return true, true, nil
}

// DummyVerify spends the same work as verifying password against a hash made
// with the configured parameters, and discards the result. Call it for
// unknown users so that "no such user" and "wrong password" take similar
// time (invariant I7). It waits for a pool slot like Verify does and returns
// early only if ctx ends while waiting.
func (h *Hasher) DummyVerify(ctx context.Context, password string) {
	if len(password) > MaxLength {
		password = password[:MaxLength] // the result is discarded anyway
	}
	_ = h.run(ctx, func() {
		got := argon2.IDKey([]byte(password), h.dummySalt, h.params.Time, h.params.MemoryKiB, h.params.Threads, h.params.KeyLen)
		subtle.ConstantTimeCompare(got, h.dummyKey)
	})
}

// MeetsPolicy reports whether a hash from elsewhere (for example a legacy
// database) is strong enough to be stored as-is: an argon2id hash with memory
// and time at least the configured ones, or a bcrypt hash with cost at least
// MinBcryptCost. A hash that meets the policy may still get needsRehash from
// Verify (bcrypt always does; argon2id does when its parameters differ from
// the configured ones), so adopted hashes converge to the configured
// parameters on a later login.
func (h *Hasher) MeetsPolicy(encoded string) bool {
	kind, err := identify(encoded)
	if err != nil {
		return false
	}
	if kind == kindBcrypt {
		cost, err := bcryptCost(encoded)
		return err == nil && cost >= MinBcryptCost
	}
	d, err := parsePHC(encoded)
	if err != nil {
		return false
	}
	return d.memoryKiB >= h.params.MemoryKiB && d.time >= h.params.Time
}

type hashKind int

const (
	kindArgon2id hashKind = iota + 1
	kindBcrypt
)

// identify recognises a stored hash by its prefix.
func identify(encoded string) (hashKind, error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		return kindArgon2id, nil
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"),
		strings.HasPrefix(encoded, "$2y$"):
		return kindBcrypt, nil
	case strings.HasPrefix(encoded, "$argon2i$"), strings.HasPrefix(encoded, "$argon2d$"):
		return 0, fmt.Errorf("%w: only argon2id is supported among argon2 variants", ErrUnsupported)
	case strings.HasPrefix(encoded, "$2x$"):
		return 0, fmt.Errorf("%w: bcrypt $2x$ is not supported", ErrUnsupported)
	case strings.HasPrefix(encoded, "$") && strings.Count(encoded, "$") >= 2:
		return 0, fmt.Errorf("%w: unknown hash identifier", ErrUnsupported)
	default:
		return 0, fmt.Errorf("%w: not a PHC or bcrypt string", ErrMalformed)
	}
}

// bcryptCost parses a bcrypt hash's cost, bounding it so a hostile hash
// cannot make verification arbitrarily slow.
func bcryptCost(encoded string) (int, error) {
	if len(encoded) != 60 {
		return 0, fmt.Errorf("%w: bcrypt hash has the wrong length", ErrMalformed)
	}
	cost, err := bcrypt.Cost([]byte(encoded))
	if err != nil {
		return 0, fmt.Errorf("%w: bcrypt hash does not parse", ErrMalformed)
	}
	if cost > maxBcryptCost {
		return 0, fmt.Errorf("%w: bcrypt cost above %d", ErrUnsupported, maxBcryptCost)
	}
	return cost, nil
}
