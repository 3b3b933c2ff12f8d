package login

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
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
// be mistaken for an email) and without spaces.
func ValidUsername(s string) bool {
	return s != "" && len(s) <= 128 && cleanText(s) && !strings.ContainsAny(s, "@ \t")
}

// UserFromProfile turns a legacy profile into a store user, validated like
// Auth0's strategy_version 2: an email that is present and well-formed, a
// username when the connection requires one. A profile that fails is a
// FAILED_PRECONDITION with a reason the operator can act on.
func UserFromProfile(conn *Connection, p *connectorv1.LegacyProfile, origin store.Origin, now time.Time) (*store.User, error) {
	id := p.GetLegacyId()
	if id == "" {
		return nil, apperr.New(apperr.FailedPrecondition, "legacy profile has no legacy_id; the connector must return the user's primary key")
	}
	email := store.Normalize(p.GetEmail())
	switch {
	case email == "":
		return nil, apperr.New(apperr.FailedPrecondition, "legacy user %s has no email; fix the user in the legacy store or the connector's mapping", id)
	case !ValidEmail(email):
		return nil, apperr.New(apperr.FailedPrecondition, "legacy user %s has a malformed email; fix it in the legacy store", id)
	}
	username := store.Normalize(p.GetUsername())
	switch {
	case username == "" && conn.RequiresUsername:
		return nil, apperr.New(apperr.FailedPrecondition, "legacy user %s has no username and connection %q requires one", id, conn.Name)
	case username != "" && !ValidUsername(username):
		return nil, apperr.New(apperr.FailedPrecondition, "legacy user %s has an invalid username (1-128 characters, no '@' or spaces)", id)
	}
	for _, f := range []string{p.GetName(), p.GetGivenName(), p.GetFamilyName(), p.GetNickname(), p.GetPicture(), p.GetPhoneNumber()} {
		if len(f) > MaxProfileField || !utf8.ValidString(f) {
			return nil, apperr.New(apperr.FailedPrecondition, "legacy user %s has a profile field that is too long or not UTF-8", id)
		}
	}
	now = now.UTC().Truncate(time.Millisecond)
	return &store.User{
		Connection: conn.Name, Email: email, EmailVerified: p.GetEmailVerified(), Username: username,
		Name: p.GetName(), GivenName: p.GetGivenName(), FamilyName: p.GetFamilyName(), Nickname: p.GetNickname(),
		Picture: p.GetPicture(), PhoneNumber: p.GetPhoneNumber(),
		UserMetadata: p.GetUserMetadata().AsMap(), AppMetadata: p.GetAppMetadata().AsMap(),
		LegacyID: id, Origin: origin, CreatedAt: now, UpdatedAt: now, MigratedAt: now,
	}, nil
}
