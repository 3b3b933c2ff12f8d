package passwordhash

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// openwallLong is crypt_blowfish's (Openwall, wrapper.c) long-password test
// vector: 98 bytes, of which bcrypt reads the first 72, as PHP's
// password_verify, libxcrypt and Go do.
const openwallLong = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored"

// A legacy bcrypt hash is verified the way the software that made it did:
// the first 72 bytes count, for every variant.
func TestBcryptVerifiesLikePHP(t *testing.T) {
	v := mustNew(t, Config{})
	for _, variant := range []string{"2a", "2b", "2y"} {
		// $2a$ and $2y$ are the published vectors; $2b$ differs from them
		// only for passwords over 255 bytes.
		h := Hash{Value: "$" + variant + "$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"}
		for _, pw := range []string{openwallLong, openwallLong[:72], openwallLong[:72] + "anything else"} {
			if err := v.Verify(pw, h); err != nil {
				t.Errorf("$%s$, %d-byte password: %v, want a match", variant, len(pw), err)
			}
		}
		for _, pw := range []string{openwallLong[:71], "x" + openwallLong[1:]} {
			if err := v.Verify(pw, h); !errors.Is(err, ErrMismatch) {
				t.Errorf("$%s$, %d-byte wrong password: %v, want ErrMismatch", variant, len(pw), err)
			}
		}
		info, err := Inspect(h.Value)
		if err != nil || info.MaxPasswordBytes != BcryptMaxPasswordBytes || info.BcryptCost != 5 {
			t.Errorf("Inspect($%s$) = %+v, %v; want cost 5 and MaxPasswordBytes 72", variant, info, err)
		}
	}
	for _, value := range []string{"$argon2id$v=19$m=64,t=1,p=1$wTinlFKqldJai7HW2puzVg$Vt5WL1GkJH/CofZHmlqObw", "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0"} {
		if info, err := Inspect(value); err != nil || info.MaxPasswordBytes != 0 {
			t.Errorf("Inspect(%.12s) = %+v, %v; want the whole password read", value, info, err)
		}
	}
}

// NewArgon2id writes what argon2-cffi writes: the passlib vector is
// reproduced byte for byte from its salt and parameters.
func TestNewArgon2idMatchesArgon2Cffi(t *testing.T) {
	const want = "$argon2id$v=19$m=64,t=1,p=1$wTinlFKqldJai7HW2puzVg$Vt5WL1GkJH/CofZHmlqObw"
	salt, err := base64.RawStdEncoding.DecodeString("wTinlFKqldJai7HW2puzVg")
	if err != nil {
		t.Fatal(err)
	}
	got := NewArgon2id("password", salt, Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1, KeyLen: 16})
	if got != want {
		t.Fatalf("NewArgon2id = %s, want %s", got, want)
	}
	info, err := Inspect(got)
	if err != nil || info.Argon2 == nil || info.Argon2.SaltLen != 16 || info.Argon2.KeyLen != 16 {
		t.Fatalf("Inspect = %+v, %v", info, err)
	}
	long := strings.Repeat("ä", 512)
	h := NewArgon2id(long, salt, Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1, KeyLen: 32})
	v := mustNew(t, Config{})
	if err := v.Verify(long, Hash{Value: h}); err != nil {
		t.Fatalf("1024-byte password: %v", err)
	}
	if err := v.Verify(long[:1022], Hash{Value: h}); !errors.Is(err, ErrMismatch) {
		t.Fatalf("prefix of a long password: %v, want ErrMismatch (never truncated)", err)
	}
}

func TestEncodeStoredRoundTrip(t *testing.T) {
	v := mustNew(t, Config{})
	for _, c := range []struct {
		h          Hash
		asIs       bool
		wantFormat string
	}{
		{Hash{Format: FormatBcrypt, Value: "$2y$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"}, true, FormatBcrypt},
		{Hash{Value: "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0"}, true, FormatPHPass},
		{Hash{Format: FormatSaltedSHA1, Value: "0123456789abcdef0123456789abcdef01234567", Salt: "s$lt"}, false, FormatSaltedSHA1},
		{Hash{Format: FormatASPNetMembershipClear, Value: "$trickle-legacy$v=1$x$$"}, false, FormatASPNetMembershipClear},
	} {
		s := EncodeStored(c.h)
		if (s == c.h.Value) != c.asIs {
			t.Errorf("EncodeStored(%s) stored as-is = %v, want %v", c.wantFormat, s == c.h.Value, c.asIs)
		}
		got := DecodeStored(s)
		if got.Value != c.h.Value || got.Salt != c.h.Salt || (got.Format != "" && got.Format != c.h.Format) {
			t.Errorf("DecodeStored(EncodeStored(%s)) = format %q, changed value or salt", c.wantFormat, got.Format)
		}
		if f := StoredFormat(s); f != c.wantFormat {
			t.Errorf("StoredFormat = %q, want %q", f, c.wantFormat)
		}
	}
	if err := v.Verify("password", DecodeStored(EncodeStored(Hash{Format: FormatASPNetMembershipClear, Value: "password"}))); err != nil {
		t.Fatalf("clear password through EncodeStored: %v", err)
	}
	for _, bad := range []string{"$trickle-legacy$v=1$", "$trickle-legacy$v=1$$YQ$YQ", "$trickle-legacy$v=1$md4$YQ$YQ", "$trickle-legacy$v=1$salted-sha1$!!$YQ"} {
		if f := StoredFormat(bad); f != "" {
			t.Errorf("StoredFormat(%q) = %q, want none", bad, f)
		}
		if err := v.Verify("password", DecodeStored(bad)); err == nil || errors.Is(err, ErrMismatch) {
			t.Errorf("Verify against %q = %v, want an unusable-hash error", bad, err)
		}
	}
}
