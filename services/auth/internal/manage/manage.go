// Package manage is what the ManagementService does: find, change, block
// and delete users (leaving tombstones, invariant I5), and report each
// connection's migration progress. The API layer turns requests into the
// plain types here; authorization happens before (the admin interceptor).
package manage

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/connset"
	"github.com/trickle-auth/trickle/services/auth/internal/identity"
	"github.com/trickle-auth/trickle/services/auth/internal/legacy"
	"github.com/trickle-auth/trickle/services/auth/internal/store"
)

// Store is what management needs from the user store.
type Store interface {
	store.Admin
	store.Stats
}

// Service runs management operations.
type Service struct {
	store Store
	conns *connset.ConnectionSource
	log   *slog.Logger
	now   func() time.Time
}

// New returns a management service.
func New(st Store, conns *connset.ConnectionSource, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: st, conns: conns, log: log, now: time.Now}
}

// Limits of ListUsers.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

func storeErr(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return apperr.New(apperr.NotFound, "%s not found", what)
	default:
		return apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
	}
}

func validID(id string) error {
	if id == "" || len(id) > 64 || !utf8.ValidString(id) {
		return apperr.Invalid("user_id", "user_id is required (at most 64 bytes)")
	}
	return nil
}

// Get returns the user.
func (s *Service) Get(ctx context.Context, id string) (*store.User, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	u, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, storeErr(err, "user")
	}
	return u, nil
}

// ListParams are ListUsers' filters and paging.
type ListParams struct {
	store.ListQuery
	PageToken string
}

// pageToken is opaque to callers: the last id of the page and a
// fingerprint of the filters, so a token is only good for its own query.
type pageToken struct {
	After  string `json:"a"`
	Filter string `json:"f"`
}

func filterFingerprint(q store.ListQuery) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d\x00%s", q.Connection, store.Normalize(q.EmailPrefix), q.MigratedSince.UnixNano(), q.Origin)))
	return base64.RawURLEncoding.EncodeToString(h[:8])
}

// List returns one page of users, newest first, and the next page's token
// (empty on the last page).
func (s *Service) List(ctx context.Context, p ListParams) ([]*store.User, string, error) {
	q := p.ListQuery
	switch {
	case q.Limit < 0:
		return nil, "", apperr.New(apperr.InvalidArgument, "page_size cannot be negative")
	case q.Limit == 0:
		q.Limit = DefaultPageSize
	case q.Limit > MaxPageSize:
		q.Limit = MaxPageSize
	}
	if len(q.EmailPrefix) > identity.MaxIdentifierBytes || !utf8.ValidString(q.EmailPrefix) || strings.ContainsRune(q.EmailPrefix, 0) {
		return nil, "", apperr.Invalid("email_prefix", "email_prefix must be valid text of at most %d bytes", identity.MaxIdentifierBytes)
	}
	if q.Connection != "" {
		if err := identity.CheckConnection(q.Connection); err != nil {
			return nil, "", err
		}
	}
	fp := filterFingerprint(q)
	if p.PageToken != "" {
		after, err := decodePageToken(p.PageToken, fp)
		if err != nil {
			return nil, "", err
		}
		q.After = after
	}
	users, more, err := s.store.List(ctx, q)
	if err != nil {
		return nil, "", storeErr(err, "user")
	}
	next := ""
	if more && len(users) > 0 {
		next = encodePageToken(users[len(users)-1].ID, fp)
	}
	return users, next, nil
}

func encodePageToken(after, fingerprint string) string {
	raw, _ := json.Marshal(pageToken{After: after, Filter: fingerprint})
	return base64.RawURLEncoding.EncodeToString(raw)
}

// decodePageToken returns the id a page starts after; the token must come
// from a query with the same filters (fingerprint).
func decodePageToken(token, fingerprint string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	var tok pageToken
	if err != nil || len(raw) > 512 || json.Unmarshal(raw, &tok) != nil || tok.After == "" {
		return "", apperr.Invalid("page_token", "page_token is not valid")
	}
	if tok.Filter != fingerprint {
		return "", apperr.Invalid("page_token", "page_token belongs to a query with other filters")
	}
	return tok.After, nil
}

// MetadataPatch changes one metadata object. Replace swaps the whole
// object; otherwise each key of Set is written, a nil value deleting the
// key (Auth0's PATCH merges top-level keys the same way).
type MetadataPatch struct {
	Replace bool
	Value   map[string]any // with Replace
	Set     map[string]any
}

