package passwordhash

import (
	"fmt"
	"strings"
)

// prefixes maps the leading characters of a hash to its format. Longer
// prefixes that extend shorter ones are listed first.
var prefixes = []struct{ prefix, format string }{
	{"$2a$", FormatBcrypt},
	{"$2b$", FormatBcrypt},
	{"$2y$", FormatBcrypt},
	{"$argon2id$", FormatArgon2id},
	{"$argon2i$", FormatArgon2i},
	{"$scrypt$", FormatScrypt},
	{"$pbkdf2$", FormatPBKDF2SHA1},
	{"$pbkdf2-sha1$", FormatPBKDF2SHA1},
	{"$pbkdf2-sha256$", FormatPBKDF2SHA256},
	{"$pbkdf2-sha512$", FormatPBKDF2SHA512},
	{"pbkdf2_sha256$", FormatDjangoPBKDF2SHA256},
	{"pbkdf2_sha1$", FormatDjangoPBKDF2SHA1},
	{"bcrypt_sha256$", FormatDjangoBcryptSHA256},
	{"bcrypt$", FormatDjangoBcrypt},
	{"argon2$", FormatDjangoArgon2},
	{"scrypt$", FormatDjangoScrypt},
	{"sha1$", FormatDjangoSHA1},
	{"md5$", FormatDjangoMD5},
	{"$P$", FormatPHPass},
	{"$H$", FormatPHPass},
	{"$wp$", FormatWordPress},
	{"$S$", FormatDrupal7},
	{"U$S$", FormatDrupal7MD5},
	{"U$P$", FormatDrupal7MD5},
	{"U$H$", FormatDrupal7MD5},
	{"$1$", FormatMD5Crypt},
	{"$5$", FormatSHA256Crypt},
	{"$6$", FormatSHA512Crypt},
}

// ldapSchemes maps an LDAP {SCHEME} (upper case) to its format.
var ldapSchemes = map[string]string{
	"SHA":     FormatLDAPSHA,
	"SSHA":    FormatLDAPSSHA,
	"SSHA256": FormatLDAPSSHA256,
	"SSHA512": FormatLDAPSSHA512,
	"CRYPT":   FormatLDAPCrypt,
}

// Detect returns the format of a stored hash recognised by its shape: a
// modular-crypt or PHC prefix ($2b$, $argon2id$, $P$ …), a Django
// "algorithm$" prefix, an LDAP {SCHEME}, or an ASP.NET Core Identity
// base64 blob. It returns an error wrapping ErrUnknownFormat otherwise.
// Only the shape is checked: a detected hash may still be malformed.
//
// Formats that keep their salt apart (ASP.NET Membership, salted digests,
// Firebase scrypt) or store the password as-is cannot be detected from the
// value alone; name them in Hash.Format. (Verify, which also sees
// Hash.Salt, recognises ASP.NET Membership SHA-1/SHA-256 hashes.)
func Detect(value string) (string, error) {
	return detect(value, "")
}

func detect(value, salt string) (string, error) {
	for _, p := range prefixes {
		if strings.HasPrefix(value, p.prefix) {
			return p.format, nil
		}
	}
	if strings.HasPrefix(value, "{") {
		if end := strings.IndexByte(value, '}'); end > 0 {
			if f, ok := ldapSchemes[strings.ToUpper(value[1:end])]; ok {
				return f, nil
			}
		}
		return "", fmt.Errorf("%w: unsupported LDAP scheme", ErrUnknownFormat)
	}
	if id, err := parseIdentity(value); err == nil {
		if id.version == 0 {
			return FormatASPNetIdentityV2, nil
		}
		return FormatASPNetIdentityV3, nil
	}
	if salt != "" {
		if s, err := decodeB64(salt); err == nil && len(s) > 0 {
			if d, err := decodeB64(value); err == nil {
				switch len(d) {
				case 20:
					return FormatASPNetMembershipSHA1, nil
				case 32:
					return FormatASPNetMembershipSHA256, nil
				}
			}
		}
	}
	return "", fmt.Errorf("%w: not recognised", ErrUnknownFormat)
}
