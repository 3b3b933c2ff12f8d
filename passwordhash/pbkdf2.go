package passwordhash

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strings"
)

// Bounds on what a PBKDF2 hash may ask for.
const (
	maxPBKDF2Iterations = 10_000_000
	maxPBKDF2KeyLen     = 128
)

func init() {
	for _, f := range []struct {
		name string
		h    func() hash.Hash
	}{
		{FormatPBKDF2SHA1, sha1.New},
		{FormatPBKDF2SHA256, sha256.New},
		{FormatPBKDF2SHA512, sha512.New},
	} {
		register(f.name, func(_ *Verifier, password string, h Hash) error {
			p, err := parsePBKDF2(h.Value)
			if err != nil {
				return malformed(f.name, err.Error())
			}
			if p.format != f.name {
				return malformed(f.name, "digest algorithm does not match the format")
			}
			return p.verify(password)
		})
	}
}

type pbkdf2Hash struct {
	format     string
	h          func() hash.Hash
	iter       int
	salt, hash []byte
}

// parsePBKDF2 parses passlib's "$pbkdf2-sha256$<rounds>$<salt>$<hash>"
// (also "$pbkdf2$" for SHA-1; adapted base64) and the PHC form
// "$pbkdf2-sha256$i=<rounds>[,l=<len>]$<salt>$<hash>" (plain base64).
func parsePBKDF2(value string) (pbkdf2Hash, error) {
	var p pbkdf2Hash
	parts := strings.Split(value, "$")
	if len(parts) != 5 || parts[0] != "" {
		return p, errShape
	}
	switch parts[1] {
	case "pbkdf2", "pbkdf2-sha1":
		p.format, p.h = FormatPBKDF2SHA1, sha1.New
	case "pbkdf2-sha256":
		p.format, p.h = FormatPBKDF2SHA256, sha256.New
	case "pbkdf2-sha512":
		p.format, p.h = FormatPBKDF2SHA512, sha512.New
	default:
		return p, errShape
	}
	iter, ok := parseUint(parts[2], maxPBKDF2Iterations)
	keyLen := uint64(0)
	if !ok {
		params, okp := parseParams(parts[2], "i", "l")
		if !okp {
			return p, errParams
		}
		if iter, ok = parseUint(params["i"], maxPBKDF2Iterations); !ok {
			return p, errParams
		}
		if l, has := params["l"]; has {
			if keyLen, ok = parseUint(l, maxPBKDF2KeyLen); !ok {
				return p, errParams
			}
		}
	}
	if iter < 1 {
		return p, errParams
	}
	p.iter = int(iter)
	var err error
	if p.salt, err = decodeAB64(parts[3]); err != nil {
		return p, errSalt
	}
	if p.hash, err = decodeAB64(parts[4]); err != nil || len(p.hash) < 1 || len(p.hash) > maxPBKDF2KeyLen {
		return p, errDigest
	}
	if keyLen != 0 && int(keyLen) != len(p.hash) {
		return p, errDigest
	}
	return p, nil
}

func (p pbkdf2Hash) verify(password string) error {
	return pbkdf2Verify(p.format, p.h, password, p.salt, p.iter, p.hash)
}

// pbkdf2Verify derives len(want) bytes and compares them with want.
func pbkdf2Verify(name string, h func() hash.Hash, password string, salt []byte, iter int, want []byte) error {
	if iter < 1 || iter > maxPBKDF2Iterations || len(want) < 1 || len(want) > maxPBKDF2KeyLen {
		return malformed(name, errParams.Error())
	}
	got, err := pbkdf2.Key(h, password, salt, iter, len(want))
	if err != nil {
		return malformed(name, "pbkdf2 rejected the parameters")
	}
	return equal(got, want)
}
