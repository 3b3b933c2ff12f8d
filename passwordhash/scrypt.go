package passwordhash

import (
	"strings"

	"golang.org/x/crypto/scrypt"
)

// Bounds on what an scrypt hash may ask for.
const (
	maxScryptLogN   = 20      // N ≤ 2^20
	maxScryptR      = 32      //
	maxScryptP      = 16      //
	maxScryptMemory = 1 << 30 // 128·r·N bytes
	maxScryptWork   = 1 << 25 // N·r·p
	maxScryptKeyLen = 256
)

func init() {
	register(FormatScrypt, func(_ *Verifier, password string, h Hash) error {
		s, err := parseScrypt(h.Value)
		if err != nil {
			return malformed(FormatScrypt, err.Error())
		}
		return s.verify(password)
	})
}

type scryptHash struct {
	logN, r, p uint64
	salt, hash []byte
}

// checkScryptParams bounds N (given as log2), r, p and the key length.
func checkScryptParams(logN, r, p uint64, keyLen int) bool {
	if logN < 1 || logN > maxScryptLogN || r < 1 || r > maxScryptR || p < 1 || p > maxScryptP {
		return false
	}
	n := uint64(1) << logN
	return 128*r*n <= maxScryptMemory && n*r*p <= maxScryptWork && keyLen >= 1 && keyLen <= maxScryptKeyLen
}

// parseScrypt parses "$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>" as
// written by passlib (adapted base64) and by PHC writers (plain base64).
func parseScrypt(value string) (scryptHash, error) {
	var s scryptHash
	parts := strings.Split(value, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != "scrypt" {
		return s, errShape
	}
	p, ok := parseParams(parts[2], "ln", "r", "p")
	if !ok || len(p) != 3 {
		return s, errParams
	}
	var okN, okR, okP bool
	s.logN, okN = parseUint(p["ln"], 64)
	s.r, okR = parseUint(p["r"], 1<<20)
	s.p, okP = parseUint(p["p"], 1<<20)
	if !okN || !okR || !okP {
		return s, errParams
	}
	var err error
	if s.salt, err = decodeAB64(parts[3]); err != nil {
		return s, errSalt
	}
	if s.hash, err = decodeAB64(parts[4]); err != nil {
		return s, errDigest
	}
	if !checkScryptParams(s.logN, s.r, s.p, len(s.hash)) {
		return s, errParams
	}
	return s, nil
}

func (s scryptHash) verify(password string) error {
	got, err := scrypt.Key([]byte(password), s.salt, 1<<s.logN, int(s.r), int(s.p), len(s.hash))
	if err != nil {
		return malformed(FormatScrypt, "scrypt rejected the parameters")
	}
	return equal(got, s.hash)
}
