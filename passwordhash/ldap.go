package passwordhash

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strings"
)

// LDAP userPassword schemes (RFC 2307 and OpenLDAP's slappasswd):
// {SHA} base64(SHA1(pw)), {SSHA} base64(SHA1(pw+salt)+salt) and the same
// for SHA-256/512, and {CRYPT} followed by a crypt(3) hash. The scheme
// name is case-insensitive.

func init() {
	register(FormatLDAPSHA, ldapDigest(FormatLDAPSHA, "{SHA}", sha1.New, false))
	register(FormatLDAPSSHA, ldapDigest(FormatLDAPSSHA, "{SSHA}", sha1.New, true))
	register(FormatLDAPSSHA256, ldapDigest(FormatLDAPSSHA256, "{SSHA256}", sha256.New, true))
	register(FormatLDAPSSHA512, ldapDigest(FormatLDAPSSHA512, "{SSHA512}", sha512.New, true))
	register(FormatLDAPCrypt, func(_ *Verifier, password string, h Hash) error {
		inner, ok := cutPrefixFold(h.Value, "{CRYPT}")
		if !ok {
			return malformed(FormatLDAPCrypt, errShape.Error())
		}
		switch {
		case strings.HasPrefix(inner, "$2"):
			return verifyBcrypt(FormatLDAPCrypt, []byte(password), inner)
		case strings.HasPrefix(inner, "$1$"), strings.HasPrefix(inner, "$5$"), strings.HasPrefix(inner, "$6$"):
			c, err := parseCrypt(inner)
			if err != nil {
				return malformed(FormatLDAPCrypt, err.Error())
			}
			return c.verify(password)
		default:
			// Traditional DES crypt is not supported.
			return malformed(FormatLDAPCrypt, "unsupported crypt scheme")
		}
	})
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

func ldapDigest(name, scheme string, newHash func() hash.Hash, salted bool) verifyFunc {
	return func(_ *Verifier, password string, h Hash) error {
		b64, ok := cutPrefixFold(h.Value, scheme)
		if !ok {
			return malformed(name, errShape.Error())
		}
		raw, err := decodeB64(b64)
		d := newHash()
		size := d.Size()
		if err != nil || len(raw) < size || (!salted && len(raw) != size) || (salted && len(raw) == size) {
			return malformed(name, errDigest.Error())
		}
		want, salt := raw[:size], raw[size:]
		d.Write([]byte(password))
		d.Write(salt)
		return equal(d.Sum(nil), want)
	}
}
