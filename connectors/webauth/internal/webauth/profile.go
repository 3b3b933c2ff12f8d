package webauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/trickle-auth/trickle/connectors/kit/connector"
)

// errNoResult: the answer is JSON but holds no profile at the result path.
var errNoResult = errors.New("no profile at the result path")

// badJSON is an answer the connector cannot use. Its message names fields,
// paths and JSON types, never a value from the body.
type badJSON struct{ why string }

func (e *badJSON) Error() string { return "answer is not the expected JSON: " + e.why }

func badf(format string, a ...any) error { return &badJSON{why: fmt.Sprintf(format, a...)} }

// parseProfile maps a JSON answer to a profile.
func parseProfile(body []byte, resultPath string, m *Mapping) (*connector.Profile, error) {
	if !utf8.Valid(body) || !gjson.ValidBytes(body) {
		return nil, badf("not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if resultPath != "" {
		res := root.Get(resultPath)
		if !res.Exists() || res.Type == gjson.Null {
			// "Not found" only when the answer has the expected shape
			// around the result: {"users": []} for users.0, not
			// {"error": ...} or a bare array for data.user.
			parent := root
			if i := lastDot(resultPath); i >= 0 {
				parent = root.Get(resultPath[:i])
			}
			if parent.IsObject() || parent.IsArray() {
				return nil, errNoResult
			}
			return nil, badf("result_path %q: its parent is %s", resultPath, kind(parent))
		}
		root = res
	}
	if !root.IsObject() {
		if resultPath == "" {
			return nil, badf("the body is %s, want an object", kind(root))
		}
		return nil, badf("result_path %q is %s, want an object", resultPath, kind(root))
	}
	p := &connector.Profile{}
	id := root.Get(m.LegacyID)
	switch {
	case !id.Exists() || id.Type == gjson.Null:
		return nil, badf("legacy_id (path %q) is missing", m.LegacyID)
	case id.Type == gjson.String && id.Str != "":
		p.LegacyId = id.Str
	case id.Type == gjson.Number:
		p.LegacyId = id.Raw // as written: no float rounding of large ids
	default:
		return nil, badf("legacy_id (path %q) is %s, want a non-empty string or a number", m.LegacyID, kind(id))
	}
	for _, f := range []struct {
		name, path string
		dst        *string
	}{
		{"email", m.Email, &p.Email},
		{"username", m.Username, &p.Username},
		{"name", m.Name, &p.Name},
		{"given_name", m.GivenName, &p.GivenName},
		{"family_name", m.FamilyName, &p.FamilyName},
		{"nickname", m.Nickname, &p.Nickname},
		{"picture", m.Picture, &p.Picture},
		{"phone_number", m.PhoneNumber, &p.PhoneNumber},
	} {
		v, ok := get(root, f.path)
		if !ok {
			continue
		}
		if v.Type != gjson.String {
			return nil, badf("%s (path %q) is %s, want a string", f.name, f.path, kind(v))
		}
		*f.dst = v.Str
	}
	if v, ok := get(root, m.EmailVerified); ok {
		if !v.IsBool() {
			return nil, badf("email_verified (path %q) is %s, want true or false", m.EmailVerified, kind(v))
		}
		p.EmailVerified = v.Bool()
	}
	var err error
	if p.UserMetadata, err = metadata(root, "user_metadata", m.UserMetadata, m.UserMetadataFields); err != nil {
		return nil, err
	}
	if p.AppMetadata, err = metadata(root, "app_metadata", m.AppMetadata, m.AppMetadataFields); err != nil {
		return nil, err
	}
	return p, nil
}

// get returns the value at path; absent, null or an empty path is !ok.
func get(root gjson.Result, path string) (gjson.Result, bool) {
	if path == "" {
		return gjson.Result{}, false
	}
	v := root.Get(path)
	return v, v.Exists() && v.Type != gjson.Null
}

func metadata(root gjson.Result, name, path string, fields map[string]string) (*structpb.Struct, error) {
	out := map[string]any{}
	if v, ok := get(root, path); ok {
		if !v.IsObject() {
			return nil, badf("%s (path %q) is %s, want an object", name, path, kind(v))
		}
		if err := decode(v.Raw, &out); err != nil {
			return nil, badf("%s (path %q): %v", name, path, err)
		}
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, ok := get(root, fields[k])
		if !ok {
			continue
		}
		var x any
		if err := decode(v.Raw, &x); err != nil {
			return nil, badf("%s_fields.%s (path %q): %v", name, k, fields[k], err)
		}
		out[k] = x
	}
	if len(out) == 0 {
		return nil, nil
	}
	s, err := structpb.NewStruct(out)
	if err != nil {
		return nil, badf("%s: cannot be represented", name)
	}
	return s, nil
}

// decode is strict about the JSON but keeps value text out of its error.
func decode(raw string, into any) error {
	d := json.NewDecoder(strings.NewReader(raw))
	if err := d.Decode(into); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("syntax error at offset %d", se.Offset)
		}
		return errors.New("cannot be decoded")
	}
	return nil
}

func kind(v gjson.Result) string {
	switch {
	case !v.Exists():
		return "missing"
	case v.IsObject():
		return "an object"
	case v.IsArray():
		return "an array"
	case v.IsBool():
		return "a boolean"
	}
	switch v.Type {
	case gjson.Null:
		return "null"
	case gjson.Number:
		return "a number"
	case gjson.String:
		if v.Str == "" {
			return "an empty string"
		}
		return "a string"
	}
	return "unknown"
}

// lastDot is the index of the last path separator in a gjson path (a dot
// not escaped by a backslash), or -1.
func lastDot(path string) int {
	for i := len(path) - 1; i > 0; i-- {
		if path[i] == '.' && path[i-1] != '\\' {
			return i
		}
	}
	return -1
}
