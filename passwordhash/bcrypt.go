package passwordhash

import (
	"errors"
	"strconv"

	"golang.org/x/crypto/bcrypt"
)

// maxBcryptCost bounds the work a bcrypt hash may ask for: cost 16 is
// already several seconds per attempt.
const maxBcryptCost = 16

func init() {
	register(FormatBcrypt, func(_ *Verifier, password string, h Hash) error {
		return verifyBcrypt(FormatBcrypt, []byte(password), h.Value)
	})
}

// parseBcrypt checks the shape of a modular-crypt bcrypt hash
// ($2a$/$2b$/$2y$, two-digit cost, 53 characters of salt and digest) and
// returns its cost.
func parseBcrypt(value string) (int, error) {
	if len(value) != 60 || value[0] != '$' || value[1] != '2' || value[3] != '$' || value[6] != '$' {
		return 0, errBcryptShape
	}
	switch value[2] {
	case 'a', 'b', 'y':
	default:
		return 0, errBcryptShape
	}
	if value[4] < '0' || value[4] > '9' || value[5] < '0' || value[5] > '9' {
		return 0, errBcryptShape
	}
	cost, _ := strconv.Atoi(value[4:6])
	if cost < bcrypt.MinCost || cost > maxBcryptCost {
		return 0, errBcryptCost
	}
	for i := 7; i < 60; i++ {
		if !isBcryptB64(value[i]) {
			return 0, errBcryptShape
		}
	}
	return cost, nil
}

var (
	errBcryptShape = errors.New("not a $2a$/$2b$/$2y$ bcrypt hash")
	errBcryptCost  = errors.New("bcrypt cost out of range")
)

func isBcryptB64(c byte) bool {
	return c == '.' || c == '/' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// verifyBcrypt verifies password against a bcrypt hash. Like every bcrypt
// implementation, only the first 72 bytes of the password count.
func verifyBcrypt(name string, password []byte, value string) error {
	if _, err := parseBcrypt(value); err != nil {
		return malformed(name, err.Error())
	}
	// x/crypto's Compare refuses nothing about the password's length; its
	// key schedule uses the first 72 bytes, as PHP and libxcrypt do.
	err := bcrypt.CompareHashAndPassword([]byte(value), password)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return ErrMismatch
	default:
		return malformed(name, "bcrypt rejected the hash")
	}
}
