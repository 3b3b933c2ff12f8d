package passwordhash

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mustNew(t testing.TB, cfg Config) *Verifier {
	t.Helper()
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMalformed checks that broken hashes and hashes asking for absurd work
// are refused quickly with ErrMalformed (a hostile hash must not DoS).
func TestMalformed(t *testing.T) {
	cases := []struct{ format, value, salt string }{
		{FormatBcrypt, "$2b$17$" + strings.Repeat("a", 53), ""},                          // cost above the bound
		{FormatBcrypt, "$2b$31$" + strings.Repeat("a", 53), ""},                          // cost far above
		{FormatBcrypt, "$2b$03$" + strings.Repeat("a", 53), ""},                          // below bcrypt's minimum
		{FormatBcrypt, "$2x$04$" + strings.Repeat("a", 53), ""},                          // unsupported minor
		{FormatBcrypt, "$2b$04$" + strings.Repeat("a", 52), ""},                          // short
		{FormatBcrypt, "$2b$04$" + strings.Repeat("!", 53), ""},                          // alphabet
		{FormatBcrypt, "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA", ""},                  // wrong family
		{FormatArgon2id, "$argon2id$v=19$m=2097152,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", ""}, // 2 GiB
		{FormatArgon2id, "$argon2id$v=19$m=65536,t=1000,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", ""},
		{FormatArgon2id, "$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$aGFzaGhhc2g", ""},
		{FormatArgon2id, "$argon2id$v=19$m=64,t=1,p=256$c2FsdHNhbHQ$aGFzaGhhc2g", ""},
		{FormatArgon2id, "$argon2id$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", ""}, // version 0x10
		{FormatArgon2id, "$argon2id$v=19$m=64,t=1,p=1,x=1$c2FsdHNhbHQ$aGFzaGhhc2g", ""},
		{FormatArgon2id, "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$", ""},
		{FormatArgon2id, "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", ""}, // variant mismatch
		{FormatScrypt, "$scrypt$ln=21,r=8,p=1$c2FsdA$aGFzaA", ""},
		{FormatScrypt, "$scrypt$ln=16,r=8,p=1000$c2FsdA$aGFzaA", ""},
		{FormatScrypt, "$scrypt$ln=0,r=8,p=1$c2FsdA$aGFzaA", ""},
		{FormatScrypt, "$scrypt$ln=16,r=8$c2FsdA$aGFzaA", ""},
		{FormatPBKDF2SHA256, "$pbkdf2-sha256$10000001$c2FsdA$aGFzaA", ""},
		{FormatPBKDF2SHA256, "$pbkdf2-sha256$i=99999999999,l=32$c2FsdA$aGFzaA", ""},
		{FormatPBKDF2SHA256, "$pbkdf2-sha256$0$c2FsdA$aGFzaA", ""},
		{FormatPBKDF2SHA256, "$pbkdf2-sha256$01000$c2FsdA$aGFzaA", ""},
		{FormatPBKDF2SHA256, "$pbkdf2-sha512$1000$c2FsdA$aGFzaA", ""},
		{FormatPBKDF2SHA256, "$pbkdf2-sha256$1000$c2FsdA$" + strings.Repeat("A", 200), ""},
		{FormatDjangoPBKDF2SHA256, "pbkdf2_sha256$20000000$salt$aGFzaA==", ""},
		{FormatDjangoPBKDF2SHA256, "pbkdf2_sha256$-1$salt$aGFzaA==", ""},
		{FormatDjangoPBKDF2SHA256, "pbkdf2_sha256$1000$$aGFzaA==", ""},
		{FormatDjangoScrypt, "scrypt$2097152$salt$8$1$aGFzaA==", ""},
		{FormatDjangoScrypt, "scrypt$1000$salt$8$1$aGFzaA==", ""},
		{FormatDjangoArgon2, "argon2$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", ""},
		{FormatDjangoBcryptSHA256, "bcrypt_sha256$$2b$20$" + strings.Repeat("a", 53), ""},
		{FormatDjangoSHA1, "sha1$salt$abcd", ""},
		{FormatPHPass, "$H$abcdefgh1ZbJodHxmeXVAhEzTG7IAp.", ""},     // 2^38 iterations (DokuWiki's test)
		{FormatPHPass, "$P$Lsaltsalt" + strings.Repeat("a", 22), ""}, // 2^23, above the bound
		{FormatPHPass, "$P$4saltsalt" + strings.Repeat("a", 22), ""}, // 2^6, below phpass's minimum
		{FormatPHPass, "$P$Bsalt", ""},
		{FormatPHPass, "$S$Dsaltsalt" + strings.Repeat("a", 43), ""},
		{FormatDrupal7, "$S$Dsaltsalt" + strings.Repeat("a", 44), ""}, // not 55 characters
		{FormatDrupal7MD5, "$S$Dsaltsalt" + strings.Repeat("a", 43), ""},
		{FormatWordPress, "$wp$2b$04$" + strings.Repeat("a", 53), ""},
		{FormatWordPress, "$2y$04$" + strings.Repeat("a", 53), ""},
		{FormatASPNetIdentityV2, "AAABAgMEBQYHCAkKCwwNDg+ukCEMDf0yyQ29NYubggE=", ""},                 // too short (aspnetcore's test)
		{FormatASPNetIdentityV2, "AQAAAAIAAAAyAAAAEOMwvh3+FZxqkdMBz2ekgGhwQ4B6pZWND6zgESBuWiHw", ""}, // a v3 hash
		{FormatASPNetIdentityV3, "AQAAAAIAAAAyAAAAEOMwvh3+FZxqkdMBz2ekgGhwQ4A=", ""},                 // too short (aspnetcore's test)
		{FormatASPNetIdentityV3, "AQAAAAIAmJaBAAAAEOMwvh3+FZxqkdMBz2ekgGhwQ4B6pZWND6zgESBuWiHw", ""}, // 10_000_001 iterations
		{FormatASPNetIdentityV3, "AQAAAAMAAAAyAAAAEOMwvh3+FZxqkdMBz2ekgGhwQ4B6pZWND6zgESBuWiHw", ""}, // unknown PRF
		{FormatASPNetIdentityV3, "not base64!", ""},
		{FormatASPNetMembershipSHA1, "Vz9mJxudAR4ZVJTNI4W+oH7m3X0=", ""}, // no salt
		{FormatASPNetMembershipSHA1, "Kqx+vXAfjf0esjMOR/Ls6rPijWFh3+ObJfA79YH30V8=", "wZdnRVXWcvXZKY6HJmJqUg=="},
		{FormatSHA512Crypt, "$6$rounds=999999999$salt$" + strings.Repeat("a", 86), ""},
		{FormatSHA512Crypt, "$6$rounds=0100$salt$" + strings.Repeat("a", 86), ""},
		{FormatSHA512Crypt, "$6$saltsaltsaltsaltX$" + strings.Repeat("a", 86), ""}, // 17-char salt
		{FormatSHA512Crypt, "$6$salt$" + strings.Repeat("a", 85), ""},
		{FormatSHA512Crypt, "$5$salt$" + strings.Repeat("a", 43), ""},
		{FormatMD5Crypt, "$1$saltsaltX$" + strings.Repeat("a", 22), ""},
		{FormatLDAPSHA, "{SHA}c2hvcnQ=", ""},
		{FormatLDAPSSHA, "{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", ""}, // no salt
		{FormatLDAPSSHA, "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", ""},
		{FormatLDAPCrypt, "{CRYPT}ablvoGr1hvZ5k", ""}, // DES crypt is not supported
		{FormatLDAPCrypt, "{CRYPT}$6$rounds=99999999$salt$" + strings.Repeat("a", 86), ""},
		{FormatSaltedSHA1, "zz", "s4lty"},
		{FormatSaltedSHA1, "abcd", "s4lty"},
		{FormatFirebaseScrypt, "not base64!", "c2FsdA=="}, // with config below
		{"", strings.Repeat("$2b$", 300), ""},             // too long
	}
	v := mustNew(t, Config{Firebase: FirebaseConfig{SignerKey: "c2lnbmVy", SaltSeparator: "Bw==", Rounds: 8, MemCost: 14}})
	for _, c := range cases {
		start := time.Now()
		err := v.Verify("password", Hash{Format: c.format, Value: c.value, Salt: c.salt})
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("Verify(%s, %.40q) = %v, want ErrMalformed", c.format, c.value, err)
			continue
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Verify(%s, %.40q) took %v", c.format, c.value, d)
		}
		assertNoLeak(t, err, "password", c.value, c.salt)
	}
}

