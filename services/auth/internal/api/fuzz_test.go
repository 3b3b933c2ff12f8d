package api_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/identity"
)

// FuzzRESTBodies decodes arbitrary REST bodies the way the gateway does
// (the server's JSONPb marshaler) into the public requests, then runs the
// validators the handlers run. Nothing may panic; a decoded body holds only
// valid UTF-8 (a JSON object where a string belongs, such as {"$gt": ""},
// is a decoding error, never a query); validators refuse with
// INVALID_ARGUMENT only.
func FuzzRESTBodies(f *testing.F) {
	for _, s := range []string{
		`{"connection":"legacy","identifier":"grace@example.com","password":"pa55"}`,
		`{"connection":"legacy","identifier":{"$gt":""},"password":{"$gt":""}}`,
		`{"connection":"legacy","identifier":"grace","password":"x","identifier":"alan"}`,
		`{"connection":"legacy","identifier":"gr\u0430ce@example.com","password":"\u0000"}`,
		`{"connection":"legacy","identifier":"\ud800","password":"x"}`,
		`{"email":"a@b.c","password":"long enough","user_metadata":{"$where":"1","a.b":2}}`,
		`{"email":"a@b.c","password":"long enough","user_metadata":{"a":{"b":{"c":[{"$ne":null}]}}}}`,
		`{"email":["a@b.c"],"unknown_field":1}`, `[]`, `null`, `"x"`, `{`, "\xff\xfe{}",
		`{"password":"` + strings.Repeat("p", 1025) + `"}`,
	} {
		f.Add([]byte(s))
	}
	m := &runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true},
		UnmarshalOptions: protojson.UnmarshalOptions{},
	}
	refuses := func(t *testing.T, err error) {
		t.Helper()
		if err != nil && apperr.KindOf(err) != apperr.InvalidArgument {
			t.Fatalf("validator answered %v: %v", apperr.KindOf(err), err)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var lr authv1.LoginRequest
		if err := m.NewDecoder(bytes.NewReader(body)).Decode(&lr); err == nil {
			for _, s := range []string{lr.GetConnection(), lr.GetIdentifier(), lr.GetPassword()} {
				if !utf8.ValidString(s) {
					t.Fatalf("decoded invalid UTF-8 %q", s)
				}
			}
			refuses(t, identity.ValidateCredentials(lr.GetConnection(), lr.GetIdentifier(), lr.GetPassword()))
		}
		var sr authv1.SignUpRequest
		if err := m.NewDecoder(bytes.NewReader(body)).Decode(&sr); err == nil {
			_ = identity.ValidEmail(sr.GetEmail())
			refuses(t, identity.ValidateMetadata("user_metadata", sr.GetUserMetadata().AsMap()))
		}
		var u authv1.User // the body of PATCH /v1/users/{user_id}
		if err := m.NewDecoder(bytes.NewReader(body)).Decode(&u); err == nil {
			refuses(t, identity.ValidateMetadata("user_metadata", u.GetUserMetadata().AsMap()))
			refuses(t, identity.ValidateMetadata("app_metadata", u.GetAppMetadata().AsMap()))
		}
	})
}
