package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"

	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/connset"
	"github.com/trickle-auth/trickle/services/auth/internal/identity"
	"github.com/trickle-auth/trickle/services/auth/internal/legacy"
	"github.com/trickle-auth/trickle/services/auth/internal/store"
)

// A ticket is 256 random bits, base64url without padding (43 characters).
// Only its SHA-256 is stored: a leaked database holds no usable ticket, and
// a random 256-bit secret needs no slow hash.
const ticketLen = 43

// ResetEvent is the webhook body of a self-service reset request.
type ResetEvent struct {
	Type       string    `json:"type"` // "password_reset"
	Connection string    `json:"connection"`
	UserID     string    `json:"user_id,omitempty"` // empty while the user is only in the legacy store
	LegacyID   string    `json:"legacy_id,omitempty"`
	Email      string    `json:"email"`
	Ticket     string    `json:"ticket"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// errBadTicket is also the answer for a blocked user's ticket: the holder
// of a ticket learns nothing about the account beyond "it does not work".
var errBadTicket = apperr.WithReason(apperr.New(apperr.InvalidArgument, "the reset ticket is invalid, used or expired"), apperr.ReasonResetTicketInvalid)

// errBlocked: no ticket is issued for a blocked user (an operator is told;
// a self-service request sends nothing).
var errBlocked = apperr.New(apperr.FailedPrecondition, "the user is blocked: unblock it before resetting its password")

func hashTicket(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// RequestPasswordReset answers the same, at once, whether or not the user
// exists: the look-up (the store, then the legacy store with GetUser), the
// ticket and the delivery all happen in the background, so neither the
// answer nor its timing says anything about the user.
func (s *Service) RequestPasswordReset(ctx context.Context, connection, identifier string) error {
	conn, err := s.connection(connection)
	if err != nil {
		return err
	}
	if err := identity.ValidateCredentials(connection, identifier, "-"); err != nil {
		return err
	}
	if s.notifier == nil {
		s.log.Debug("password reset requested but no webhook is configured", "connection", conn.Name)
		return nil
	}
	select {
	case s.pending <- struct{}{}:
	default:
		return apperr.New(apperr.ResourceExhausted, "too many password reset requests; try again later")
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { <-s.pending }()
		ctx, cancel := context.WithTimeout(s.bg, s.deliveryBudget())
		defer cancel()
		s.requestInBackground(ctx, conn.Name, store.Normalize(identifier))
	}()
	return nil
}

// deliveryBudget bounds one request's background work: the look-up plus
// every webhook attempt and backoff.
func (s *Service) deliveryBudget() time.Duration {
	w := s.reset.Webhook
	return 30*time.Second + time.Duration(w.MaxAttempts)*(w.Timeout+w.MaxBackoff)
}

func (s *Service) requestInBackground(ctx context.Context, connection, ident string) {
	issued, err := s.issue(ctx, connection, ident, s.reset.TicketTTL)
	switch {
	case apperr.KindOf(err) == apperr.NotFound:
		s.log.Info("password reset for an unknown user: nothing sent", "connection", connection)
		return
	case errors.Is(err, errBlocked):
		s.log.Info("password reset for a blocked user: nothing sent", "connection", connection)
		return
	case err != nil:
		s.log.Warn("password reset request failed", "connection", connection, "err", err)
		return
	}
	attempts, err := s.notifier.Send(ctx, ResetEvent{
		Type: "password_reset", Connection: connection, UserID: issued.userID, LegacyID: issued.legacyID,
		Email: issued.email, Ticket: issued.ticket, ExpiresAt: issued.expires,
	})
	if err != nil {
		s.log.Warn("password reset ticket not delivered", "connection", connection, "user_id", issued.userID, "legacy_id", issued.legacyID, "attempts", attempts, "err", err)
		return
	}
	s.log.Info("password reset ticket delivered", "connection", connection, "user_id", issued.userID, "legacy_id", issued.legacyID, "attempts", attempts)
}

// CreateTicketFor issues a ticket for an operator (ManagementService):
// unlike the self-service request, it says NOT_FOUND for an unknown user.
func (s *Service) CreateTicketFor(ctx context.Context, connection, identifier string, ttl time.Duration) (string, time.Time, error) {
	conn, err := s.connection(connection)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := identity.ValidateCredentials(connection, identifier, "-"); err != nil {
		return "", time.Time{}, err
	}
	if ttl == 0 {
		ttl = s.reset.TicketTTL
	}
	if ttl < time.Minute || ttl > s.reset.MaxTicketTTL {
		return "", time.Time{}, apperr.New(apperr.InvalidArgument, "ttl must be between 1m and %v", s.reset.MaxTicketTTL)
	}
	issued, err := s.issue(ctx, conn.Name, store.Normalize(identifier), ttl)
	if err != nil {
		return "", time.Time{}, err
	}
	s.log.Info("password reset ticket created by an operator", "connection", conn.Name, "user_id", issued.userID, "legacy_id", issued.legacyID)
	return issued.ticket, issued.expires, nil
}

type issued struct {
	ticket                  string
	expires                 time.Time
	userID, legacyID, email string
}

// issue finds the user (migrated, or in the legacy store) and stores a
// ticket for it. NOT_FOUND when there is no such user, or it was deleted.
func (s *Service) issue(ctx context.Context, connection, ident string, ttl time.Duration) (*issued, error) {
	conn, ok := s.conns.Current().Get(connection)
	if !ok {
		return nil, apperr.New(apperr.InvalidArgument, "unknown connection %q", connection)
	}
	notFound := apperr.New(apperr.NotFound, "no such user")
	now := s.now().UTC().Truncate(time.Millisecond)
	t := &store.Ticket{Connection: conn.Name, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	out := &issued{expires: t.ExpiresAt}

	u, err := s.store.FindByIdentifier(ctx, conn.Name, ident)
	switch {
	case err == nil && u.Blocked:
		return nil, errBlocked
	case err == nil:
		t.UserID, out.userID, out.legacyID, out.email = u.ID, u.ID, u.LegacyID, u.Email
	case !errors.Is(err, store.ErrNotFound):
		return nil, apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
	case !conn.UsesLegacy():
		return nil, notFound
	default:
		p, err := s.legacyProfile(ctx, conn, ident)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, notFound
		}
		// Migrated already under another email: reset the Trickle user.
		if u, err := s.store.FindByLegacyID(ctx, conn.Name, p.LegacyID); err == nil {
			if u.Blocked {
				return nil, errBlocked
			}
			t.UserID, out.userID, out.legacyID, out.email = u.ID, u.ID, u.LegacyID, u.Email
		} else {
			t.Identifier, t.LegacyID, out.legacyID, out.email = p.Email, p.LegacyID, p.LegacyID, p.Email
		}
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, apperr.Wrap(apperr.Internal, err, "could not create a ticket")
	}
	out.ticket = base64.RawURLEncoding.EncodeToString(raw[:])
	t.Hash = hashTicket(out.ticket)
	t.Subject = store.TicketSubject(conn.Name, t.UserID, out.legacyID)
	if err := s.store.CreateTicket(ctx, t, s.live); err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
	}
	return out, nil
}

// legacyProfile asks the legacy store for a user not migrated yet. nil
// means no such user, or a deleted one (tombstone, I5).
func (s *Service) legacyProfile(ctx context.Context, conn *connset.Connection, ident string) (*store.User, error) {
	if _, err := s.store.FindTombstone(ctx, conn.Name, "", ident); err == nil {
		return nil, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
	}
	p, err := conn.Legacy.GetUser(ctx, ident)
	switch {
	case errors.Is(err, legacy.ErrNotFound):
		return nil, nil
	case errors.Is(err, legacy.ErrUnsupported):
		return nil, apperr.New(apperr.FailedPrecondition, "connection %q's connector cannot look users up (GetUser): only migrated users can reset their password", conn.Name)
	case err != nil:
		return nil, apperr.WithReason(apperr.Wrap(apperr.Unavailable, err, "legacy store unavailable"), apperr.ReasonLegacyUnavailable)
	}
	u, err := identity.UserFromProfile(conn, p, store.OriginMigratedOnReset, s.now())
	if err != nil {
		return nil, err
	}
	if _, err := s.store.FindTombstone(ctx, conn.Name, u.LegacyID, u.Email, u.Username); err == nil {
		return nil, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
	}
	return u, nil
}

// ResetPassword redeems a ticket. The ticket is claimed first, and with it
// every other pending ticket of the user dies (once, also under concurrent
// confirmations of different tickets: see store.Ticket); if the reset then
// fails for a passing reason (legacy store down, a password the policy
// refuses) this ticket is given back so the user can try again, but the
// others stay dead. A blocked user's ticket gets errBadTicket.
func (s *Service) ResetPassword(ctx context.Context, ticket, newPassword string) (string, error) {
	if len(ticket) != ticketLen {
		return "", errBadTicket
	}
	if _, err := base64.RawURLEncoding.DecodeString(ticket); err != nil {
		return "", errBadTicket
	}
	if newPassword == "" || len(newPassword) > s.policy.MaxBytes {
		return "", s.CheckPolicy(newPassword, "", "")
	}
	t, err := s.store.RedeemTicket(ctx, hashTicket(ticket), s.now(), s.live)
	switch {
	case errors.Is(err, store.ErrTicketInvalid):
		return "", errBadTicket
	case err != nil:
		return "", apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
	}
	id, err := s.reset1(ctx, t, newPassword)
	if err != nil {
		if k := apperr.KindOf(err); k == apperr.Unavailable || (k == apperr.InvalidArgument && err != errBadTicket) {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			if rerr := s.store.RestoreTicket(rctx, t); errors.Is(rerr, store.ErrTicketInvalid) {
				s.log.Info("reset ticket not restored after a failed reset: the user's tickets were revoked meanwhile", "connection", t.Connection)
			} else if rerr != nil {
				s.log.Warn("reset ticket not restored after a failed reset", "connection", t.Connection, "err", rerr)
			}
		}
		return "", err
	}
	return id, nil
}

func (s *Service) reset1(ctx context.Context, t *store.Ticket, pw string) (string, error) {
	if t.UserID != "" {
		return s.replaceHash(ctx, t.UserID, pw)
	}
	conn, ok := s.conns.Current().Get(t.Connection)
	if !ok {
		return "", errBadTicket
	}
	// Migrated since the ticket was issued (logged in meanwhile)?
	switch u, err := s.store.FindByLegacyID(ctx, conn.Name, t.LegacyID); {
	case err == nil:
		return s.replaceHash(ctx, u.ID, pw)
	case !errors.Is(err, store.ErrNotFound):
		return "", apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
	}
	if !conn.UsesLegacy() {
		return "", apperr.New(apperr.FailedPrecondition, "the legacy store of connection %q is switched off: this user can no longer be migrated", conn.Name)
	}
	u, err := s.legacyProfile(ctx, conn, t.Identifier)
	if err != nil {
		return "", err
	}
	if u == nil || u.LegacyID != t.LegacyID {
		return "", errBadTicket // gone from the legacy store, deleted, or another user now
	}
	if err := s.CheckPolicy(pw, u.Email, u.Username); err != nil {
		return "", err
	}
	if u.PasswordHash, err = s.hasher.Hash(ctx, pw); err != nil {
		return "", apperr.Wrap(apperr.Unavailable, err, "could not hash the password")
	}
	// The whole user, with the new password, in one write (I3).
	switch err := s.store.Create(ctx, u); {
	case err == nil:
		s.log.Info("user migrated on password reset", "connection", conn.Name, "user_id", u.ID, "legacy_id", u.LegacyID)
		return u.ID, nil
	case errors.Is(err, store.ErrDuplicate):
		// A login migrated the user meanwhile: reset that copy.
		if existing, ferr := s.store.FindByLegacyID(ctx, conn.Name, u.LegacyID); ferr == nil {
			return s.replaceHash(ctx, existing.ID, pw)
		}
		return "", apperr.WithReason(apperr.New(apperr.FailedPrecondition, "legacy user %s cannot be migrated: its email or username is used by another user of connection %q", u.LegacyID, conn.Name), apperr.ReasonMigrationRefused)
	default:
		return "", apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
	}
}

func (s *Service) replaceHash(ctx context.Context, id, pw string) (string, error) {
	for range 3 {
		u, err := s.store.Get(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return "", errBadTicket // deleted since
		}
		if err != nil {
			return "", apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
		}
		if u.Blocked {
			s.log.Info("password reset refused: the user is blocked", "connection", u.Connection, "user_id", u.ID)
			return "", errBadTicket
		}
		if err := s.CheckPolicy(pw, u.Email, u.Username); err != nil {
			return "", err
		}
		hash, err := s.hasher.Hash(ctx, pw)
		if err != nil {
			return "", apperr.Wrap(apperr.Unavailable, err, "could not hash the password")
		}
		switch err := s.store.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, hash); {
		case err == nil:
			s.log.Info("password reset", "connection", u.Connection, "user_id", u.ID)
			return u.ID, nil
		case errors.Is(err, store.ErrConflict): // a rehash on login raced us: again
		case errors.Is(err, store.ErrNotFound):
			return "", errBadTicket
		default:
			return "", apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
		}
	}
	return "", apperr.New(apperr.Unavailable, "the user is being changed concurrently; try again")
}
