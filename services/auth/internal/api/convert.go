package api

import (
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/store"
)

var origins = map[store.Origin]authv1.UserOrigin{
	store.OriginMigratedOnLogin: authv1.UserOrigin_USER_ORIGIN_MIGRATED_ON_LOGIN,
	store.OriginMigratedOnReset: authv1.UserOrigin_USER_ORIGIN_MIGRATED_ON_RESET,
	store.OriginImported:        authv1.UserOrigin_USER_ORIGIN_IMPORTED,
	store.OriginSignup:          authv1.UserOrigin_USER_ORIGIN_SIGNUP,
}

var originsBack = func() map[authv1.UserOrigin]store.Origin {
	m := make(map[authv1.UserOrigin]store.Origin, len(origins))
	for k, v := range origins {
		m[v] = k
	}
	return m
}()

// UserToProto is the API view of a user: everything but the password hash.
func UserToProto(u *store.User) *authv1.User {
	return &authv1.User{
		UserId: u.ID, Connection: u.Connection, Email: u.Email, EmailVerified: u.EmailVerified,
		Username: u.Username, Name: u.Name, GivenName: u.GivenName, FamilyName: u.FamilyName,
		Nickname: u.Nickname, Picture: u.Picture, PhoneNumber: u.PhoneNumber,
		UserMetadata: toStruct(u.UserMetadata), AppMetadata: toStruct(u.AppMetadata),
		LegacyId: u.LegacyID, Origin: origins[u.Origin], Blocked: u.Blocked,
		CreatedAt: ts(u.CreatedAt), UpdatedAt: ts(u.UpdatedAt), MigratedAt: ts(u.MigratedAt),
		LastLoginAt: ts(u.LastLoginAt), LoginsCount: u.LoginsCount,
	}
}

func toStruct(m map[string]any) *structpb.Struct {
	if len(m) == 0 {
		return nil
	}
	s, err := structpb.NewStruct(m)
	if err != nil {
		// Stored metadata came from Structs or JSON; anything else is a bug
		// worth seeing rather than a silently empty object.
		return &structpb.Struct{Fields: map[string]*structpb.Value{"_error": structpb.NewStringValue("metadata not representable")}}
	}
	return s
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
