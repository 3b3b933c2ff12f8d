package password

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// phc is a decoded argon2id PHC string.
type phc struct {
	memoryKiB uint32
	time      uint32
	threads   uint8
	salt      []byte
	key       []byte
}

// b64 is the PHC string format's base64: standard alphabet, no padding, and
// (Strict) no non-zero trailing bits, so every value has one encoding.
var b64 = base64.RawStdEncoding.Strict()

func encodePHC(d phc) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, d.memoryKiB, d.time, d.threads,
		b64.EncodeToString(d.salt), b64.EncodeToString(d.key))
}

// parsePHC decodes "$argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<hash>".
//
// The parser is strict: parameters in the order m, t, p, decimal without
// leading zeros, canonical unpadded base64. A successfully parsed string
// re-encodes to itself. Well-formed hashes beyond what this package verifies
// (another version, parameters beyond the limits) wrap ErrUnsupported;
// anything else wraps ErrMalformed. Errors never quote the input.
func parsePHC(s string) (phc, error) {
	var d phc
	parts := strings.Split(s, "$")
	if len(parts) == 5 && parts[0] == "" && parts[1] == "argon2id" && strings.HasPrefix(parts[2], "m=") {
		// No version field means version 0x10, which x/crypto/argon2 does not implement.
		return d, fmt.Errorf("%w: argon2id without version (0x10)", ErrUnsupported)
	}
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return d, fmt.Errorf("%w: argon2id PHC string must have 5 $-separated fields", ErrMalformed)
	}

	v, ok := strings.CutPrefix(parts[2], "v=")
	if !ok {
		return d, fmt.Errorf("%w: argon2id version field", ErrMalformed)
	}
	version, err := parseDecimal(v)
	if err != nil {
		return d, fmt.Errorf("%w: argon2id version", ErrMalformed)
	}
	if version != argon2.Version {
		return d, fmt.Errorf("%w: argon2id version %d", ErrUnsupported, version)
	}

	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return d, fmt.Errorf("%w: argon2id parameters must be m, t and p", ErrMalformed)
	}
	var vals [3]uint32
	for i, name := range [3]string{"m=", "t=", "p="} {
		raw, ok := strings.CutPrefix(params[i], name)
		if !ok {
			return d, fmt.Errorf("%w: argon2id parameters must be m, t and p in that order", ErrMalformed)
		}
		if vals[i], err = parseDecimal(raw); err != nil {
			return d, fmt.Errorf("%w: argon2id parameter %s", ErrMalformed, name[:1])
		}
	}
	m, t, p := vals[0], vals[1], vals[2]
	switch {
	case p < 1 || t < 1:
		return d, fmt.Errorf("%w: argon2id parameters out of range", ErrMalformed)
	case p > 255 || t > maxTime || m > maxMemoryKiB:
		return d, fmt.Errorf("%w: argon2id parameters above verification limits", ErrUnsupported)
	case m < 8*p:
		return d, fmt.Errorf("%w: argon2id memory below 8*threads", ErrMalformed)
	}
	d.memoryKiB, d.time, d.threads = m, t, uint8(p)

	if d.salt, err = decodeB64(parts[4]); err != nil {
		return d, fmt.Errorf("%w: argon2id salt encoding", ErrMalformed)
	}
	if d.key, err = decodeB64(parts[5]); err != nil {
		return d, fmt.Errorf("%w: argon2id hash encoding", ErrMalformed)
	}
	switch {
	case len(d.salt) == 0 || len(d.key) == 0:
		return d, fmt.Errorf("%w: argon2id salt or hash is empty", ErrMalformed)
	case len(d.salt) < minSaltLen || len(d.salt) > maxSaltLen:
		return d, fmt.Errorf("%w: argon2id salt length %d outside %d..%d", ErrUnsupported, len(d.salt), minSaltLen, maxSaltLen)
	case len(d.key) < minKeyLen || len(d.key) > maxKeyLen:
		return d, fmt.Errorf("%w: argon2id hash length %d outside %d..%d", ErrUnsupported, len(d.key), minKeyLen, maxKeyLen)
	}
	return d, nil
}

// parseDecimal parses a canonical unsigned 32-bit decimal: digits only, no
// sign, no leading zeros.
func parseDecimal(s string) (uint32, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, strconv.ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err
}

func decodeB64(s string) ([]byte, error) {
	// The decoder skips CR and LF; refuse them so encodings stay canonical.
	if strings.ContainsAny(s, "\r\n") {
		return nil, base64.CorruptInputError(0)
	}
	return b64.DecodeString(s)
}
