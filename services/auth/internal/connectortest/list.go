package connectortest

import (
	"cmp"
	"slices"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

// compareIDs orders legacy ids numerically when both are integers (as SQL
// connectors order integer keys), otherwise as strings.
func compareIDs(a, b string) int {
	x, errA := strconv.ParseInt(a, 10, 64)
	y, errB := strconv.ParseInt(b, 10, 64)
	if errA == nil && errB == nil {
		return cmp.Compare(x, y)
	}
	return cmp.Compare(a, b)
}

// ListUsers implements LegacyConnectorServer: every user after
// start_after_legacy_id in legacy-id order, with password hashes only when
// asked.
func (s *Server) ListUsers(req *connectorv1.ListUsersRequest, stream grpc.ServerStreamingServer[connectorv1.ListUsersResponse]) error {
	s.ListCalls.Add(1)
	if err := s.unimplemented("ListUsers"); err != nil {
		return err
	}
	if _, err := s.enter(stream.Context()); err != nil {
		return err
	}
	s.mu.Lock()
	seen := map[*User]bool{}
	var all []*connectorv1.LegacyProfile
	for _, u := range s.users {
		if !seen[u] {
			seen[u] = true
			all = append(all, proto.CloneOf(u.Profile))
		}
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b *connectorv1.LegacyProfile) int { return compareIDs(a.GetLegacyId(), b.GetLegacyId()) })
	sent := int64(0)
	for _, p := range all {
		if after := req.GetStartAfterLegacyId(); after != "" && compareIDs(p.GetLegacyId(), after) <= 0 {
			continue
		}
		if req.GetLimit() > 0 && sent >= req.GetLimit() {
			break
		}
		if !req.GetIncludePasswordHashes() {
			p.PasswordHash = nil
		}
		if err := stream.Send(&connectorv1.ListUsersResponse{Profile: p}); err != nil {
			return err
		}
		sent++
	}
	return nil
}