// assertNoLeak fails when an error message contains a secret or a
// recognisable part of one.
func assertNoLeak(t *testing.T, err error, secrets ...string) {
	t.Helper()
	// The package prefix and format names are not secret; drop them
	// before looking.
	msg := strings.ReplaceAll(err.Error(), "passwordhash: ", "")
	for _, f := range Formats() {
		msg = strings.ReplaceAll(msg, f, "")
	}
	for _, s := range secrets {
		if len(s) >= 4 && strings.Contains(msg, s) {
			t.Errorf("error %q contains a secret", msg)
		}
		for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '$' || r == ',' || r == '=' }) {
			if len(part) >= 8 && strings.Contains(msg, part) {
				t.Errorf("error %q contains part of a secret %q", msg, part)
			}
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	v := mustNew(t, Config{})
	for _, h := range []Hash{
		{Format: "md4", Value: "x"},
		{Format: "$2b$04$secretsecretsecretsecret", Value: "x"},
		{Value: "5f4dcc3b5aa765d61d8327deb882cf99"}, // bare md5: ambiguous, must be named
		{Value: "plaintext"},
		{Value: "{MD5}X03MO1qnZdYdgyfeuILPmQ=="},
		{Value: ""},
		{Format: FormatFirebaseScrypt, Value: "aGFzaA==", Salt: "c2FsdA=="}, // not configured
	} {
		err := v.Verify("password", h)
		if !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("Verify(%+v) = %v, want ErrUnknownFormat", h, err)
			continue
		}
		assertNoLeak(t, err, "password", h.Value, h.Format)
	}
}

