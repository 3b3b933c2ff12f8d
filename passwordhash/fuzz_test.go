package passwordhash

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Seeds shared by the fuzz targets: one well-formed hash per family plus
// a few broken ones.
var fuzzSeeds = []string{
	"$2b$04$qMK0cRBQFL.rGDcq369a7uLaoWriWDZvZH.1RIVRlkV4hJ6Hgge86",
	"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
	"$argon2i$v=19$m=64,t=2,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
	"$scrypt$ln=4,r=8,p=1$c2FsdA$aGFzaGhhc2g",
	"$pbkdf2-sha256$1000$c2FsdA$aGFzaGhhc2g",
	"$pbkdf2-sha512$i=1000,l=8$c2FsdA$aGFzaGhhc2g",
	"$pbkdf2$1000$c2FsdA$aGFzaGhhc2g",
	"pbkdf2_sha256$1000$salt$aGFzaA==",
	"pbkdf2_sha1$1000$salt$aGFzaA==",
	"bcrypt_sha256$$2b$04$qMK0cRBQFL.rGDcq369a7uLaoWriWDZvZH.1RIVRlkV4hJ6Hgge86",
	"argon2$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
	"scrypt$16$salt$8$1$aGFzaA==",
	"sha1$abcde$c8e65a7f0acc9158843048a53dcc5a6bc4d17678",
	"$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0",
	"$H$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0",
	"$wp$2y$04$D3TVdrw3mgu8JdHELd9DyuA2GtKoLgZh5112bbvLGhYNHRzX3OBU.",
	"$S$5TOxWPdvJRs0P/xZBdrrPlGgzViOS0drHu3jaIjitesfttrp18bk",
	"U$S$5vNHDQyLqCTvsYBLWBUWXJWhA0m3DTpBh04acFEOGB.bKBclhKgo",
	"ANXrDknc7fGPpigibZXXZFMX4aoqz44JveK6jQuwY3eH/UyPhvr5xTPeGYEckLxz9A==",
	"AQAAAAIAAAAyAAAAEOMwvh3+FZxqkdMBz2ekgGhwQ4B6pZWND6zgESBuWiHw",
	"Vz9mJxudAR4ZVJTNI4W+oH7m3X0=",
	"$1$abcdefgh$SYbjm2AEvSoHG7Xapi8so.",
	"$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC",
	"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
	"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
	"{SSHA}QMHG+uC7bHNYKkmoLbNsNI38/dJhYmNk",
	"{CRYPT}$1$abcdefgh$SYbjm2AEvSoHG7Xapi8so.",
	"5f4dcc3b5aa765d61d8327deb882cf99",
	"",
	"$",
	"$$$$",
	"{}",
}

func FuzzDetect(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		format, err := Detect(value)
		if err != nil {
			if !errors.Is(err, ErrUnknownFormat) {
				t.Fatalf("Detect error %v does not wrap ErrUnknownFormat", err)
			}
			return
		}
		if _, ok := registry[format]; !ok {
			t.Fatalf("Detect returned unregistered format %q", format)
		}
		info, err := Inspect(value)
		if err == nil && info.Format != format {
			t.Fatalf("Inspect format %q != Detect %q", info.Format, format)
		}
		if err == nil && info.Argon2 != nil && info.Argon2.MemoryKiB > maxArgon2MemoryKiB {
			t.Fatalf("Inspect accepted argon2 memory %d", info.Argon2.MemoryKiB)
		}
		if err == nil && info.BcryptCost > maxBcryptCost {
			t.Fatalf("Inspect accepted bcrypt cost %d", info.BcryptCost)
		}
	})
}

var (
	fuzzNumber     = regexp.MustCompile(`[0-9]+`)
	fuzzBcryptCost = regexp.MustCompile(`\$2[aby]\$([0-9][0-9])\$`)
	fuzzScryptLn   = regexp.MustCompile(`ln=([0-9]+)`)
)

