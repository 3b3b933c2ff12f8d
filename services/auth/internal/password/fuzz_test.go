package password

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParsePHC feeds arbitrary strings to the PHC parser (stored hashes may
// come from a legacy database). It must not panic, must classify every
// failure as ErrMalformed or ErrUnsupported without quoting the input, and
// anything it accepts must be canonical: it re-encodes to the same string.
func FuzzParsePHC(f *testing.F) {
	seeds := []string{
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=064,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=4294967295,t=4294967295,p=4294967295$$",
		"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"$", "$$$$$", "", "argon2id",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	h, err := NewHasher(testParams, 1)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = h.MeetsPolicy(s) // must not panic
		d, err := parsePHC(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("parsePHC error %v wraps neither ErrMalformed nor ErrUnsupported", err)
			}
			if len(s) > 16 && strings.Contains(err.Error(), s) {
				t.Fatalf("error %q quotes the input", err)
			}
			return
		}
		if got := encodePHC(d); got != s {
			t.Fatalf("parsePHC accepted a non-canonical string:\n in  %q\n out %q", s, got)
		}
		if d.threads < 1 || d.time < 1 || d.memoryKiB < 8*uint32(d.threads) ||
			d.memoryKiB > maxMemoryKiB || d.time > maxTime ||
			len(d.salt) < minSaltLen || len(d.key) < minKeyLen {
			t.Fatalf("parsePHC accepted out-of-range parameters %+v", d)
		}
	})
}