func TestLongPasswordIsMismatch(t *testing.T) {
	v := mustNew(t, Config{})
	err := v.Verify(strings.Repeat("x", maxPasswordLen+1), Hash{Value: "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0"})
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("got %v, want ErrMismatch", err)
	}
}

func TestConfig(t *testing.T) {
	bad := []Config{
		{Salted: SaltedConfig{Position: "middle"}},
		{Salted: SaltedConfig{Encoding: "base32"}},
		{Salted: SaltedConfig{SaltEncoding: "utf16"}},
		{Firebase: FirebaseConfig{SignerKey: "not base64!", SaltSeparator: "Bw==", Rounds: 8, MemCost: 14}},
		{Firebase: FirebaseConfig{SaltSeparator: "Bw==", Rounds: 8, MemCost: 14}},
		{Firebase: FirebaseConfig{SignerKey: "c2lnbmVy", SaltSeparator: "!", Rounds: 8, MemCost: 14}},
		{Firebase: FirebaseConfig{SignerKey: "c2lnbmVy", SaltSeparator: "Bw==", Rounds: 9, MemCost: 14}},
		{Firebase: FirebaseConfig{SignerKey: "c2lnbmVy", SaltSeparator: "Bw==", Rounds: 8, MemCost: 15}},
	}
	for _, cfg := range bad {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted an invalid config", cfg)
		} else {
			assertNoLeak(t, err, cfg.Firebase.SignerKey)
		}
	}
	if _, err := New(Config{Salted: SaltedConfig{Position: "PREFIX", Encoding: "Base64", SaltEncoding: "hex"}}); err != nil {
		t.Errorf("New: %v", err)
	}
}

