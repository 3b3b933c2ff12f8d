package passwordhash

import (
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Bounds on what an argon2 hash may ask for.
const (
	maxArgon2MemoryKiB = 1 << 20 // 1 GiB
	maxArgon2Time      = 64
	maxArgon2KeyLen    = 256
	minArgon2KeyLen    = 4
	// The argon2 reference implementation refuses salts under 8 bytes
	// (ARGON2_MIN_SALT_LENGTH) and 64 covers every writer.
	minArgon2SaltLen = 8
	maxArgon2SaltLen = 64
)

func init() {
	register(FormatArgon2id, func(_ *Verifier, password string, h Hash) error {
		return verifyArgon2(FormatArgon2id, password, h.Value, "argon2id")
	})
	register(FormatArgon2i, func(_ *Verifier, password string, h Hash) error {
		return verifyArgon2(FormatArgon2i, password, h.Value, "argon2i")
	})
}

type argon2Hash struct {
	params     Argon2Params
	salt, hash []byte
}

// parseArgon2 parses a PHC argon2 string
// "$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>" (base64 without padding).
// Only version 19 (0x13) is supported; a missing version means 0x10, which
// is refused.
func parseArgon2(value string) (argon2Hash, error) {
	var a argon2Hash
	parts := strings.Split(value, "$")
	if len(parts) != 6 || parts[0] != "" {
		return a, errShape
	}
	switch parts[1] {
	case "argon2id", "argon2i":
		a.params.Variant = parts[1]
	default:
		return a, errShape
	}
	if parts[2] != "v=19" {
		return a, errVersion
	}
	p, ok := parseParams(parts[3], "m", "t", "p")
	if !ok || len(p) != 3 {
		return a, errParams
	}
	m, okm := parseUint(p["m"], maxArgon2MemoryKiB)
	t, okt := parseUint(p["t"], maxArgon2Time)
	th, okp := parseUint(p["p"], 255)
	if !okm || !okt || !okp || t < 1 || th < 1 || m < 8*th {
		return a, errParams
	}
	a.params.MemoryKiB, a.params.Time, a.params.Threads = uint32(m), uint32(t), uint8(th)
	var err error
	if a.salt, err = decodeB64(parts[4]); err != nil || len(a.salt) < minArgon2SaltLen || len(a.salt) > maxArgon2SaltLen || strings.HasSuffix(parts[4], "=") {
		return a, errSalt
	}
	if a.hash, err = decodeB64(parts[5]); err != nil || len(a.hash) < minArgon2KeyLen || len(a.hash) > maxArgon2KeyLen || strings.HasSuffix(parts[5], "=") {
		return a, errDigest
	}
	a.params.SaltLen, a.params.KeyLen = len(a.salt), len(a.hash)
	return a, nil
}

// phcB64 is the PHC string format's base64: standard alphabet, no padding.
var phcB64 = base64.RawStdEncoding

// NewArgon2id hashes password with salt at p (Variant is ignored, KeyLen
// is the length of the derived key) and returns the PHC string
// "$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>" that Verify reads back. The
// caller chooses the salt (random) and bounds the work (p is trusted
// configuration, unlike a stored hash). Passwords are never truncated.
func NewArgon2id(password string, salt []byte, p Argon2Params) string {
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(p.KeyLen))
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		phcB64.EncodeToString(salt), phcB64.EncodeToString(key))
}

func verifyArgon2(name, password, value, variant string) error {
	a, err := parseArgon2(value)
	if err != nil {
		return malformed(name, err.Error())
	}
	if a.params.Variant != variant {
		return malformed(name, "argon2 variant does not match the format")
	}
	return a.verify(password)
}

func (a argon2Hash) verify(password string) error {
	p := a.params
	var got []byte
	if p.Variant == "argon2id" {
		got = argon2.IDKey([]byte(password), a.salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(a.hash)))
	} else {
		got = argon2.Key([]byte(password), a.salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(a.hash)))
	}
	return equal(got, a.hash)
}
