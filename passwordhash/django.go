package passwordhash

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"
)

// Django's password hashers (django.contrib.auth.hashers). Django stores
// "<algorithm>$<rest>"; the salt of the PBKDF2 and digest hashers is a plain
// string used as its UTF-8 bytes.

func init() {
	register(FormatDjangoPBKDF2SHA256, djangoPBKDF2(FormatDjangoPBKDF2SHA256, "pbkdf2_sha256", sha256.New))
	register(FormatDjangoPBKDF2SHA1, djangoPBKDF2(FormatDjangoPBKDF2SHA1, "pbkdf2_sha1", sha1.New))
	register(FormatDjangoBcryptSHA256, func(_ *Verifier, password string, h Hash) error {
		inner, ok := strings.CutPrefix(h.Value, "bcrypt_sha256$")
		if !ok {
			return malformed(FormatDjangoBcryptSHA256, errShape.Error())
		}
		// BCryptSHA256PasswordHasher: bcrypt over the hex SHA-256 of the
		// password, so long passwords are not truncated at 72 bytes.
		sum := sha256.Sum256([]byte(password))
		return verifyBcrypt(FormatDjangoBcryptSHA256, []byte(hex.EncodeToString(sum[:])), inner)
	})
	register(FormatDjangoBcrypt, func(_ *Verifier, password string, h Hash) error {
		inner, ok := strings.CutPrefix(h.Value, "bcrypt$")
		if !ok {
			return malformed(FormatDjangoBcrypt, errShape.Error())
		}
		return verifyBcrypt(FormatDjangoBcrypt, []byte(password), inner)
	})
	register(FormatDjangoArgon2, func(_ *Verifier, password string, h Hash) error {
		// "argon2" followed by argon2-cffi's PHC string.
		inner, ok := strings.CutPrefix(h.Value, "argon2$")
		if !ok {
			return malformed(FormatDjangoArgon2, errShape.Error())
		}
		a, err := parseArgon2("$" + inner)
		if err != nil {
			return malformed(FormatDjangoArgon2, err.Error())
		}
		return a.verify(password)
	})
	register(FormatDjangoScrypt, verifyDjangoScrypt)
	register(FormatDjangoSHA1, djangoDigest(FormatDjangoSHA1, "sha1", sha1.New))
	register(FormatDjangoMD5, djangoDigest(FormatDjangoMD5, "md5", md5.New))
}

// djangoPBKDF2 verifies "pbkdf2_sha256$<iterations>$<salt>$<base64 hash>".
func djangoPBKDF2(name, algorithm string, h func() hash.Hash) verifyFunc {
	return func(_ *Verifier, password string, hh Hash) error {
		parts := strings.Split(hh.Value, "$")
		if len(parts) != 4 || parts[0] != algorithm {
			return malformed(name, errShape.Error())
		}
		iter, ok := parseUint(parts[1], maxPBKDF2Iterations)
		if !ok || iter < 1 {
			return malformed(name, errParams.Error())
		}
		if parts[2] == "" {
			return malformed(name, errSalt.Error())
		}
		want, err := decodeB64(parts[3])
		if err != nil || len(want) < 1 || len(want) > maxPBKDF2KeyLen {
			return malformed(name, errDigest.Error())
		}
		return pbkdf2Verify(name, h, password, []byte(parts[2]), int(iter), want)
	}
}

// verifyDjangoScrypt verifies Django ≥ 4.0's
// "scrypt$<N>$<salt>$<r>$<p>$<base64 hash>".
func verifyDjangoScrypt(_ *Verifier, password string, h Hash) error {
	parts := strings.Split(h.Value, "$")
	if len(parts) != 6 || parts[0] != "scrypt" {
		return malformed(FormatDjangoScrypt, errShape.Error())
	}
	n, okN := parseUint(parts[1], 1<<maxScryptLogN)
	r, okR := parseUint(parts[3], maxScryptR)
	p, okP := parseUint(parts[4], maxScryptP)
	if !okN || !okR || !okP || n < 2 || n&(n-1) != 0 {
		return malformed(FormatDjangoScrypt, errParams.Error())
	}
	logN := uint64(0)
	for uint64(1)<<logN < n {
		logN++
	}
	want, err := decodeB64(parts[5])
	if err != nil {
		return malformed(FormatDjangoScrypt, errDigest.Error())
	}
	if parts[2] == "" {
		return malformed(FormatDjangoScrypt, errSalt.Error())
	}
	if !checkScryptParams(logN, r, p, len(want)) {
		return malformed(FormatDjangoScrypt, errParams.Error())
	}
	return scryptHash{logN: logN, r: r, p: p, salt: []byte(parts[2]), hash: want}.verify(password)
}

// djangoDigest verifies Django's legacy "sha1$<salt>$<hex>" and
// "md5$<salt>$<hex>": hex(digest(salt + password)).
func djangoDigest(name, algorithm string, h func() hash.Hash) verifyFunc {
	return func(_ *Verifier, password string, hh Hash) error {
		parts := strings.Split(hh.Value, "$")
		if len(parts) != 3 || parts[0] != algorithm {
			return malformed(name, errShape.Error())
		}
		want, err := hex.DecodeString(parts[2])
		d := h()
		if err != nil || len(want) != d.Size() {
			return malformed(name, errDigest.Error())
		}
		d.Write([]byte(parts[1]))
		d.Write([]byte(password))
		return equal(d.Sum(nil), want)
	}
}
