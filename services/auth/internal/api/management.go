package api

import (
	"context"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/bruteforce"
	"github.com/trickle-auth/trickle/services/auth/internal/importer"
	"github.com/trickle-auth/trickle/services/auth/internal/manage"
	"github.com/trickle-auth/trickle/services/auth/internal/store"
)

// TicketIssuer creates reset tickets for operators.
type TicketIssuer interface {
	CreateTicketFor(ctx context.Context, connection, identifier string, ttl time.Duration) (ticket string, expires time.Time, err error)
}

// ManagementServer implements trickle.auth.v1.ManagementService. The admin
// credential is checked before (AdminInterceptor).
type ManagementServer struct {
	authv1.UnimplementedManagementServiceServer
	Manage  *manage.Service
	Tickets TicketIssuer
	// Guard's lockouts of the user are cleared by UnblockUser.
	Guard *bruteforce.Guard
	// Importer runs bulk imports and exports (nil: not available).
	Importer *importer.Service
}

var _ authv1.ManagementServiceServer = (*ManagementServer)(nil)

// GetUser implements ManagementService.GetUser.
func (s *ManagementServer) GetUser(ctx context.Context, req *authv1.GetUserRequest) (*authv1.GetUserResponse, error) {
	u, err := s.Manage.Get(ctx, req.GetUserId())
	if err != nil {
		return nil, err
	}
	return &authv1.GetUserResponse{User: UserToProto(u)}, nil
}

// ListUsers implements ManagementService.ListUsers.
func (s *ManagementServer) ListUsers(ctx context.Context, req *authv1.ListUsersRequest) (*authv1.ListUsersResponse, error) {
	q := manage.ListParams{
		ListQuery: store.ListQuery{Connection: req.GetConnection(), EmailPrefix: req.GetEmailPrefix(), Limit: int(req.GetPageSize())},
		PageToken: req.GetPageToken(),
	}
	if t := req.GetMigratedSince(); t != nil {
		if err := t.CheckValid(); err != nil {
			return nil, apperr.New(apperr.InvalidArgument, "migrated_since is not a valid time")
		}
		q.MigratedSince = t.AsTime()
	}
	if o := req.GetOrigin(); o != authv1.UserOrigin_USER_ORIGIN_UNSPECIFIED {
		so, ok := originsBack[o]
		if !ok {
			return nil, apperr.New(apperr.InvalidArgument, "origin %d is unknown", o)
		}
		q.Origin = so
	}
	users, next, err := s.Manage.List(ctx, q)
	if err != nil {
		return nil, err
	}
	resp := &authv1.ListUsersResponse{NextPageToken: next}
	for _, u := range users {
		resp.Users = append(resp.Users, UserToProto(u))
	}
	return resp, nil
}

