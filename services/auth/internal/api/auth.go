package api

import (
	"context"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/account"
	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/login"
	"github.com/trickle-auth/trickle/services/auth/internal/token"
)

// AuthServer implements trickle.auth.v1.AuthService.
type AuthServer struct {
	authv1.UnimplementedAuthServiceServer
	Logins   *login.Service
	Tokens   *token.Issuer
	Accounts *account.Service
}

var _ authv1.AuthServiceServer = (*AuthServer)(nil)

// Login implements AuthService.Login.
func (s *AuthServer) Login(ctx context.Context, req *authv1.LoginRequest) (*authv1.LoginResponse, error) {
	res, err := s.Logins.Login(ctx, req.GetConnection(), req.GetIdentifier(), req.GetPassword())
	if err != nil {
		return nil, err
	}
	tok, ttl, err := s.Tokens.Issue(token.Claims{Subject: res.User.ID, Email: res.User.Email, Connection: res.User.Connection})
	if err != nil {
		return nil, apperr.Wrap(apperr.Internal, err, "could not issue a token")
	}
	return &authv1.LoginResponse{
		AccessToken: tok, TokenType: "Bearer", ExpiresIn: int64(ttl.Seconds()),
		User: UserToProto(res.User), Migrated: res.Migrated,
	}, nil
}

// SignUp implements AuthService.SignUp.
func (s *AuthServer) SignUp(ctx context.Context, req *authv1.SignUpRequest) (*authv1.SignUpResponse, error) {
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
