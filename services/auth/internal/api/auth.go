package api

import (
	"context"
	"errors"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/account"
	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/bruteforce"
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

// Login implements AuthService.Login.
func (s *AuthServer) Login(ctx context.Context, req *authv1.LoginRequest) (*authv1.LoginResponse, error) {
	ip, ident := s.ClientIPs.Of(ctx), store.Normalize(req.GetIdentifier())
	if err := s.allow(ctx, req.GetConnection(), ident, ip); err != nil {
		return nil, err
	}
	res, err := s.Logins.Login(ctx, req.GetConnection(), req.GetIdentifier(), req.GetPassword())
	switch {
	case errors.Is(err, apperr.ErrInvalidCredentials):
		s.guard().Failure(ctx, req.GetConnection(), ident, ip)
		return nil, err
	case err != nil:
		return nil, err
	}
	s.guard().Success(ctx, req.GetConnection(), ident, ip)
	tok, ttl, err := s.Tokens.Issue(token.Claims{Subject: res.User.ID, Email: res.User.Email, EmailVerified: res.User.EmailVerified, Connection: res.User.Connection})
	if err != nil {
		return nil, apperr.Wrap(apperr.Internal, err, "could not issue a token")
	}
	return &authv1.LoginResponse{
		AccessToken: tok, TokenType: "Bearer", ExpiresIn: int64(ttl.Seconds()),
		User: UserToProto(res.User), Migrated: res.Migrated,
	}, nil
}

func (s *AuthServer) guard() *bruteforce.Guard {
	if s.Guard == nil {
		return disabledGuard
	}
	return s.Guard
}

var disabledGuard = bruteforce.New(bruteforce.Config{Disabled: true}, nil, "", nil, nil)

// allow asks the brute-force guard; a refusal is RESOURCE_EXHAUSTED with
// the time to wait.
func (s *AuthServer) allow(ctx context.Context, connection, ident, ip string) error {
	err := s.guard().Allow(ctx, connection, ident, ip)
	var d *bruteforce.Denied
	if errors.As(err, &d) {
		return &apperr.Error{Kind: apperr.ResourceExhausted, Msg: "too many attempts, try again later", RetryAfter: d.RetryAfter}
	}
	return err
}

// SignUp implements AuthService.SignUp.
func (s *AuthServer) SignUp(ctx context.Context, req *authv1.SignUpRequest) (*authv1.SignUpResponse, error) {
	// A throttled IP may not probe which identifiers exist either.
	if err := s.allow(ctx, req.GetConnection(), store.Normalize(req.GetEmail()), s.ClientIPs.Of(ctx)); err != nil {
		return nil, err
	}
	u, err := s.Accounts.SignUp(ctx, account.SignUpInput{
		Connection: req.GetConnection(), Email: req.GetEmail(), Username: req.GetUsername(), Password: req.GetPassword(),
		Name: req.GetName(), GivenName: req.GetGivenName(), FamilyName: req.GetFamilyName(), Nickname: req.GetNickname(),
		Picture: req.GetPicture(), PhoneNumber: req.GetPhoneNumber(), UserMetadata: req.GetUserMetadata().AsMap(),
	})
	if err != nil {
		return nil, err
	}
	return &authv1.SignUpResponse{User: UserToProto(u)}, nil
}

// RequestPasswordReset implements AuthService.RequestPasswordReset.
func (s *AuthServer) RequestPasswordReset(ctx context.Context, req *authv1.RequestPasswordResetRequest) (*authv1.RequestPasswordResetResponse, error) {
	if err := s.allow(ctx, req.GetConnection(), store.Normalize(req.GetIdentifier()), s.ClientIPs.Of(ctx)); err != nil {
		return nil, err
	}
	if err := s.Accounts.RequestPasswordReset(ctx, req.GetConnection(), req.GetIdentifier()); err != nil {
		return nil, err
	}
	return &authv1.RequestPasswordResetResponse{}, nil
}

// ResetPassword implements AuthService.ResetPassword.
func (s *AuthServer) ResetPassword(ctx context.Context, req *authv1.ResetPasswordRequest) (*authv1.ResetPasswordResponse, error) {
	id, err := s.Accounts.ResetPassword(ctx, req.GetTicket(), req.GetNewPassword())
	if err != nil {
		return nil, err
	}
	return &authv1.ResetPasswordResponse{UserId: id}, nil
}
