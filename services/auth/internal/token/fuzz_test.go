package token

import (
	"errors"
	"testing"
)

// FuzzVerify feeds arbitrary strings to Verify: tokens are untrusted input.
// It must not panic, and must refuse everything it did not issue with an
// error wrapping ErrInvalidToken.
func FuzzVerify(f *testing.F) {
	path, _ := newEd25519File(f, f.TempDir(), "k.pem")
	iss, err := NewIssuer(Config{Issuer: "https://auth.example.test", Audience: "trickle-api", SigningKeyFile: path})
	if err != nil {
		f.Fatal(err)
	}
	good, _, err := iss.Issue(testClaims)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		good, good[:len(good)-2], "", ".", "..", "a.b.c", "a.b.c.d.e",
		"eyJhbGciOiJub25lIn0.e30.",
		"eyJhbGciOiJFZERTQSIsImtpZCI6IngifQ.e30.AAAA",
		`{"payload":"e30","protected":"eyJhbGciOiJFZERTQSJ9","signature":"AAAA"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := iss.Verify(s)
		if err == nil {
			// Only the seed token carries valid signed claims; a variant that
			// still verifies (base64 padding bits) must carry the same ones.
			if c.Claims != testClaims {
				t.Fatalf("Verify accepted claims it did not issue: %q", s)
			}
			return
		}
		if !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("error %v does not wrap ErrInvalidToken", err)
		}
	})
}