func TestDetect(t *testing.T) {
	cases := map[string]string{
		"$2a$10$":               FormatBcrypt,
		"$argon2id$v=19$":       FormatArgon2id,
		"$argon2i$v=19$":        FormatArgon2i,
		"$scrypt$ln=16":         FormatScrypt,
		"$pbkdf2$29000$":        FormatPBKDF2SHA1,
		"$pbkdf2-sha1$i=1000$":  FormatPBKDF2SHA1,
		"$pbkdf2-sha256$":       FormatPBKDF2SHA256,
		"$pbkdf2-sha512$":       FormatPBKDF2SHA512,
		"pbkdf2_sha256$260000$": FormatDjangoPBKDF2SHA256,
		"bcrypt_sha256$$2b$":    FormatDjangoBcryptSHA256,
		"argon2$argon2id$":      FormatDjangoArgon2,
		"$wp$2y$10$":            FormatWordPress,
		"U$S$D":                 FormatDrupal7MD5,
		"$S$D":                  FormatDrupal7,
		"$H$9":                  FormatPHPass,
		"{ssha512}":             FormatLDAPSSHA512,
		"{Crypt}$6$":            FormatLDAPCrypt,
		"$5$rounds=5000$":       FormatSHA256Crypt,
		"$1$":                   FormatMD5Crypt,
		"ANXrDknc7fGPpigibZXXZFMX4aoqz44JveK6jQuwY3eH/UyPhvr5xTPeGYEckLxz9A==": FormatASPNetIdentityV2,
		"AQAAAAIAAAAyAAAAEOMwvh3+FZxqkdMBz2ekgGhwQ4B6pZWND6zgESBuWiHw":         FormatASPNetIdentityV3,
	}
	for value, want := range cases {
		if got, err := Detect(value); err != nil || got != want {
			t.Errorf("Detect(%q) = %q, %v; want %q", value, got, err, want)
		}
	}
	for _, value := range []string{"", "$", "$2x$", "$argon2d$v=19$", "{SMD5}abc", "Vz9mJxudAR4ZVJTNI4W+oH7m3X0=", "$7$"} {
		if got, err := Detect(value); !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("Detect(%q) = %q, %v; want ErrUnknownFormat", value, got, err)
		}
	}
}

func TestInspect(t *testing.T) {
	info, err := Inspect("$2y$12$" + strings.Repeat("a", 53))
	if err != nil || info.Format != FormatBcrypt || info.BcryptCost != 12 || info.Argon2 != nil {
		t.Errorf("bcrypt: %+v, %v", info, err)
	}
	info, err = Inspect("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	want := Argon2Params{Variant: "argon2id", MemoryKiB: 65536, Time: 3, Threads: 4, SaltLen: 8, KeyLen: 16}
	if err != nil || info.Format != FormatArgon2id || info.Argon2 == nil || *info.Argon2 != want || info.BcryptCost != 0 {
		t.Errorf("argon2id: %+v, %v", info, err)
	}
	info, err = Inspect("$argon2i$v=19$m=512,t=2,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	if err != nil || info.Argon2 == nil || info.Argon2.Variant != "argon2i" {
		t.Errorf("argon2i: %+v, %v", info, err)
	}
	info, err = Inspect("$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0")
	if err != nil || info.Format != FormatPHPass || info.BcryptCost != 0 || info.Argon2 != nil {
		t.Errorf("phpass: %+v, %v", info, err)
	}
	if _, err := Inspect("$2b$17$" + strings.Repeat("a", 53)); !errors.Is(err, ErrMalformed) {
		t.Errorf("bcrypt cost 17: %v", err)
	}
	if _, err := Inspect("$argon2id$v=19$m=2097152,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"); !errors.Is(err, ErrMalformed) {
		t.Errorf("argon2 2 GiB: %v", err)
	}
	if _, err := Inspect("nope"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("unknown: %v", err)
	}
}

func TestFormatsSorted(t *testing.T) {
	f := Formats()
	if len(f) < 35 {
		t.Fatalf("only %d formats", len(f))
	}
	for i := 1; i < len(f); i++ {
		if f[i-1] >= f[i] {
			t.Fatalf("Formats not sorted/unique at %q", f[i])
		}
	}
}

func TestUTF16LE(t *testing.T) {
	got := utf16LE("a€🔑")
	want := []byte{'a', 0, 0xAC, 0x20, 0x3D, 0xD8, 0x11, 0xDD}
	if string(got) != string(want) {
		t.Fatalf("utf16LE = % x, want % x", got, want)
	}
	if got := utf16LE("\xff"); string(got) != "\xfd\xff" {
		t.Fatalf("invalid UTF-8 = % x", got)
	}
}
