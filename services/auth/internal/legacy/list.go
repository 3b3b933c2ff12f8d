package legacy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

// Lister streams the legacy store's users (the connector's ListUsers), for
// bulk import and for exporting the users not migrated yet. Not every
// Connector is one; a connector that cannot enumerate answers
// ErrUnsupported.
type Lister interface {
	// ListUsers calls fn with every user after startAfter (exclusive, ""
	// from the start) in legacy-id order, at most limit users (0: all).
	// fn's error stops the stream and is returned as is.
	ListUsers(ctx context.Context, startAfter string, limit int64, withHashes bool, fn func(*connectorv1.LegacyProfile) error) error
}

// ErrListRefused: the connector refused the list request itself
// (INVALID_ARGUMENT, e.g. a start_after_legacy_id of the wrong type).
var ErrListRefused = errors.New("legacy: list request refused")

var (
	_ Lister = (*Client)(nil)
	_ Lister = (*Guarded)(nil)
)

// ListUsers implements Lister. A stream may run for minutes, so the
// deadline of every other call does not apply to the whole of it: it
// applies to the wait for each user instead (a stalled connector fails
// after one timeout).
func (c *Client) ListUsers(ctx context.Context, startAfter string, limit int64, withHashes bool, fn func(*connectorv1.LegacyProfile) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stalled := errors.New("connector stream stalled")
	idle := time.AfterFunc(c.timeout, func() { cancel(stalled) })
	defer idle.Stop()
	stream, err := c.rpc.ListUsers(ctx, &connectorv1.ListUsersRequest{
		StartAfterLegacyId: startAfter, IncludePasswordHashes: withHashes, Limit: limit,
	})
	if err != nil {
		return classify(err, opList)
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if errors.Is(context.Cause(ctx), stalled) {
				return fmt.Errorf("%w: no user from the connector within %s", ErrUnavailable, c.timeout)
			}
			if status.Code(err) == codes.InvalidArgument {
				return fmt.Errorf("%w: %s", ErrListRefused, status.Convert(err).Message())
			}
			return classify(err, opList)
		}
		idle.Stop()
		if resp.GetProfile() == nil {
			return fmt.Errorf("%w: list answered without a profile", ErrUnavailable)
		}
		if err := fn(resp.GetProfile()); err != nil {
			return err
		}
		idle.Reset(c.timeout)
	}
}

// ListUsers implements Lister. The stream holds one of the connector's
// slots while it runs; the breaker does not see it (one long stream says
// little about single calls).
func (g *Guarded) ListUsers(ctx context.Context, startAfter string, limit int64, withHashes bool, fn func(*connectorv1.LegacyProfile) error) error {
	l, ok := g.next.(Lister)
	if !ok {
		return ErrUnsupported
	}
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w: no free connector slot before the deadline", ErrUnavailable)
	}
	defer func() { <-g.slots }()
	return l.ListUsers(ctx, startAfter, limit, withHashes, fn)
}
