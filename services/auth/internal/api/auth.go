package api

import (
	"context"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/account"
	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/bruteforce"
	"github.com/trickle-auth/trickle/services/auth/internal/identity"
	"github.com/trickle-auth/trickle/services/auth/internal/login"
	"github.com/trickle-auth/trickle/services/auth/internal/store"
	"github.com/trickle-auth/trickle/services/auth/internal/token"
)

// AuthServer implements trickle.auth.v1.AuthService.
type AuthServer struct {
	authv1.UnimplementedAuthServiceServer
	Logins   *login.Service
	Tokens   *token.Issuer
	Accounts *account.Service
	// Guard refuses password guessing before any hashing or legacy call,
	// which also protects the legacy store of users not migrated yet.
	Guard     *bruteforce.Guard
	ClientIPs ClientIPs
}

var _ authv1.AuthServiceServer = (*AuthServer)(nil)

// Login implements AuthService.Login. The login flow applies the
// brute-force protection itself: it knows which account an identifier
// resolves to.
func (s *AuthServer) Login(ctx context.Context, req *authv1.LoginRequest) (*authv1.LoginResponse, error) {
	res, err := s.Logins.LoginFrom(ctx, req.GetConnection(), req.GetIdentifier(), req.GetPassword(), s.ClientIPs.Of(ctx))
	if err != nil {
		return nil, err
	}
	tok, ttl, err := s.Tokens.Issue(token.Claims{Subject: res.User.ID, Email: res.User.Email, EmailVerified: res.User.EmailVerified, Connection: res.User.Connection})
	if err != nil {
		return nil, apperr.Wrap(apperr.Internal, err, "could not issue a token")
	}
	return &authv1.LoginResponse{
		AccessToken: tok, TokenType: "Bearer", ExpiresIn: int64(ttl.Seconds()),
		User: UserToProto(res.User), Migrated: res.Migrated,
	}, nil
}

// guarded runs an attempt under the brute-force protection: it reserves
// the attempt's unit of its budgets first, then settles it by the result.
// failure says which errors are failed attempts (a probe, a bad ticket);
// other errors decided nothing and give the unit back.
func (s *AuthServer) guarded(ctx context.Context, a bruteforce.Attempt, failure func(error) bool, run func() error) error {
	if a.Action != bruteforce.ResetConfirm { // a hostile connection name never reaches Redis
		if err := identity.CheckConnection(a.Connection); err != nil {
			return err
		}
	}
	a.IP = s.ClientIPs.Of(ctx)
	resv, err := s.Guard.Reserve(ctx, a)
	if err != nil {
		return bruteforce.AsAppError(err)
	}
	err = run()
	switch {
	case err == nil:
		resv.Succeeded(ctx)
	case failure(err):
		resv.Failed(ctx, "")
	default:
		resv.Cancel(ctx)
	}
	return err
}

// spellings are the budget keys of the identifiers of a request.
func spellingsOf(idents ...string) []bruteforce.Account {
	var out []bruteforce.Account
	for _, id := range idents {
		if id != "" {
			out = append(out, bruteforce.SpelledAccount(id))
		}
	}
	return out
}

func isKind(kinds ...apperr.Kind) func(error) bool {
	return func(err error) bool {
		for _, k := range kinds {
			if apperr.KindOf(err) == k {
				return true
			}
		}
		return false
	}
}

// SignUp implements AuthService.SignUp.
func (s *AuthServer) SignUp(ctx context.Context, req *authv1.SignUpRequest) (*authv1.SignUpResponse, error) {
	// Each sign-up of an identifier that exists (here or in the legacy
	// store) is a probe: counted per identifier and per client network.
	var u *store.User
	err := s.guarded(ctx, bruteforce.Attempt{Action: bruteforce.SignUp, Connection: req.GetConnection(),
		Accounts: spellingsOf(req.GetEmail(), req.GetUsername())}, isKind(apperr.AlreadyExists), func() (err error) {
		u, err = s.Accounts.SignUp(ctx, account.SignUpInput{
			Connection: req.GetConnection(), Email: req.GetEmail(), Username: req.GetUsername(), Password: req.GetPassword(),
			Name: req.GetName(), GivenName: req.GetGivenName(), FamilyName: req.GetFamilyName(), Nickname: req.GetNickname(),
			Picture: req.GetPicture(), PhoneNumber: req.GetPhoneNumber(), UserMetadata: req.GetUserMetadata().AsMap(),
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &authv1.SignUpResponse{User: UserToProto(u)}, nil
}

// RequestPasswordReset implements AuthService.RequestPasswordReset.
func (s *AuthServer) RequestPasswordReset(ctx context.Context, req *authv1.RequestPasswordResetRequest) (*authv1.RequestPasswordResetResponse, error) {
	// Every request counts (the answer is the same whether the user
	// exists), so no one can flood a user's mailbox or the legacy store.
	err := s.guarded(ctx, bruteforce.Attempt{Action: bruteforce.ResetRequest, Connection: req.GetConnection(),
		Accounts: spellingsOf(req.GetIdentifier())}, isKind(apperr.InvalidArgument), func() error {
		return s.Accounts.RequestPasswordReset(ctx, req.GetConnection(), req.GetIdentifier())
	})
	if err != nil {
		return nil, err
	}
	return &authv1.RequestPasswordResetResponse{}, nil
}

// ResetPassword implements AuthService.ResetPassword.
func (s *AuthServer) ResetPassword(ctx context.Context, req *authv1.ResetPasswordRequest) (*authv1.ResetPasswordResponse, error) {
	var id string
	err := s.guarded(ctx, bruteforce.Attempt{Action: bruteforce.ResetConfirm}, isKind(apperr.InvalidArgument, apperr.NotFound, apperr.Unauthenticated, apperr.PermissionDenied), func() (err error) {
		id, err = s.Accounts.ResetPassword(ctx, req.GetTicket(), req.GetNewPassword())
		return err
	})
	if err != nil {
		return nil, err
	}
	return &authv1.ResetPasswordResponse{UserId: id}, nil
}
