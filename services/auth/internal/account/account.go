// Package account holds Auth0's other triggers besides login: sign-up
// (which asks the legacy store whether the identity exists there) and
// password reset (which, for a user not migrated yet, creates the user from
// the legacy profile with the new password, in one document: I3).
package account

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/connset"
	"github.com/trickle-auth/trickle/services/auth/internal/identity"
	"github.com/trickle-auth/trickle/services/auth/internal/legacy"
	"github.com/trickle-auth/trickle/services/auth/internal/password"
	"github.com/trickle-auth/trickle/services/auth/internal/store"
)

// Store is what sign-up and reset need from the user store.
type Store interface {
	store.Store
	store.LegacyFinder
	store.Tombstones
	store.Tickets
}

// Notifier delivers reset tickets (the webhook).
type Notifier interface {
	Send(ctx context.Context, event any) (attempts int, err error)
}

// Deps are what a Service is built from.
type Deps struct {
	Store       Store
	Hasher      *password.Hasher
	Connections *connset.ConnectionSource
	Policy      config.PasswordPolicy
	Reset       config.PasswordReset
	Notifier    Notifier // nil: self-service resets are not delivered
	Logger      *slog.Logger
	// LiveTickets bounds the usable reset tickets of one user: issuing one
	// more retires the oldest (default DefaultLiveTickets).
	LiveTickets int
}

// DefaultLiveTickets: a user who asks again because a message is slow can
// use any of the last three, and 200 requests still leave three tickets.
const DefaultLiveTickets = 3

// Service runs sign-ups and password resets.
type Service struct {
	store    Store
	hasher   *password.Hasher
	conns    *connset.ConnectionSource
	policy   config.PasswordPolicy
	reset    config.PasswordReset
	notifier Notifier
	log      *slog.Logger
	live     int // LiveTickets
	now      func() time.Time

	pending chan struct{} // bounds background reset requests
	wg      sync.WaitGroup
	bg      context.Context
	stopBg  context.CancelFunc
}

// New returns a service. Close it to finish background deliveries.
func New(d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.LiveTickets <= 0 {
		d.LiveTickets = DefaultLiveTickets
	}
	bg, stop := context.WithCancel(context.Background())
	return &Service{
		store: d.Store, hasher: d.Hasher, conns: d.Connections, policy: d.Policy, reset: d.Reset,
		notifier: d.Notifier, log: d.Logger, live: d.LiveTickets, now: time.Now,
		pending: make(chan struct{}, max(d.Reset.MaxPending, 1)), bg: bg, stopBg: stop,
	}
}

// Wait blocks until background reset requests are done.
func (s *Service) Wait() { s.wg.Wait() }

// Close waits up to the deadline of ctx for background work, then cancels
// it.
func (s *Service) Close(ctx context.Context) {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.stopBg()
		<-done
	}
	s.stopBg()
}

func (s *Service) connection(name string) (*connset.Connection, error) {
	// Checked first: only a well-formed name is quoted back below.
	if err := identity.CheckConnection(name); err != nil {
		return nil, err
	}
	conn, ok := s.conns.Current().Get(name)
	if !ok {
		return nil, apperr.New(apperr.InvalidArgument, "unknown connection %q", name)
	}
	return conn, nil
}

// CheckPolicy applies the password policy to a password chosen in Trickle.
func (s *Service) CheckPolicy(pw, email, username string) error {
	p := s.policy
	switch {
	case pw == "":
		return apperr.New(apperr.InvalidArgument, "password is required")
	case !utf8.ValidString(pw) || strings.ContainsRune(pw, 0):
		return apperr.New(apperr.InvalidArgument, "password contains invalid characters")
	case len(pw) > p.MaxBytes:
		return apperr.New(apperr.InvalidArgument, "password must be at most %d bytes", p.MaxBytes)
	case utf8.RuneCountInString(pw) < p.MinLength:
		return apperr.New(apperr.InvalidArgument, "password must be at least %d characters", p.MinLength)
	case p.ForbidEmail && ((email != "" && strings.EqualFold(strings.TrimSpace(pw), email)) || (username != "" && strings.EqualFold(strings.TrimSpace(pw), username))):
		return apperr.New(apperr.InvalidArgument, "password must not be the email or username")
	}
	return nil
}

