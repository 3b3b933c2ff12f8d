package passwordhash

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strings"
)

// phpass portable hashes ($P$ WordPress, $H$ phpBB), Drupal 7 ($S$, and the
// md5-upgraded U$…), and WordPress 6.8's $wp$ bcrypt. No maintained Go
// library covers them; the algorithms are short and written here after
// phpass 0.5 (crypt_private) and Drupal 7's includes/password.inc.

// maxPHPassLog2 bounds the iteration count 2^n. phpass and Drupal accept up
// to 30; real installations use 8 (WordPress) to 16 (Drupal 7.50+).
const maxPHPassLog2 = 20

// drupalHashLength is DRUPAL_HASH_LENGTH: Drupal truncates the encoded
// hash to 55 characters.
const drupalHashLength = 55

func init() {
	register(FormatPHPass, func(_ *Verifier, password string, h Hash) error {
		if !strings.HasPrefix(h.Value, "$P$") && !strings.HasPrefix(h.Value, "$H$") {
			return malformed(FormatPHPass, errShape.Error())
		}
		return verifyPortable(FormatPHPass, []byte(password), h.Value)
	})
	register(FormatDrupal7, func(_ *Verifier, password string, h Hash) error {
		return verifyPortable(FormatDrupal7, []byte(password), h.Value)
	})
	register(FormatDrupal7MD5, func(_ *Verifier, password string, h Hash) error {
		// user_update_7000 rehashed Drupal 6's md5(password) hashes as
		// "U" + _password_crypt(md5(password)); the password is the hex MD5.
		inner, ok := strings.CutPrefix(h.Value, "U")
		if !ok {
			return malformed(FormatDrupal7MD5, errShape.Error())
		}
		sum := md5.Sum([]byte(password))
		return verifyPortable(FormatDrupal7MD5, []byte(hex.EncodeToString(sum[:])), inner)
	})
	register(FormatWordPress, func(_ *Verifier, password string, h Hash) error {
		inner, ok := strings.CutPrefix(h.Value, "$wp")
		if !ok || !strings.HasPrefix(inner, "$2y$") {
			return malformed(FormatWordPress, errShape.Error())
		}
		// wp_authenticate trims the password before wp_check_password,
		// and wp_hash_password hashes the trimmed password.
		mac := hmac.New(sha384New, []byte("wp-sha384"))
		mac.Write([]byte(phpTrim(password)))
		pre := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		return verifyBcrypt(FormatWordPress, []byte(pre), inner)
	})
}

func sha384New() hash.Hash { return sha512.New384() }

// phpTrim is PHP's trim() with its default character list.
func phpTrim(s string) string {
	return strings.Trim(s, " \t\n\r\x00\x0b")
}

// verifyPortable verifies phpass "$P$"/"$H$" (MD5) and Drupal "$S$"
// (SHA-512) hashes: "$X$" + itoa64[log2 count] + 8-char salt + encoded
// digest, where digest = H(salt+password) iterated 2^log2 times as
// H(digest+password).
func verifyPortable(name string, password []byte, value string) error {
	if len(value) < 12 {
		return malformed(name, errShape.Error())
	}
	var newHash func() hash.Hash
	var wantLen int
	switch value[:3] {
	case "$P$", "$H$":
		newHash, wantLen = md5.New, 12+22
	case "$S$":
		newHash, wantLen = sha512.New, drupalHashLength
	default:
		return malformed(name, errShape.Error())
	}
	if len(value) != wantLen || !isItoa64(value[3:]) {
		return malformed(name, errShape.Error())
	}
	log2 := strings.IndexByte(itoa64, value[3])
	if log2 < 7 || log2 > maxPHPassLog2 {
		return malformed(name, errParams.Error())
	}
	salt := value[4:12]
	h := newHash()
	h.Write([]byte(salt))
	h.Write(password)
	sum := h.Sum(nil)
	for i := 1 << log2; i > 0; i-- {
		h.Reset()
		h.Write(sum)
		h.Write(password)
		sum = h.Sum(sum[:0])
	}
	got := append([]byte(value[:12]), encode64(sum)...)
	if len(got) > wantLen {
		got = got[:wantLen]
	}
	return equal(got, []byte(value))
}
