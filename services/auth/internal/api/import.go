package api

import (
	"context"

	"google.golang.org/grpc"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/identity"
	"github.com/trickle-auth/trickle/services/auth/internal/importer"
)

var importOutcomes = map[importer.Outcome]authv1.ImportOutcome{
	importer.Imported:          authv1.ImportOutcome_IMPORT_OUTCOME_IMPORTED,
	importer.SkippedExists:     authv1.ImportOutcome_IMPORT_OUTCOME_SKIPPED_EXISTS,
	importer.SkippedTombstoned: authv1.ImportOutcome_IMPORT_OUTCOME_SKIPPED_TOMBSTONED,
	importer.Failed:            authv1.ImportOutcome_IMPORT_OUTCOME_FAILED,
}

// LegacyUserToProfile is the connector contract's view of an imported user
// (the import runs on that type, whatever the source).
func LegacyUserToProfile(u *authv1.LegacyUser) *connectorv1.LegacyProfile {
	p := &connectorv1.LegacyProfile{
		LegacyId: u.GetLegacyId(), Email: u.GetEmail(), EmailVerified: u.GetEmailVerified(), Username: u.GetUsername(),
		Name: u.GetName(), GivenName: u.GetGivenName(), FamilyName: u.GetFamilyName(), Nickname: u.GetNickname(),
		Picture: u.GetPicture(), PhoneNumber: u.GetPhoneNumber(), UserMetadata: u.GetUserMetadata(), AppMetadata: u.GetAppMetadata(),
	}
	if h := u.GetPasswordHash(); h != nil {
		p.PasswordHash = &connectorv1.LegacyPasswordHash{Hash: h.GetHash(), Format: h.GetFormat(), Salt: h.GetSalt()}
	}
	return p
}

// ProfileToLegacyUser is the API view of a legacy profile, without its
// password hash.
func ProfileToLegacyUser(p *connectorv1.LegacyProfile) *authv1.LegacyUser {
	return &authv1.LegacyUser{
		LegacyId: p.GetLegacyId(), Email: p.GetEmail(), EmailVerified: p.GetEmailVerified(), Username: p.GetUsername(),
		Name: p.GetName(), GivenName: p.GetGivenName(), FamilyName: p.GetFamilyName(), Nickname: p.GetNickname(),
		Picture: p.GetPicture(), PhoneNumber: p.GetPhoneNumber(), UserMetadata: p.GetUserMetadata(), AppMetadata: p.GetAppMetadata(),
	}
}

func resultToProto(r importer.Result) *authv1.ImportResult {
	return &authv1.ImportResult{LegacyId: r.LegacyID, Outcome: importOutcomes[r.Outcome], Reason: r.Reason, UserId: r.UserID}
}

func countsToProto(c importer.Counts) *authv1.ImportCounts {
	return &authv1.ImportCounts{Imported: c.Imported, SkippedExists: c.SkippedExists, SkippedTombstoned: c.SkippedTombstoned, Failed: c.Failed}
}

func (s *ManagementServer) importerOrErr() (*importer.Service, error) {
	if s.Importer == nil {
		return nil, apperr.New(apperr.FailedPrecondition, "bulk import is not available on this server")
	}
	return s.Importer, nil
}

// ImportUsers implements ManagementService.ImportUsers.
func (s *ManagementServer) ImportUsers(ctx context.Context, req *authv1.ImportUsersRequest) (*authv1.ImportUsersResponse, error) {
	imp, err := s.importerOrErr()
	if err != nil {
		return nil, err
	}
	if err := identity.CheckConnection(req.GetConnection()); err != nil {
		return nil, err
	}
	profiles := make([]*connectorv1.LegacyProfile, len(req.GetUsers()))
	for i, u := range req.GetUsers() {
		profiles[i] = LegacyUserToProfile(u)
	}
	results, err := imp.Import(ctx, req.GetConnection(), profiles)
	if err != nil {
		return nil, err
	}
	resp := &authv1.ImportUsersResponse{Results: make([]*authv1.ImportResult, len(results))}
	var c importer.Counts
	for i, r := range results {
		resp.Results[i] = resultToProto(r)
		c.Add(r)
	}
	resp.Counts = countsToProto(c)
	return resp, nil
}

// ImportFromConnector implements ManagementService.ImportFromConnector.
func (s *ManagementServer) ImportFromConnector(req *authv1.ImportFromConnectorRequest, stream grpc.ServerStreamingServer[authv1.ImportFromConnectorResponse]) error {
	imp, err := s.importerOrErr()
	if err != nil {
		return err
	}
	if err := identity.CheckConnection(req.GetConnection()); err != nil {
		return err
	}
	return imp.FromConnector(stream.Context(), importer.FromConnectorParams{
		Connection: req.GetConnection(), StartAfter: req.GetStartAfterLegacyId(), Resume: req.GetResume(), Limit: req.GetLimit(),
	}, func(p importer.Progress) error {
		resp := &authv1.ImportFromConnectorResponse{
			Counts: countsToProto(p.Counts), CheckpointLegacyId: p.Checkpoint, LegacyTotal: p.LegacyTotal,
			StartedAfterLegacyId: p.StartedAfter, Done: p.Done,
		}
		for _, r := range p.Failures {
			resp.Failures = append(resp.Failures, resultToProto(r))
		}
		return stream.Send(resp)
	})
}

// ExportUnmigratedUsers implements ManagementService.ExportUnmigratedUsers.
func (s *ManagementServer) ExportUnmigratedUsers(req *authv1.ExportUnmigratedUsersRequest, stream grpc.ServerStreamingServer[authv1.ExportUnmigratedUsersResponse]) error {
	imp, err := s.importerOrErr()
	if err != nil {
		return err
	}
	if err := identity.CheckConnection(req.GetConnection()); err != nil {
		return err
	}
	return imp.ExportUnmigrated(stream.Context(), req.GetConnection(), req.GetStartAfterLegacyId(), req.GetLimit(), func(b *importer.ExportBatch) error {
		resp := &authv1.ExportUnmigratedUsersResponse{
			Scanned: b.Scanned, Migrated: b.Migrated, Tombstoned: b.Tombstoned, CheckpointLegacyId: b.Checkpoint,
		}
		for _, p := range b.Users {
			resp.Users = append(resp.Users, ProfileToLegacyUser(p))
		}
		return stream.Send(resp)
	})
}
