package passwordhash

import (
	"encoding/base64"
	"strings"
)

// storedPrefix marks a hash that cannot be stored as one self-describing
// string: its format cannot be detected from the value alone, or it keeps
// its salt beside the hash (ASP.NET Membership, salted digests). The stored
// string is "$trickle-legacy$v=1$FORMAT$base64url(salt)$base64url(hash)".
// The prefix is kept as it was when only bulk imports wrote it: stored
// users' hashes use it.
const storedPrefix = "$trickle-legacy$v=1$"

// EncodeStored returns one string that DecodeStored turns back into h, so
// a user store can keep any Hash in one field. A hash whose format Detect
// recognises from its value (bcrypt, argon2id, phpass, Django …) and that
// has no separate salt is returned as-is.
func EncodeStored(h Hash) string {
	if h.Salt == "" {
		if f, err := Detect(h.Value); err == nil && (h.Format == "" || f == h.Format) {
			return h.Value
		}
	}
	b := base64.RawURLEncoding
	return storedPrefix + h.Format + "$" + b.EncodeToString([]byte(h.Salt)) + "$" + b.EncodeToString([]byte(h.Value))
}

// DecodeStored is the inverse of EncodeStored. Any other string is
// returned as a Hash whose format Verify detects from its value (and
// refuses when it cannot).
func DecodeStored(stored string) Hash {
	rest, ok := strings.CutPrefix(stored, storedPrefix)
	if !ok {
		return Hash{Value: stored}
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 3 || parts[0] == "" {
		return Hash{Value: stored} // malformed: Verify refuses it
	}
	b := base64.RawURLEncoding
	salt, err1 := b.DecodeString(parts[1])
	value, err2 := b.DecodeString(parts[2])
	if err1 != nil || err2 != nil {
		return Hash{Value: stored}
	}
	return Hash{Format: parts[0], Salt: string(salt), Value: string(value)}
}

// StoredFormat returns the format name of a string EncodeStored made (or
// of any hash Detect recognises), or "" when it has none.
func StoredFormat(stored string) string {
	h := DecodeStored(stored)
	if h.Format != "" {
		if _, ok := registry[h.Format]; ok {
			return h.Format
		}
		return ""
	}
	f, err := detect(h.Value, h.Salt)
	if err != nil {
		return ""
	}
	return f
}
