package sqlcore

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/trickle-auth/trickle/connectors/kit/connector"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

// Standard result column names; a column with one of these names needs no
// mapping. The password_* and active columns never reach the profile as
// such: they feed the verifier and the login check.
var standardColumns = []string{
	"legacy_id", "email", "email_verified", "username", "name", "given_name",
	"family_name", "nickname", "picture", "phone_number", "user_metadata",
	"app_metadata", "password_hash", "password_salt", "password_format", "active",
	"created_at",
}

// target is where a column or metadata key goes: a profile field, a whole
// metadata object (JSON column), or one metadata key with a value type.
type target struct {
	field string // standard name, or "user_metadata"/"app_metadata" with key set
	key   string // metadata key; "" for a field or a whole JSON object
	kind  string // auto, string, bool, int, float, json, list, php-roles
}

// parseTarget reads "email", "user_metadata", "app_metadata.plan:string", "-".
func parseTarget(s string) (target, error) {
	if s == "-" {
		return target{field: "-"}, nil
	}
	path, kind, _ := strings.Cut(s, ":")
	if kind == "" {
		kind = "auto"
	}
	switch kind {
	case "auto", "string", "bool", "int", "float", "json", "list", "php-roles":
	default:
		return target{}, fmt.Errorf("target %q: unknown type %q (auto, string, bool, int, float, json, list, php-roles)", s, kind)
	}
	field, key, hasKey := strings.Cut(path, ".")
	if hasKey {
		if (field != "user_metadata" && field != "app_metadata") || key == "" {
			return target{}, fmt.Errorf("target %q: want user_metadata.KEY or app_metadata.KEY", s)
		}
		return target{field: field, key: key, kind: kind}, nil
	}
	if !contains(standardColumns, field) {
		return target{}, fmt.Errorf("target %q: not a profile field (%s)", s, strings.Join(standardColumns, ", "))
	}
	return target{field: field, kind: kind}, nil
}

// record collects one user while rows are read.
type record struct {
	p            *connectorv1.LegacyProfile
	user, app    map[string]any
	hash, salt   string
	format       string
	active       bool
	hasActive    bool
	seenMetadata map[string]bool
}

func newRecord() *record {
	return &record{p: &connectorv1.LegacyProfile{}, user: map[string]any{}, app: map[string]any{},
		seenMetadata: map[string]bool{}}
}

// set stores a driver value v at t.
func (r *record) set(t target, v any) error {
	if v == nil || t.field == "-" {
		return nil
	}
	if t.key != "" {
		return r.setMetadata(t, v)
	}
	s := asString(v)
	switch t.field {
	case "legacy_id":
		r.p.LegacyId = s
	case "email":
		r.p.Email = s
	case "email_verified":
		r.p.EmailVerified = asBool(v)
	case "username":
		r.p.Username = s
	case "name":
		r.p.Name = s
	case "given_name":
		r.p.GivenName = s
	case "family_name":
		r.p.FamilyName = s
	case "nickname":
		r.p.Nickname = s
	case "picture":
		r.p.Picture = s
	case "phone_number":
		r.p.PhoneNumber = s
	case "password_hash":
		r.hash = s
	case "password_salt":
		r.salt = s
	case "password_format":
		r.format = s
	case "active":
		r.active, r.hasActive = asBool(v), true
	case "created_at": // a date the store cannot tell is left out, not refused
		if t, ok := asTime(v); ok {
			r.p.CreatedAt = timestamppb.New(t)
		}
	case "user_metadata", "app_metadata":
		if s == "" {
			return nil
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(s), &obj); err != nil {
			return fmt.Errorf("column for %s is not a JSON object: %w", t.field, err)
		}
		dst := r.user
		if t.field == "app_metadata" {
			dst = r.app
		}
		for k, val := range obj {
			dst[k] = val
		}
	}
	return nil
}