// fuzzCheap reports whether verifying value is quick. The bounds in this
// package stop absurd work, but what they allow (1 GiB of argon2, 10M
// PBKDF2 iterations) would still slow fuzzing to a crawl.
func fuzzCheap(value string) bool {
	for _, n := range fuzzNumber.FindAllString(value, -1) {
		if v, err := strconv.Atoi(n); err != nil || v > 2048 {
			return false
		}
	}
	if m := fuzzBcryptCost.FindStringSubmatch(value); m != nil && m[1] > "05" {
		return false
	}
	if m := fuzzScryptLn.FindStringSubmatch(value); m != nil && len(m[1]) > 1 {
		return false
	}
	v := strings.TrimPrefix(value, "U")
	if len(v) > 3 && (strings.HasPrefix(v, "$P$") || strings.HasPrefix(v, "$H$") || strings.HasPrefix(v, "$S$")) {
		if strings.IndexByte(itoa64, v[3]) > 10 {
			return false
		}
	}
	if id, err := parseIdentity(value); err == nil && id.iter > 2048 {
		return false
	}
	return true
}

func FuzzVerify(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(uint8(i), s, "", "password")
		f.Add(uint8(255), s, "wZdnRVXWcvXZKY6HJmJqUg==", "pässwörd")
	}
	v := mustNew(f, Config{
		Salted:   SaltedConfig{Position: "prefix", Encoding: "base64"},
		Firebase: FirebaseConfig{SignerKey: "c2lnbmVy", SaltSeparator: "Bw==", Rounds: 1, MemCost: 1},
	})
	formats := Formats()
	f.Fuzz(func(t *testing.T, pick uint8, value, salt, password string) {
		if !fuzzCheap(value) {
			t.Skip()
		}
		h := Hash{Value: value, Salt: salt}
		if int(pick) < len(formats) {
			h.Format = formats[pick]
		}
		err := v.Verify(password, h)
		switch {
		case err == nil, errors.Is(err, ErrMismatch):
			return
		case errors.Is(err, ErrMalformed), errors.Is(err, ErrUnknownFormat):
			msg := err.Error()
			for _, secret := range []string{value, salt, password} {
				if len(secret) >= 12 && strings.Contains(msg, secret) {
					t.Fatalf("error %q contains a secret", msg)
				}
			}
		default:
			t.Fatalf("Verify returned an unclassified error: %v", err)
		}
	})
}

func FuzzParseArgon2(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		a, err := parseArgon2(value)
		if err != nil {
			return
		}
		p := a.params
		if p.MemoryKiB > maxArgon2MemoryKiB || p.Time < 1 || p.Time > maxArgon2Time || p.Threads < 1 || len(a.hash) > maxArgon2KeyLen {
			t.Fatalf("parseArgon2 accepted out-of-range %+v", p)
		}
	})
}

func FuzzParseScrypt(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		s, err := parseScrypt(value)
		if err == nil && !checkScryptParams(s.logN, s.r, s.p, len(s.hash)) {
			t.Fatalf("parseScrypt accepted out-of-range params")
		}
	})
}

func FuzzParsePBKDF2(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		p, err := parsePBKDF2(value)
		if err == nil && (p.iter < 1 || p.iter > maxPBKDF2Iterations || len(p.hash) == 0 || len(p.hash) > maxPBKDF2KeyLen) {
			t.Fatalf("parsePBKDF2 accepted out-of-range params")
		}
	})
}

func FuzzParseCrypt(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		c, err := parseCrypt(value)
		if err == nil && (c.rounds > maxSHACryptRounds || len(c.salt) > 16) {
			t.Fatalf("parseCrypt accepted out-of-range params")
		}
	})
}

func FuzzParseIdentity(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		id, err := parseIdentity(value)
		if err == nil && (id.iter < 1 || id.iter > maxPBKDF2Iterations || len(id.salt) < 16 || len(id.hash) < 16) {
			t.Fatalf("parseIdentity accepted out-of-range params")
		}
	})
}

func FuzzParseBcrypt(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		cost, err := parseBcrypt(value)
		if err == nil && (cost < 4 || cost > maxBcryptCost || len(value) != 60) {
			t.Fatalf("parseBcrypt accepted cost %d", cost)
		}
	})
}
