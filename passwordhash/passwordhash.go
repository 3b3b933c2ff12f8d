// Package passwordhash verifies passwords against hashes stored by legacy
// systems (WordPress, Django, Drupal, ASP.NET, LDAP, crypt(3), Firebase …),
// so a user can be migrated the first time they log in.
//
// A [Hash] names its format explicitly (Hash.Format, one of [Formats]) or
// leaves it empty, in which case the format is detected from the value
// ([Detect]). [Verifier.Verify] returns nil on a match, [ErrMismatch] on a
// wrong password, and an error wrapping [ErrUnknownFormat] or [ErrMalformed]
// otherwise. Errors never contain the password, the hash or the salt.
//
// Formats: bcrypt; argon2id/argon2i and scrypt (PHC strings, passlib's
// form too); PBKDF2 ($pbkdf2-sha256$ … as passlib or PHC writes it);
// Django (pbkdf2_sha256, pbkdf2_sha1, bcrypt_sha256, bcrypt, argon2,
// scrypt, sha1, md5); phpass ($P$ WordPress, $H$ phpBB) and WordPress 6.8
// $wp$2y$; Drupal 7 $S$ and U$S$; ASP.NET Core Identity v2/v3; ASP.NET
// Membership SHA1/SHA256/clear; crypt(3) $1$, $5$, $6$; LDAP {SHA},
// {SSHA}, {SSHA256}, {SSHA512}, {CRYPT}; salted md5/sha1/sha256/sha512
// (SaltedConfig); Firebase scrypt (FirebaseConfig). See the Format*
// constants.
//
// Every parser bounds the work a hash may ask for (bcrypt cost, PBKDF2
// iterations, argon2 memory, scrypt N …): a hostile hash with absurd
// parameters is refused with [ErrMalformed] instead of tying up the CPU or
// memory. All comparisons are constant-time.
package passwordhash

import (
	"errors"
	"fmt"
	"sort"
)

// Hash is a stored password hash as read from a legacy store.
type Hash struct {
	Format string // verifier name from Formats(); "" means detect from Value
	Value  string // the stored hash / digest
	Salt   string // salt kept apart from the hash (ASP.NET Membership, salted digests); "" when embedded
}

var (
	// ErrMismatch means the hash is well formed and the password is wrong.
	ErrMismatch = errors.New("passwordhash: password does not match")
	// ErrUnknownFormat means the format name is unknown, cannot be detected
	// from the value, or is not configured.
	ErrUnknownFormat = errors.New("passwordhash: unknown hash format")
	// ErrMalformed means the hash (or its salt) cannot be parsed, or asks
	// for more work than this package allows.
	ErrMalformed = errors.New("passwordhash: malformed hash")
)

// Verifier verifies passwords against legacy hashes. It is safe for
// concurrent use.
type Verifier struct {
	salted   saltedParams
	firebase *firebaseParams // nil when not configured
}

// New validates cfg and returns a Verifier. The zero Config is valid.
func New(cfg Config) (*Verifier, error) {
	v := &Verifier{}
	var err error
	if v.salted, err = cfg.Salted.params(); err != nil {
		return nil, err
	}
	if v.firebase, err = cfg.Firebase.params(); err != nil {
		return nil, err
	}
	return v, nil
}

// Input bounds.
const (
	maxPasswordLen = 4096 // bytes
	maxValueLen    = 1024 // bytes of Hash.Value and Hash.Salt
)

var errTooLong = errors.New("hash or salt too long")

// verifyFunc checks password against h.Value (and h.Salt where the format
// keeps the salt apart).
type verifyFunc func(v *Verifier, password string, h Hash) error

type format struct {
	name   string
	verify verifyFunc
}

// registry maps a format name to its verifier. It is filled by init
// functions in this package only and never changes afterwards.
var registry = map[string]format{}

func register(name string, fn verifyFunc) {
	if _, dup := registry[name]; dup {
		panic("passwordhash: duplicate format " + name)
	}
	registry[name] = format{name: name, verify: fn}
}

// Formats returns the names of all supported formats, sorted.
func Formats() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Verify checks password against h. It returns nil when the password
// matches, ErrMismatch when it does not, and an error wrapping
// ErrUnknownFormat or ErrMalformed when h cannot be used.
func (v *Verifier) Verify(password string, h Hash) error {
	if len(password) > maxPasswordLen {
		// No legacy system accepts such a password (WordPress refuses
		// more than 4096 bytes); refusing it bounds the work of
		// length-dependent formats such as phpass and SHA-crypt.
		return ErrMismatch
	}
	if len(h.Value) > maxValueLen || len(h.Salt) > maxValueLen {
		return fmt.Errorf("%w: %s", ErrMalformed, errTooLong.Error())
	}
	name := h.Format
	if name == "" {
		var err error
		if name, err = detect(h.Value, h.Salt); err != nil {
			return err
		}
	}
	f, ok := registry[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownFormat, sanitizeName(name))
	}
	return f.verify(v, password, h)
}

// sanitizeName keeps an unknown format name printable and short, so that a
// misconfigured format (which could be a hash pasted in the wrong column)
// does not leak into logs.
func sanitizeName(name string) string {
	if len(name) > 32 {
		return "(name too long)"
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return "(invalid name)"
		}
	}
	return name
}

// malformed returns an error wrapping ErrMalformed naming the format and
// what is wrong, never the value.
func malformed(format, what string) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, format, what)
}