func (m *MetadataPatch) apply(cur map[string]any) map[string]any {
	if m.Replace {
		return m.Value
	}
	out := make(map[string]any, len(cur)+len(m.Set))
	for k, v := range cur {
		out[k] = v
	}
	for k, v := range m.Set {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// Patch names the fields to change; nil fields stay as they are.
type Patch struct {
	Email, Username                                             *string
	EmailVerified                                               *bool
	Name, GivenName, FamilyName, Nickname, Picture, PhoneNumber *string
	UserMetadata, AppMetadata                                   *MetadataPatch
}

// Update applies the patch. An email or username change is refused with
// ALREADY_EXISTS when another user of the connection has it, in Trickle or
// (while the legacy store is in use) in the legacy store.
func (s *Service) Update(ctx context.Context, id string, p Patch) (*store.User, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	// Compare-and-set on updated_at; a concurrent change makes us re-read
	// and re-apply the patch.
	for range 3 {
		cur, err := s.store.Get(ctx, id)
		if err != nil {
			return nil, storeErr(err, "user")
		}
		prev := cur.UpdatedAt
		next := *cur
		if err := s.applyPatch(&next, p); err != nil {
			return nil, err
		}
		if err := s.checkLegacy(ctx, cur, &next); err != nil {
			return nil, err
		}
		err = s.store.UpdateProfile(ctx, &next, prev)
		var dup *store.DuplicateError
		switch {
		case err == nil:
			s.log.Info("user updated", "user_id", id, "connection", cur.Connection)
			return &next, nil
		case errors.As(err, &dup):
			return nil, apperr.New(apperr.AlreadyExists, "%s is already used by another user of connection %q", dup.Field, cur.Connection)
		case errors.Is(err, store.ErrConflict):
			continue
		default:
			return nil, storeErr(err, "user")
		}
	}
	return nil, apperr.New(apperr.Unavailable, "the user is being changed concurrently; try again")
}

func (s *Service) applyPatch(u *store.User, p Patch) error {
	conn, _ := s.conns.Current().Get(u.Connection)
	if p.Email != nil {
		e := store.Normalize(*p.Email)
		if !identity.ValidEmail(e) {
			return apperr.Invalid("email", "email must be a well-formed address")
		}
		u.Email = e
	}
	if p.Username != nil {
		n := store.Normalize(*p.Username)
		if n != "" && !identity.ValidUsername(n) {
			return apperr.Invalid("username", "username must be 1-128 characters without '@' or surrounding spaces")
		}
		if n == "" && conn != nil && conn.RequiresUsername {
			return apperr.Invalid("username", "connection %q requires a username", u.Connection)
		}
		u.Username = n
	}
	if p.EmailVerified != nil {
		u.EmailVerified = *p.EmailVerified
	}
	for _, f := range []struct {
		name string
		src  *string
		dst  *string
	}{
		{"name", p.Name, &u.Name}, {"given_name", p.GivenName, &u.GivenName}, {"family_name", p.FamilyName, &u.FamilyName},
		{"nickname", p.Nickname, &u.Nickname}, {"picture", p.Picture, &u.Picture}, {"phone_number", p.PhoneNumber, &u.PhoneNumber},
	} {
		if f.src == nil {
			continue
		}
		if len(*f.src) > identity.MaxProfileField || !utf8.ValidString(*f.src) || strings.ContainsRune(*f.src, 0) {
			return apperr.Invalid(f.name, "%s must be valid text of at most %d bytes", f.name, identity.MaxProfileField)
		}
		*f.dst = *f.src
	}
	for _, m := range []struct {
		name  string
		patch *MetadataPatch
		dst   *map[string]any
	}{{"user_metadata", p.UserMetadata, &u.UserMetadata}, {"app_metadata", p.AppMetadata, &u.AppMetadata}} {
		if m.patch == nil {
			continue
		}
		next := m.patch.apply(*m.dst)
		if err := identity.ValidateMetadata(m.name, next); err != nil {
			return err
		}
		*m.dst = next
	}
	return nil
}

// checkLegacy refuses an email or username that a different user of the
// legacy store holds: that user would otherwise collide on first login.
func (s *Service) checkLegacy(ctx context.Context, cur, next *store.User) error {
	conn, ok := s.conns.Current().Get(cur.Connection)
	if !ok || !conn.UsesLegacy() {
		return nil
	}
	for _, c := range []struct{ field, old, new string }{{"email", cur.Email, next.Email}, {"username", cur.Username, next.Username}} {
		if c.new == "" || c.new == c.old {
			continue
		}
		p, err := conn.Legacy.GetUser(ctx, c.new)
		switch {
		case errors.Is(err, legacy.ErrNotFound):
			continue
		case errors.Is(err, legacy.ErrUnsupported):
			return apperr.New(apperr.FailedPrecondition, "connection %q's connector cannot look users up (GetUser), so the %s change cannot be checked", cur.Connection, c.field)
		case err != nil:
			return apperr.WithReason(apperr.Wrap(apperr.Unavailable, err, "legacy store unavailable"), apperr.ReasonLegacyUnavailable)
		}
		if p.GetLegacyId() != cur.LegacyID || cur.LegacyID == "" {
			return apperr.New(apperr.AlreadyExists, "%s is already used by a user of the legacy store of connection %q", c.field, cur.Connection)
		}
	}
	return nil
}

// SetBlocked blocks or unblocks the user.
func (s *Service) SetBlocked(ctx context.Context, id string, blocked bool) (*store.User, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	u, err := s.store.SetBlocked(ctx, id, blocked)
	if err != nil {
		return nil, storeErr(err, "user")
	}
	s.log.Info("user block changed", "user_id", id, "blocked", blocked)
	return u, nil
}

// Delete removes the user, leaving a tombstone unless allowReimport.
func (s *Service) Delete(ctx context.Context, id string, allowReimport bool) error {
	if err := validID(id); err != nil {
		return err
	}
	u, err := s.store.Delete(ctx, id, !allowReimport, s.now())
	if err != nil {
		return storeErr(err, "user")
	}
	s.log.Info("user deleted", "user_id", id, "connection", u.Connection, "legacy_id", u.LegacyID, "tombstone", !allowReimport)
	return nil
}