func (r *record) setMetadata(t target, v any) error {
	dst := r.user
	if t.field == "app_metadata" {
		dst = r.app
	}
	val, err := convert(t.kind, v)
	if err != nil {
		return fmt.Errorf("%s.%s: %w", t.field, t.key, err)
	}
	if val == nil {
		return nil
	}
	id := t.field + "." + t.key
	if t.kind == "list" || r.seenMetadata[id] {
		prev, isList := dst[t.key].([]any)
		if !isList && r.seenMetadata[id] {
			prev = []any{dst[t.key]}
		}
		dst[t.key] = append(prev, val)
	} else {
		dst[t.key] = val
	}
	r.seenMetadata[id] = true
	return nil
}

// convert turns a driver value into a JSON-able value of the wanted kind;
// nil means "leave the key out" (SQL NULL, empty string).
func convert(kind string, v any) (any, error) {
	switch kind {
	case "bool":
		return asBool(v), nil
	case "int":
		n, err := strconv.ParseInt(asString(v), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("not an integer")
		}
		return float64(n), nil // JSON numbers
	case "float":
		f, err := strconv.ParseFloat(asString(v), 64)
		if err != nil {
			return nil, fmt.Errorf("not a number")
		}
		return f, nil
	case "json":
		s := asString(v)
		if s == "" {
			return nil, nil
		}
		var out any
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return nil, fmt.Errorf("not JSON")
		}
		return out, nil
	case "php-roles":
		return phpRoles(asString(v)), nil
	case "string", "list":
		if s := asString(v); s != "" {
			return s, nil
		}
		return nil, nil
	}
	switch x := v.(type) { // auto
	case int64:
		return float64(x), nil
	case float64, bool:
		return x, nil
	}
	if s := asString(v); s != "" {
		return s, nil
	}
	return nil, nil
}

// phpCapability matches one granted entry of a PHP-serialized
// array('role' => true), as WordPress stores wp_capabilities.
var phpCapability = regexp.MustCompile(`s:\d+:"([^"]*)";(?:b:1|i:1|s:1:"1")`)

// phpRoles lists the granted keys of a serialized WordPress capabilities
// array, e.g. a:1:{s:13:"administrator";b:1;} -> ["administrator"].
func phpRoles(s string) any {
	roles := []any{}
	for _, m := range phpCapability.FindAllStringSubmatch(s, -1) {
		roles = append(roles, m[1])
	}
	return roles
}

func asString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// dateLayouts are the text forms of DATETIME/TIMESTAMP columns that drivers
// hand over as text (MySQL without parseTime, SQLite); zone-less ones are
// read as UTC, as WordPress's user_registered and Django's date_joined are.
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"}

// asTime reads a creation date: a driver time, a date text, or Unix seconds
// (Drupal's users.created). Zero dates (MySQL's 0000-00-00, Unix 0) and
// anything unreadable mean "unknown".
func asTime(v any) (time.Time, bool) {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case int64:
		t = time.Unix(x, 0)
	default:
		s := strings.TrimSpace(asString(v))
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			t = time.Unix(n, 0)
			break
		}
		for _, l := range dateLayouts {
			if p, err := time.Parse(l, s); err == nil {
				t = p
				break
			}
		}
	}
	if t.Unix() <= 0 || t.Year() > 9999 {
		return time.Time{}, false
	}
	return t.UTC(), true
}

func asBool(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	}
	switch strings.ToLower(strings.TrimSpace(asString(v))) {
	case "1", "t", "true", "y", "yes", "on":
		return true
	}
	return false
}

// profile finishes the record into the wire profile.
func (r *record) profile() (*connector.Profile, error) {
	if len(r.user) > 0 {
		s, err := structpb.NewStruct(r.user)
		if err != nil {
			return nil, fmt.Errorf("user_metadata: %w", err)
		}
		r.p.UserMetadata = s
	}
	if len(r.app) > 0 {
		s, err := structpb.NewStruct(r.app)
		if err != nil {
			return nil, fmt.Errorf("app_metadata: %w", err)
		}
		r.p.AppMetadata = s
	}
	return r.p, nil
}
