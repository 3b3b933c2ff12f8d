// Package identity is the user model's validation: request fields,
// identifiers, metadata, and the user a legacy profile becomes.
package identity

import (
	"encoding/json"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/connset"
	"github.com/trickle-auth/trickle/services/auth/internal/store"
)

// Input limits. Passwords are never trimmed or truncated.
const (
	MaxPasswordBytes   = 1024
	MaxIdentifierBytes = 320 // the longest valid email address
	MaxProfileField    = 2048
)

// MaxConnectionBytes and CheckConnection follow the rule config applies to
// connection names (^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$): a request naming
// anything else cannot name a connection, and is refused without quoting it.
const MaxConnectionBytes = 64

// CheckConnection refuses a connection name no configuration can hold.
func CheckConnection(name string) error {
	if name == "" {
		return apperr.Invalid("connection", "connection is required")
	}
	ok := len(name) <= MaxConnectionBytes
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || (i > 0 && (c == '_' || c == '-'))
	}
	if !ok {
		return apperr.Invalid("connection", "connection must be 1-%d letters, digits, '_' or '-', starting with a letter or digit", MaxConnectionBytes)
	}
	return nil
}

// ValidateCredentials checks a login request before any work is done. No
// message quotes a value.
func ValidateCredentials(connection, identifier, pw string) error {
	if err := CheckConnection(connection); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(identifier) == "":
		return apperr.Invalid("identifier", "identifier is required")
	case len(identifier) > MaxIdentifierBytes:
		return apperr.Invalid("identifier", "identifier is longer than %d bytes", MaxIdentifierBytes)
	case !cleanText(identifier):
		return apperr.Invalid("identifier", "identifier contains invalid characters")
	case pw == "":
		return apperr.Invalid("password", "password is required")
	case len(pw) > MaxPasswordBytes:
		return apperr.Invalid("password", "password is longer than %d bytes", MaxPasswordBytes)
	case !utf8.ValidString(pw) || strings.ContainsRune(pw, 0):
		return apperr.Invalid("password", "password contains invalid characters")
	}
	return nil
}