// SignUpInput is a native user to create.
type SignUpInput struct {
	Connection, Email, Username, Password                       string
	Name, GivenName, FamilyName, Nickname, Picture, PhoneNumber string
	UserMetadata                                                map[string]any
}

// validateSignUp checks a sign-up's input before any store or legacy call
// and returns the normalized email and username.
func (s *Service) validateSignUp(conn *connset.Connection, in SignUpInput) (email, username string, err error) {
	email, username = store.Normalize(in.Email), store.Normalize(in.Username)
	switch {
	case !identity.ValidEmail(email):
		return "", "", apperr.Invalid("email", "email must be a well-formed address")
	case username == "" && conn.RequiresUsername:
		return "", "", apperr.Invalid("username", "connection %q requires a username", conn.Name)
	case username != "" && !identity.ValidUsername(username):
		return "", "", apperr.Invalid("username", "username must be 1-128 characters without '@' or surrounding spaces")
	}
	for _, f := range []struct{ name, v string }{
		{"name", in.Name}, {"given_name", in.GivenName}, {"family_name", in.FamilyName},
		{"nickname", in.Nickname}, {"picture", in.Picture}, {"phone_number", in.PhoneNumber},
	} {
		if len(f.v) > identity.MaxProfileField || !utf8.ValidString(f.v) || strings.ContainsRune(f.v, 0) {
			return "", "", apperr.Invalid(f.name, "%s must be valid text of at most %d bytes", f.name, identity.MaxProfileField)
		}
	}
	if err := identity.ValidateMetadata("user_metadata", in.UserMetadata); err != nil {
		return "", "", err
	}
	if err := s.CheckPolicy(in.Password, email, username); err != nil {
		return "", "", err
	}
	return email, username, nil
}

// SignUp creates a native user. ALREADY_EXISTS when the email or username
// is taken in Trickle or, while the legacy store is in use, in the legacy
// store (the person must log in to migrate; nobody may squat a legacy
// user's email). If the legacy store cannot be asked, nothing is created.
func (s *Service) SignUp(ctx context.Context, in SignUpInput) (*store.User, error) {
	conn, err := s.connection(in.Connection)
	if err != nil {
		return nil, err
	}
	email, username, err := s.validateSignUp(conn, in)
	if err != nil {
		return nil, err
	}
	idents := []string{email}
	if username != "" {
		idents = append(idents, username)
	}
	for _, id := range idents {
		switch _, err := s.store.FindByIdentifier(ctx, conn.Name, id); {
		case err == nil:
			return nil, errExists
		case !errors.Is(err, store.ErrNotFound):
			return nil, apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
		}
	}
	if conn.UsesLegacy() {
		for _, id := range idents {
			_, err := conn.Legacy.GetUser(ctx, id)
			switch {
			case err == nil:
				return nil, errExists
			case errors.Is(err, legacy.ErrNotFound):
			case errors.Is(err, legacy.ErrUnsupported):
				return nil, apperr.New(apperr.FailedPrecondition, "sign-up is unavailable: connection %q's connector cannot look users up (GetUser)", conn.Name)
			default:
				s.log.Warn("sign-up: legacy store unavailable", "connection", conn.Name, "err", err)
				return nil, apperr.WithReason(apperr.Wrap(apperr.Unavailable, err, "legacy store unavailable"), apperr.ReasonLegacyUnavailable)
			}
		}
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, err, "could not hash the password")
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	u := &store.User{
		Connection: conn.Name, Email: email, Username: username,
		Name: in.Name, GivenName: in.GivenName, FamilyName: in.FamilyName, Nickname: in.Nickname,
		Picture: in.Picture, PhoneNumber: in.PhoneNumber, UserMetadata: in.UserMetadata,
		PasswordHash: hash, Origin: store.OriginSignup, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.Create(ctx, u); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return nil, errExists
		}
		return nil, apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
	}
	s.log.Info("user signed up", "connection", conn.Name, "user_id", u.ID)
	return u, nil
}

var errExists = apperr.New(apperr.AlreadyExists, "a user with this email or username already exists")
