package passwordhash

import (
	"crypto/sha256"
	"crypto/sha512"
	"strings"

	xcrypt "github.com/go-crypt/x/crypt"
)

// crypt(3) hashes: md5-crypt ($1$) and Drepper's SHA-crypt ($5$, $6$). The
// digest computation comes from github.com/go-crypt/x/crypt (the primitives
// of go-crypt/crypt, maintained for Authelia); parsing, bounds and the
// constant-time comparison are here.

// maxSHACryptRounds bounds rounds=; the specification allows 999,999,999.
const maxSHACryptRounds = 10_000_000

func init() {
	for _, name := range []string{FormatMD5Crypt, FormatSHA256Crypt, FormatSHA512Crypt} {
		register(name, func(_ *Verifier, password string, h Hash) error {
			return verifyCrypt(name, password, h.Value)
		})
	}
}

type cryptHash struct {
	format   string
	rounds   int
	salt     string
	checksum string
}

// parseCrypt parses "$1$salt$checksum", "$5$[rounds=N$]salt$checksum" and
// "$6$[rounds=N$]salt$checksum".
func parseCrypt(value string) (cryptHash, error) {
	var c cryptHash
	parts := strings.Split(value, "$")
	if len(parts) < 4 || parts[0] != "" {
		return c, errShape
	}
	var maxSalt, sumLen int
	switch parts[1] {
	case "1":
		c.format, maxSalt, sumLen = FormatMD5Crypt, 8, 22
	case "5":
		c.format, maxSalt, sumLen = FormatSHA256Crypt, 16, 43
	case "6":
		c.format, maxSalt, sumLen = FormatSHA512Crypt, 16, 86
	default:
		return c, errShape
	}
	rest := parts[2:]
	if c.format != FormatMD5Crypt {
		c.rounds = 5000
		if r, ok := strings.CutPrefix(rest[0], "rounds="); ok {
			n, ok := parseUint(r, maxSHACryptRounds)
			if !ok {
				return c, errParams
			}
			c.rounds = max(int(n), 1000) // the specification clamps to 1000
			rest = rest[1:]
		}
	}
	if len(rest) != 2 {
		return c, errShape
	}
	c.salt, c.checksum = rest[0], rest[1]
	if len(c.salt) > maxSalt || !isItoa64(c.salt) {
		return c, errSalt
	}
	if len(c.checksum) != sumLen || !isItoa64(c.checksum) {
		return c, errDigest
	}
	return c, nil
}

func verifyCrypt(name, password, value string) error {
	c, err := parseCrypt(value)
	if err != nil {
		return malformed(name, err.Error())
	}
	if c.format != name {
		return malformed(name, "crypt identifier does not match the format")
	}
	return c.verify(password)
}

func (c cryptHash) verify(password string) error {
	var got []byte
	switch c.format {
	case FormatMD5Crypt:
		got = xcrypt.KeyMD5Crypt([]byte(password), []byte(c.salt))
	case FormatSHA256Crypt:
		got = xcrypt.KeySHACrypt(sha256.New, []byte(password), []byte(c.salt), c.rounds)
	case FormatSHA512Crypt:
		got = xcrypt.KeySHACrypt(sha512.New, []byte(password), []byte(c.salt), c.rounds)
	}
	return equal(got, []byte(c.checksum))
}
