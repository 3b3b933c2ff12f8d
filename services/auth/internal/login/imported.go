package login

import (
	"encoding/base64"
	"strings"

	"github.com/trickle-auth/trickle/passwordhash"
)

// importedPrefix marks a bulk-imported legacy hash that cannot be stored
// as-is: its format cannot be detected from the value alone, or it keeps
// its salt beside the hash (ASP.NET Membership, salted digests). The stored
// string is "$trickle-legacy$v=1$FORMAT$base64url(salt)$base64url(hash)".
// Hashes whose format Detect recognises (bcrypt, phpass, Django, …) are
// stored exactly as the legacy store had them.
const importedPrefix = "$trickle-legacy$v=1$"

// EncodeImportedHash is how a bulk-imported legacy hash is stored, so that
// the first login can verify it (and then replace it with argon2id).
func EncodeImportedHash(h passwordhash.Hash) string {
	if h.Salt == "" && h.Format != "" {
		if f, err := passwordhash.Detect(h.Value); err == nil && f == h.Format {
			return h.Value
		}
	}
	b := base64.RawURLEncoding
	return importedPrefix + h.Format + "$" + b.EncodeToString([]byte(h.Salt)) + "$" + b.EncodeToString([]byte(h.Value))
}

// DecodeImportedHash is the inverse of EncodeImportedHash; any other
// string is returned as a hash whose format is detected from its value.
func DecodeImportedHash(stored string) passwordhash.Hash {
	rest, ok := strings.CutPrefix(stored, importedPrefix)
	if !ok {
		return passwordhash.Hash{Value: stored}
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return passwordhash.Hash{Value: stored} // malformed: Verify refuses it
	}
	b := base64.RawURLEncoding
	salt, err1 := b.DecodeString(parts[1])
	value, err2 := b.DecodeString(parts[2])
	if err1 != nil || err2 != nil {
		return passwordhash.Hash{Value: stored}
	}
	return passwordhash.Hash{Format: parts[0], Salt: string(salt), Value: string(value)}
}