// UpdateUser implements ManagementService.UpdateUser.
func (s *ManagementServer) UpdateUser(ctx context.Context, req *authv1.UpdateUserRequest) (*authv1.UpdateUserResponse, error) {
	p, err := patchFromMask(req.GetUser(), req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	u, err := s.Manage.Update(ctx, req.GetUserId(), p)
	if err != nil {
		return nil, err
	}
	return &authv1.UpdateUserResponse{User: UserToProto(u)}, nil
}

// patchFromMask turns a field mask into a patch. "user_metadata" replaces
// the object; "user_metadata.k" (what the REST gateway derives from a JSON
// body) sets or, when absent or null, deletes the top-level key k.
func patchFromMask(u *authv1.User, paths []string) (manage.Patch, error) {
	var p manage.Patch
	if len(paths) == 0 {
		return p, apperr.New(apperr.InvalidArgument, "update_mask is required: name the fields to change")
	}
	if u == nil {
		u = &authv1.User{}
	}
	str := func(v string) *string { return &v }
	for _, path := range paths {
		head, rest, _ := strings.Cut(path, ".")
		if rest != "" && head != "user_metadata" && head != "app_metadata" {
			return p, apperr.Invalid("update_mask", "update_mask: %s cannot be updated", apperr.Quote(path))
		}
		switch head {
		case "email":
			p.Email = str(u.GetEmail())
		case "email_verified":
			v := u.GetEmailVerified()
			p.EmailVerified = &v
		case "username":
			p.Username = str(u.GetUsername())
		case "name":
			p.Name = str(u.GetName())
		case "given_name":
			p.GivenName = str(u.GetGivenName())
		case "family_name":
			p.FamilyName = str(u.GetFamilyName())
		case "nickname":
			p.Nickname = str(u.GetNickname())
		case "picture":
			p.Picture = str(u.GetPicture())
		case "phone_number":
			p.PhoneNumber = str(u.GetPhoneNumber())
		case "user_metadata":
			p.UserMetadata = metadataPatch(p.UserMetadata, u.GetUserMetadata(), rest)
		case "app_metadata":
			p.AppMetadata = metadataPatch(p.AppMetadata, u.GetAppMetadata(), rest)
		default:
			return p, apperr.Invalid("update_mask", "update_mask: %s cannot be updated", apperr.Quote(path))
		}
	}
	return p, nil
}

func metadataPatch(cur *manage.MetadataPatch, v *structpb.Struct, subpath string) *manage.MetadataPatch {
	if cur == nil {
		cur = &manage.MetadataPatch{Set: map[string]any{}}
	}
	if subpath == "" {
		cur.Replace, cur.Value = true, v.AsMap()
		return cur
	}
	key, _, _ := strings.Cut(subpath, ".")
	var val any
	if f, ok := v.GetFields()[key]; ok {
		val = f.AsInterface()
	}
	cur.Set[key] = val
	return cur
}

// DeleteUser implements ManagementService.DeleteUser.
func (s *ManagementServer) DeleteUser(ctx context.Context, req *authv1.DeleteUserRequest) (*authv1.DeleteUserResponse, error) {
	if err := s.Manage.Delete(ctx, req.GetUserId(), req.GetAllowReimport()); err != nil {
		return nil, err
	}
	return &authv1.DeleteUserResponse{}, nil
}

// BlockUser implements ManagementService.BlockUser.
func (s *ManagementServer) BlockUser(ctx context.Context, req *authv1.BlockUserRequest) (*authv1.BlockUserResponse, error) {
	u, err := s.Manage.SetBlocked(ctx, req.GetUserId(), true)
	if err != nil {
		return nil, err
	}
	return &authv1.BlockUserResponse{User: UserToProto(u)}, nil
}

// UnblockUser implements ManagementService.UnblockUser.
func (s *ManagementServer) UnblockUser(ctx context.Context, req *authv1.UnblockUserRequest) (*authv1.UnblockUserResponse, error) {
	u, err := s.Manage.SetBlocked(ctx, req.GetUserId(), false)
	if err != nil {
		return nil, err
	}
	// Every key the user's failures may be under: the account and each
	// spelling of its identifiers that is not a typo of someone else's.
	accounts := append(spellingsOf(u.Email, u.Username), bruteforce.UserAccount(u.ID, u.LegacyID))
	if _, err := s.Guard.Unblock(ctx, u.Connection, accounts...); err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, err, "could not clear the login lockouts")
	}
	return &authv1.UnblockUserResponse{User: UserToProto(u)}, nil
}

// CreatePasswordResetTicket implements ManagementService.CreatePasswordResetTicket.
func (s *ManagementServer) CreatePasswordResetTicket(ctx context.Context, req *authv1.CreatePasswordResetTicketRequest) (*authv1.CreatePasswordResetTicketResponse, error) {
	var ttl time.Duration
	if d := req.GetTtl(); d != nil {
		if err := d.CheckValid(); err != nil || d.AsDuration() <= 0 {
			return nil, apperr.New(apperr.InvalidArgument, "ttl must be a positive duration")
		}
		ttl = d.AsDuration()
	}
	tk, exp, err := s.Tickets.CreateTicketFor(ctx, req.GetConnection(), req.GetIdentifier(), ttl)
	if err != nil {
		return nil, err
	}
	return &authv1.CreatePasswordResetTicketResponse{Ticket: tk, ExpiresAt: timestamppb.New(exp)}, nil
}

// ListConnections implements ManagementService.ListConnections.
func (s *ManagementServer) ListConnections(context.Context, *authv1.ListConnectionsRequest) (*authv1.ListConnectionsResponse, error) {
	resp := &authv1.ListConnectionsResponse{}
	for _, c := range s.Manage.Connections() {
		resp.Connections = append(resp.Connections, &authv1.Connection{
			Name: c.Name, ImportMode: c.ImportMode, LegacyEnabled: c.LegacyEnabled, RequiresUsername: c.RequiresUsername,
		})
	}
	return resp, nil
}

// GetMigrationStatus implements ManagementService.GetMigrationStatus.
func (s *ManagementServer) GetMigrationStatus(ctx context.Context, req *authv1.GetMigrationStatusRequest) (*authv1.GetMigrationStatusResponse, error) {
	st, err := s.Manage.Status(ctx, req.GetConnection())
	if err != nil {
		return nil, err
	}
	return &authv1.GetMigrationStatusResponse{Status: &authv1.MigrationStatus{
		Connection: st.Connection, MigratedUsers: st.Migrated, NativeUsers: st.Native,
		LegacyTotal: st.LegacyTotal, PercentMigrated: st.PercentMigrated,
		FirstMigrationAt: ts(st.FirstMigration), LastMigrationAt: ts(st.LastMigration),
		LegacyLoginsLastHour: st.LegacyLoginsHour, LegacyLoginsLastDay: st.LegacyLoginsDay,
		ImportMode: st.ImportMode, LegacyEnabled: st.LegacyEnabled,
	}}, nil
}
