package account

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/connset"
	"github.com/trickle-auth/trickle/services/auth/internal/identity"
	"github.com/trickle-auth/trickle/services/auth/internal/password"
)

// FuzzValidateSignUp: the sign-up validator (everything checked before
// the store or the legacy store is asked) never panics, refuses with
// INVALID_ARGUMENT only and never quotes the password; what it accepts has
// a valid email, a valid or empty username, a password within the policy,
// profile fields within limits and metadata the store can hold.
func FuzzValidateSignUp(f *testing.F) {
	seeds := []string{
		"", "grace@example.com", "gr\u0430ce@example.com", "grace\x00@example.com", "\xff",
		`{"$gt": ""}`, "' OR 1=1 --", strings.Repeat("n", 10000), "correct horse battery", "grace",
	}
	metas := []string{`{}`, `{"plan":"gold"}`, `{"$where":"1"}`, `{"a.b":1}`, `{"a":{"$gt":""}}`, `{"":1}`, `[1]`, `{"x":"\u0000"}`}
	for i, s := range seeds {
		f.Add(s, "grace", "correct horse battery", "Grace", metas[i%len(metas)])
		f.Add("grace@example.com", s, "correct horse battery", s, metas[(i+1)%len(metas)])
		f.Add("grace@example.com", "", s, "", `{}`)
	}
	s := New(Deps{Policy: config.PasswordPolicy{MinLength: 8, MaxBytes: password.MaxLength, ForbidEmail: true}})
	conn := &connset.Connection{Connection: config.Connection{Name: "legacy"}}
	f.Fuzz(func(t *testing.T, email, username, pw, name, meta string) {
		var md map[string]any
		_ = json.Unmarshal([]byte(meta), &md)
		e, u, err := s.validateSignUp(conn, SignUpInput{
			Connection: "legacy", Email: email, Username: username, Password: pw, Name: name, Nickname: name, UserMetadata: md,
		})
		if err != nil {
			if apperr.KindOf(err) != apperr.InvalidArgument {
				t.Fatalf("kind %v: %v", apperr.KindOf(err), err)
			}
			if len(pw) >= 4 && strings.Contains(err.Error(), pw) {
				t.Fatalf("error quotes the password: %v", err)
			}
			return
		}
		switch {
		case !identity.ValidEmail(e):
			t.Fatalf("accepted email %q", e)
		case u != "" && !identity.ValidUsername(u):
			t.Fatalf("accepted username %q", u)
		case len(pw) > password.MaxLength || utf8.RuneCountInString(pw) < 8 || !utf8.ValidString(pw) || strings.ContainsRune(pw, 0):
			t.Fatalf("accepted a password of %d bytes", len(pw))
		case len(name) > identity.MaxProfileField || !utf8.ValidString(name) || strings.ContainsRune(name, 0):
			t.Fatalf("accepted name of %d bytes", len(name))
		}
		for k := range md {
			if k == "" || strings.HasPrefix(k, "$") || strings.ContainsAny(k, ".\x00") {
				t.Fatalf("accepted metadata key %q", k)
			}
		}
	})
}
