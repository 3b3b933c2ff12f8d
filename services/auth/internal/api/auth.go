package api

import (
	"context"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/login"
	"github.com/trickle-auth/trickle/services/auth/internal/token"
)

// AuthServer implements trickle.auth.v1.AuthService.
type AuthServer struct {
	authv1.UnimplementedAuthServiceServer
	Logins *login.Service
	Tokens *token.Issuer
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
