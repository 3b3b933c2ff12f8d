package identity

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
)

// hostileSeeds are inputs every validator's fuzz target starts from:
// injection strings, NUL bytes, invalid UTF-8, look-alikes, huge values.
var hostileSeeds = []string{
	"", " ", "grace@example.com", "GRACE@Example.COM ", "grace",
	"gr\u0430ce@example.com", // Cyrillic а
	"ｇrace@example.com",      // fullwidth g
	"grace\x00@example.com", "grace@example.com\x00", "\xff\xfe", "gr\xc3ace",
	`{"$gt": ""}`, `{"$where": "sleep(1000)"}`, "$where", "a.b", "' OR '1'='1' --", "\"; DROP TABLE users; --",
	"admin'--", "%00", "\u202egnp.exe", "\u200b", "a\tb", "a\nb", "\x7f",
	`"quoted@local"@example.com`, "Grace Hopper <grace@example.com>", "a@b@c", "@example.com", "grace@",
	strings.Repeat("a", 64) + "@" + strings.Repeat("b", 255) + ".com", strings.Repeat("x", 1025),
	strings.Repeat("c", 64), strings.Repeat("c", 65), "-legacy", "legacy_1-b", "legacy.b", "lé",
}

// FuzzValidateCredentials: the login request validator must never panic,
// must refuse with INVALID_ARGUMENT only, must never quote the password,
// and what it accepts is clean text within the limits.
func FuzzValidateCredentials(f *testing.F) {
	for _, s := range hostileSeeds {
		f.Add("legacy", s, "correct horse")
		f.Add("legacy", "grace@example.com", s)
		f.Add(s, "grace", "pw")
	}
	f.Fuzz(func(t *testing.T, connection, identifier, pw string) {
		err := ValidateCredentials(connection, identifier, pw)
		if err != nil {
			if apperr.KindOf(err) != apperr.InvalidArgument {
				t.Fatalf("kind %v, want InvalidArgument: %v", apperr.KindOf(err), err)
			}
			if len(pw) >= 4 && strings.Contains(err.Error(), pw) {
				t.Fatalf("error quotes the password: %v", err)
			}
			for _, v := range []string{connection, identifier} {
				if len(v) > MaxConnectionBytes && strings.Contains(err.Error(), v) {
					t.Fatalf("error quotes an oversized value: %.100v", err)
				}
			}
			if !utf8.ValidString(err.Error()) || len(err.Error()) > apperr.MaxMessageBytes {
				t.Fatalf("error of %d bytes, valid UTF-8 %v", len(err.Error()), utf8.ValidString(err.Error()))
			}
			return
		}
		switch {
		case connection == "", strings.TrimSpace(identifier) == "":
			t.Fatal("accepted an empty connection or identifier")
		case !connectionName.MatchString(connection):
			t.Fatalf("accepted connection %q", connection)
		case len(identifier) > MaxIdentifierBytes || !cleanText(identifier):
			t.Fatalf("accepted identifier %q", identifier)
		case pw == "" || len(pw) > MaxPasswordBytes || !utf8.ValidString(pw) || strings.ContainsRune(pw, 0):
			t.Fatalf("accepted password of %d bytes (valid UTF-8 %v)", len(pw), utf8.ValidString(pw))
		}
	})
}

// connectionName is config's rule for connection names.
var connectionName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$`)

// FuzzValidEmail: an accepted email is clean text of at most 320 bytes
// with an '@' and exactly itself (no display name, no angle brackets),
// and is never also a valid username, so the two identifiers of a user can
// never be confused.
func FuzzValidEmail(f *testing.F) {
	for _, s := range hostileSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidEmail(s) {
			return
		}
		switch {
		case len(s) > MaxIdentifierBytes || !cleanText(s):
			t.Fatalf("accepted %q: too long or not clean text", s)
		case !strings.Contains(s, "@") || strings.ContainsAny(s, "<>"):
			t.Fatalf("accepted %q: not a bare address", s)
		case ValidUsername(s):
			t.Fatalf("%q is both a valid email and a valid username", s)
		}
	})
}

// FuzzValidUsername: an accepted username is 1-128 bytes of clean text
// without '@' and without surrounding blanks (inner spaces are allowed, as
// WordPress and Drupal allow them).
func FuzzValidUsername(f *testing.F) {
	for _, s := range hostileSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidUsername(s) {
			return
		}
		if s == "" || len(s) > 128 || !cleanText(s) || strings.ContainsAny(s, "@\t") || strings.TrimSpace(s) != s {
			t.Fatalf("accepted username %q", s)
		}
	})
}
