package passwordhash

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"hash"
	"unicode/utf16"
	"unicode/utf8"
)

// ASP.NET Core Identity's PasswordHasher (v2 and v3 blobs, base64) and the
// older ASP.NET Membership provider (SqlMembershipProvider), whose salt is
// kept in its own column (aspnet_Membership.PasswordSalt → Hash.Salt).

func init() {
	register(FormatASPNetIdentityV2, func(_ *Verifier, password string, h Hash) error {
		return verifyIdentity(FormatASPNetIdentityV2, 0x00, password, h.Value)
	})
	register(FormatASPNetIdentityV3, func(_ *Verifier, password string, h Hash) error {
		return verifyIdentity(FormatASPNetIdentityV3, 0x01, password, h.Value)
	})
	register(FormatASPNetMembershipSHA1, func(_ *Verifier, password string, h Hash) error {
		return verifyMembership(FormatASPNetMembershipSHA1, sha1.New, password, h)
	})
	register(FormatASPNetMembershipSHA256, func(_ *Verifier, password string, h Hash) error {
		return verifyMembership(FormatASPNetMembershipSHA256, sha256.New, password, h)
	})
	register(FormatASPNetMembershipClear, func(_ *Verifier, password string, h Hash) error {
		// PasswordFormat 0 (Clear): the column holds the password itself.
		// Compare digests so the comparison time does not depend on where
		// the strings differ or on their lengths.
		a, b := sha256.Sum256([]byte(password)), sha256.Sum256([]byte(h.Value))
		if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
			return ErrMismatch
		}
		return nil
	})
}

type identityHash struct {
	version    byte
	prf        func() hash.Hash
	iter       int
	salt, hash []byte
}

// parseIdentity decodes an ASP.NET Core Identity hash:
//
//	v2: 0x00 | salt[16] | subkey[32]             (PBKDF2-HMAC-SHA1, 1000 iterations)
//	v3: 0x01 | prf u32 | iter u32 | saltLen u32 | salt | subkey   (big-endian)
func parseIdentity(value string) (identityHash, error) {
	var id identityHash
	b, err := decodeB64(value)
	if err != nil || len(b) == 0 {
		return id, errShape
	}
	id.version = b[0]
	switch b[0] {
	case 0x00:
		if len(b) != 1+16+32 {
			return id, errShape
		}
		id.prf, id.iter, id.salt, id.hash = sha1.New, 1000, b[1:17], b[17:]
		return id, nil
	case 0x01:
		if len(b) < 13 {
			return id, errShape
		}
		switch binary.BigEndian.Uint32(b[1:5]) {
		case 0:
			id.prf = sha1.New
		case 1:
			id.prf = sha256.New
		case 2:
			id.prf = sha512.New
		default:
			return id, errParams
		}
		iter := binary.BigEndian.Uint32(b[5:9])
		saltLen := binary.BigEndian.Uint32(b[9:13])
		if iter < 1 || iter > maxPBKDF2Iterations {
			return id, errParams
		}
		rest := b[13:]
		// Identity requires at least 128-bit salts and subkeys.
		if saltLen < 16 || uint64(saltLen)+16 > uint64(len(rest)) {
			return id, errShape
		}
		id.iter, id.salt, id.hash = int(iter), rest[:saltLen], rest[saltLen:]
		if len(id.hash) > maxPBKDF2KeyLen {
			return id, errDigest
		}
		return id, nil
	default:
		return id, errVersion
	}
}

func verifyIdentity(name string, version byte, password, value string) error {
	id, err := parseIdentity(value)
	if err != nil {
		return malformed(name, err.Error())
	}
	if id.version != version {
		return malformed(name, errVersion.Error())
	}
	return pbkdf2Verify(name, id.prf, password, id.salt, id.iter, id.hash)
}

// utf16LE encodes s as .NET's Encoding.Unicode does; invalid UTF-8 becomes
// U+FFFD.
func utf16LE(s string) []byte {
	out := make([]byte, 0, 2*len(s))
	for _, r := range s {
		if r == utf8.RuneError {
			r = '\uFFFD'
		}
		if r1, r2 := utf16.EncodeRune(r); r1 != '\uFFFD' {
			out = binary.LittleEndian.AppendUint16(out, uint16(r1))
			out = binary.LittleEndian.AppendUint16(out, uint16(r2))
			continue
		}
		out = binary.LittleEndian.AppendUint16(out, uint16(r))
	}
	return out
}

// verifyMembership verifies base64(H(salt + UTF-16LE(password))), the
// SqlMembershipProvider's Hashed format with hashAlgorithmType SHA1 or
// SHA256; the salt is base64 in Hash.Salt.
func verifyMembership(name string, newHash func() hash.Hash, password string, h Hash) error {
	want, err := decodeB64(h.Value)
	d := newHash()
	if err != nil || len(want) != d.Size() {
		return malformed(name, errDigest.Error())
	}
	salt, err := decodeB64(h.Salt)
	if err != nil || len(salt) == 0 {
		return malformed(name, errSalt.Error())
	}
	d.Write(salt)
	d.Write(utf16LE(password))
	return equal(d.Sum(nil), want)
}
