package passwordhash

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// equal compares two digests in constant time (for equal lengths; the
// lengths themselves are not secret) and maps a difference to ErrMismatch.
func equal(got, want []byte) error {
	if len(want) == 0 || subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

var errBase64 = errors.New("invalid base64")

// decodeB64 decodes standard base64 with or without padding, as written
// by PHC strings, Django, .NET and LDAP.
func decodeB64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errBase64
	}
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, errBase64
	}
	return b, nil
}

// decodeAB64 decodes passlib's "adapted base64" (standard alphabet with
// '.' instead of '+', no padding), and also plain unpadded PHC base64, so
// that both passlib's and other PHC writers' hashes are read.
func decodeAB64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "+=") && strings.Contains(s, ".") {
		return nil, errBase64
	}
	return decodeB64(strings.ReplaceAll(s, ".", "+"))
}

// parseUint parses a plain decimal number (no sign, no leading zeros
// other than "0" itself) up to max. It never echoes its input in errors.
func parseUint(s string, max uint64) (uint64, bool) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > max {
		return 0, false
	}
	return n, true
}

// parseParams parses a PHC parameter list "k=v,k=v" into a map. Keys must
// be distinct and belong to allowed.
func parseParams(s string, allowed ...string) (map[string]string, bool) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			return nil, false
		}
		known := false
		for _, a := range allowed {
			if k == a {
				known = true
				break
			}
		}
		if !known {
			return nil, false
		}
		if _, dup := out[k]; dup {
			return nil, false
		}
		out[k] = v
	}
	return out, true
}

// itoa64 is the alphabet of phpass, Drupal and crypt(3) hashes.
const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// encode64 is phpass's encode64 (little-endian groups of 6 bits), also used
// by Drupal's _password_base64_encode.
func encode64(in []byte) []byte {
	out := make([]byte, 0, (len(in)*4+2)/3)
	for i := 0; i < len(in); {
		v := uint(in[i])
		i++
		out = append(out, itoa64[v&0x3f])
		if i < len(in) {
			v |= uint(in[i]) << 8
		}
		out = append(out, itoa64[(v>>6)&0x3f])
		if i >= len(in) {
			break
		}
		i++
		if i < len(in) {
			v |= uint(in[i]) << 16
		}
		out = append(out, itoa64[(v>>12)&0x3f])
		if i >= len(in) {
			break
		}
		i++
		out = append(out, itoa64[(v>>18)&0x3f])
	}
	return out
}

func isItoa64(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(itoa64, s[i]) < 0 {
			return false
		}
	}
	return true
}

// Reasons a hash is malformed. They name the part, never its content.
var (
	errShape   = errors.New("unexpected structure")
	errVersion = errors.New("unsupported version")
	errParams  = errors.New("invalid or out-of-range parameters")
	errSalt    = errors.New("invalid salt")
	errDigest  = errors.New("invalid digest")
)
