package manage

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/identity"
)

// FuzzValidateMetadata: metadata arrives as a google.protobuf.Struct (gRPC)
// or JSON (REST, decoded into the same Struct). Whatever ValidateMetadata
// accepts, alone or merged into existing metadata by a PATCH, has no key
// MongoDB would read as an operator or a path ('$' first, '.', NUL, empty),
// is nested at most 10 deep and is at most 64 KiB of JSON.
func FuzzValidateMetadata(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"plan":"gold","roles":["a","b"]}`, `{"$where":"sleep(1000)"}`, `{"a":{"$gt":""}}`, `{"a.b":1}`,
		`{"ok":[{"$ne":null}]}`, `{"":1}`, `{"a\u0000b":1}`, `{"\uff04where":1}`, `{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":1}}}}}}}}}}}`,
		`{"x":"` + strings.Repeat("y", 70000) + `"}`, `{"k":"\ud800"}`, `{"k":1e400}`, `null`, `[]`,
	} {
		f.Add([]byte(s), []byte(`{"keep":true}`))
	}
	f.Fuzz(func(t *testing.T, body, current []byte) {
		var st structpb.Struct
		if err := st.UnmarshalJSON(body); err != nil {
			return // the gateway answers 400 before any validator runs
		}
		m := st.AsMap()
		check := func(m map[string]any, err error) {
			if err != nil {
				if apperr.KindOf(err) != apperr.InvalidArgument {
					t.Fatalf("kind %v: %v", apperr.KindOf(err), err)
				}
				return
			}
			b, _ := json.Marshal(m)
			if len(b) > identity.MaxMetadataBytes {
				t.Fatalf("accepted %d bytes", len(b))
			}
			var walk func(v any, depth int)
			walk = func(v any, depth int) {
				if depth > identity.MaxMetadataDepth {
					t.Fatalf("accepted nesting deeper than %d", identity.MaxMetadataDepth)
				}
				switch x := v.(type) {
				case map[string]any:
					for k, e := range x {
						if k == "" || strings.HasPrefix(k, "$") || strings.ContainsAny(k, ".\x00") {
							t.Fatalf("accepted key %q", k)
						}
						walk(e, depth+1)
					}
				case []any:
					for _, e := range x {
						walk(e, depth+1)
					}
				}
			}
			walk(m, 0)
		}
		check(m, identity.ValidateMetadata("user_metadata", m))
		var cur map[string]any
		_ = json.Unmarshal(current, &cur)
		merged := (&MetadataPatch{Set: m}).apply(cur)
		check(merged, identity.ValidateMetadata("user_metadata", merged))
	})
}

// FuzzPageToken: a ListUsers page token is opaque client input. Decoding
// never panics, refuses with INVALID_ARGUMENT only, accepts only tokens of
// the same filters, and every token the service makes decodes to its id.
func FuzzPageToken(f *testing.F) {
	fp := "AAAAAAAAAAA"
	for _, s := range []string{
		encodePageToken("01J9Z3", fp), encodePageToken("01J9Z3", "other"), encodePageToken("", fp),
		base64.RawURLEncoding.EncodeToString([]byte(`{"a":{"$gt":""},"f":"AAAAAAAAAAA"}`)),
		base64.RawURLEncoding.EncodeToString([]byte(`{"a":"x","f":"AAAAAAAAAAA","a":"y"}`)),
		base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("[", 600))),
		"", "!!!", "eyJ9", "\x00", strings.Repeat("A", 2000),
	} {
		f.Add(s, "01J9Z3")
	}
	f.Fuzz(func(t *testing.T, token, id string) {
		after, err := decodePageToken(token, fp)
		if err != nil {
			if apperr.KindOf(err) != apperr.InvalidArgument {
				t.Fatalf("kind %v: %v", apperr.KindOf(err), err)
			}
		} else if after == "" {
			t.Fatal("accepted a token without a position")
		}
		if id == "" {
			return
		}
		tok := encodePageToken(id, fp)
		got, err := decodePageToken(tok, fp)
		// User ids are UUIDs; an id that is not UTF-8 cannot round-trip
		// through JSON, so only its refusal for other filters is checked.
		if len(tok) <= 683 && utf8.ValidString(id) && (err != nil || got != id) { // 512 raw bytes
			t.Fatalf("own token for %q: %q, %v", id, got, err)
		}
		if _, err := decodePageToken(tok, "another-query"); err == nil {
			t.Fatal("a token was accepted for other filters")
		}
	})
}