// cleanText: valid UTF-8 without control characters.
func cleanText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// ValidEmail reports whether s is a bare, well-formed address.
func ValidEmail(s string) bool {
	if len(s) > MaxIdentifierBytes || !cleanText(s) {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

// ValidUsername: 1–128 bytes of printable text without '@' (so it can never
// be mistaken for an email, which always has one) and without surrounding
// spaces; spaces inside and non-ASCII letters are allowed, as WordPress and
// Drupal allow them ("Mary Jane", "Bjørn"). Usernames are compared
// normalized: trimmed and lowercased (store.Normalize).
func ValidUsername(s string) bool {
	return s != "" && len(s) <= 128 && cleanText(s) && !strings.ContainsRune(s, '@') &&
		strings.TrimSpace(s) == s && !strings.ContainsRune(s, '\t')
}

// legacyUsernameKey is where UserFromProfile keeps a legacy username it
// cannot use as a Trickle username (one with '@').
const legacyUsernameKey = "legacy_username"

// UserFromProfile turns a legacy profile into a store user, validated like
// Auth0's strategy_version 2: an email that is present and well-formed, a
// username when the connection requires one. A profile that fails is a
// FAILED_PRECONDITION with a reason the operator can act on.
//
// Dirty legacy data, normalized exactly as sign-up, profile updates, import
// and the connectors' lookups normalize (trimmed, case-insensitive):
//   - email with surrounding spaces or capitals: migrates trimmed and
//     lowercased; an email with other control characters is malformed;
//   - email NULL or empty: refused (Trickle users log in by email);
//   - username with spaces inside or non-ASCII letters: kept (lowercased);
//   - username with '@' (WordPress allows it, and many use the email as the
//     login): dropped, since an identifier with '@' is looked up as an
//     email; the user logs in with the email, and the legacy username is
//     kept in app_metadata.legacy_username. This also settles a username
//     equal to another user's email: it never becomes a username;
//   - an empty username with a connection that requires one: refused.
func UserFromProfile(conn *connset.Connection, p *connectorv1.LegacyProfile, origin store.Origin, now time.Time) (*store.User, error) {
	id := p.GetLegacyId()
	if id == "" {
		return nil, apperr.WithReason(apperr.New(apperr.FailedPrecondition, "legacy profile has no legacy_id; the connector must return the user's primary key"), apperr.ReasonMigrationRefused)
	}
	email := store.Normalize(p.GetEmail())
	switch {
	case email == "":
		return nil, apperr.WithReason(apperr.New(apperr.FailedPrecondition, "legacy user %s has no email; fix the user in the legacy store or the connector's mapping", id), apperr.ReasonMigrationRefused)
	case !ValidEmail(email) || !cleanText(p.GetEmail()):
		return nil, apperr.WithReason(apperr.New(apperr.FailedPrecondition, "legacy user %s has a malformed email; fix it in the legacy store", id), apperr.ReasonMigrationRefused)
	}
	username := store.Normalize(p.GetUsername())
	app := p.GetAppMetadata().AsMap()
	if strings.ContainsRune(username, '@') {
		if app == nil {
			app = map[string]any{}
		}
		app[legacyUsernameKey] = strings.TrimSpace(p.GetUsername())
		username = ""
	}
	switch {
	case username == "" && conn.RequiresUsername:
		return nil, apperr.WithReason(apperr.New(apperr.FailedPrecondition, "legacy user %s has no usable username (none, or one with '@') and connection %q requires one", id, conn.Name), apperr.ReasonMigrationRefused)
	case username != "" && !ValidUsername(username):
		return nil, apperr.WithReason(apperr.New(apperr.FailedPrecondition, "legacy user %s has an invalid username (1-128 bytes of printable text); fix it in the legacy store", id), apperr.ReasonMigrationRefused)
	}
	for _, f := range []string{p.GetName(), p.GetGivenName(), p.GetFamilyName(), p.GetNickname(), p.GetPicture(), p.GetPhoneNumber()} {
		if len(f) > MaxProfileField || !utf8.ValidString(f) {
			return nil, apperr.WithReason(apperr.New(apperr.FailedPrecondition, "legacy user %s has a profile field that is too long or not UTF-8", id), apperr.ReasonMigrationRefused)
		}
	}
	now = now.UTC().Truncate(time.Millisecond)
	return &store.User{
		Connection: conn.Name, Email: email, EmailVerified: p.GetEmailVerified(), Username: username,
		Name: p.GetName(), GivenName: p.GetGivenName(), FamilyName: p.GetFamilyName(), Nickname: p.GetNickname(),
		Picture: p.GetPicture(), PhoneNumber: p.GetPhoneNumber(),
		UserMetadata: p.GetUserMetadata().AsMap(), AppMetadata: app,
		LegacyID: id, Origin: origin, CreatedAt: legacyCreated(p, now), UpdatedAt: now, MigratedAt: now,
	}, nil
}

// legacyCreated is the legacy account's creation date when the connector
// sent a plausible one (not in the future), else now.
func legacyCreated(p *connectorv1.LegacyProfile, now time.Time) time.Time {
	ts := p.GetCreatedAt()
	if ts == nil || ts.CheckValid() != nil {
		return now
	}
	t := ts.AsTime().UTC().Truncate(time.Millisecond)
	if t.After(now) || t.Unix() <= 0 {
		return now
	}
	return t
}

// Metadata limits: stored in the user's one document, so bounded.
const (
	MaxMetadataBytes = 64 << 10
	MaxMetadataDepth = 10
)

// ValidateMetadata refuses metadata the store cannot hold safely: keys
// with '$', '.' or NUL (operators and paths in MongoDB), deep nesting, and
// large objects (everything lives in the user's one document).
func ValidateMetadata(name string, m map[string]any) error {
	b, err := json.Marshal(m)
	if err != nil || len(b) > MaxMetadataBytes {
		return apperr.Invalid(name, "%s must be a JSON object of at most %d bytes", name, MaxMetadataBytes)
	}
	var walk func(v any, depth int) error
	walk = func(v any, depth int) error {
		if depth > MaxMetadataDepth {
			return apperr.Invalid(name, "%s is nested deeper than %d levels", name, MaxMetadataDepth)
		}
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k == "" || strings.HasPrefix(k, "$") || strings.ContainsAny(k, ".\x00") {
					return apperr.Invalid(name, "%s: key %s is not allowed (empty, or with '$' first, '.' or NUL)", name, apperr.Quote(k))
				}
				if err := walk(e, depth+1); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range x {
				if err := walk(e, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(m, 0)
}
