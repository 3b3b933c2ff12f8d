package mongostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/trickle-auth/trickle/services/auth/internal/store"
)

type ticketDoc struct {
	Hash       string    `bson:"_id"`
	Connection string    `bson:"connection"`
	UserID     string    `bson:"user_id,omitempty"`
	Identifier string    `bson:"identifier,omitempty"`
	LegacyID   string    `bson:"legacy_id,omitempty"`
	CreatedAt  time.Time `bson:"created_at"`
	ExpiresAt  time.Time `bson:"expires_at"`
}

// CreateTicket implements store.Tickets.
func (s *Store) CreateTicket(ctx context.Context, t *store.Ticket) error {
	// Tidy up: expired tickets and their claims can never matter again.
	expired := bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lte", Value: t.CreatedAt.UTC()}}}}
	_, _ = s.tickets.DeleteMany(ctx, expired)
	_, _ = s.claims.DeleteMany(ctx, expired)
	_, err := s.tickets.InsertOne(ctx, ticketDoc{
		Hash: t.Hash, Connection: t.Connection, UserID: t.UserID, Identifier: t.Identifier, LegacyID: t.LegacyID,
		CreatedAt: t.CreatedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC(),
	})
	if err != nil {
		return fmt.Errorf("create reset ticket: %w", err)
	}
	return nil
}

// RedeemTicket implements store.Tickets. findOneAndDelete would be the
// natural single-use primitive, but FerretDB v1 does not make it atomic
// (measured: 50 concurrent redemptions of one ticket, 7 winners). A unique
// _id insert is atomic on both servers, so the winner is whoever inserts
// the claim document keyed by the ticket hash.
func (s *Store) RedeemTicket(ctx context.Context, hash string, now time.Time) (*store.Ticket, error) {
	var d ticketDoc
	err := s.tickets.FindOne(ctx, bson.D{
		{Key: "_id", Value: hash},
		{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now.UTC()}}},
	}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, store.ErrTicketInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("redeem reset ticket: %w", err)
	}
	_, err = s.claims.InsertOne(ctx, bson.D{{Key: "_id", Value: hash}, {Key: "expires_at", Value: d.ExpiresAt}})
	if isDuplicateKey(err) {
		return nil, store.ErrTicketInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("redeem reset ticket: %w", err)
	}
	// The claim alone makes the ticket unusable; this only tidies up.
	_, _ = s.tickets.DeleteOne(ctx, bson.D{{Key: "_id", Value: hash}})
	return &store.Ticket{
		Hash: d.Hash, Connection: d.Connection, UserID: d.UserID, Identifier: d.Identifier, LegacyID: d.LegacyID,
		CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt,
	}, nil
}

// RestoreTicket implements store.Tickets.
func (s *Store) RestoreTicket(ctx context.Context, t *store.Ticket) error {
	_, err := s.tickets.InsertOne(ctx, ticketDoc{
		Hash: t.Hash, Connection: t.Connection, UserID: t.UserID, Identifier: t.Identifier, LegacyID: t.LegacyID,
		CreatedAt: t.CreatedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC(),
	})
	if err != nil && !isDuplicateKey(err) {
		return fmt.Errorf("restore reset ticket: %w", err)
	}
	if _, err := s.claims.DeleteOne(ctx, bson.D{{Key: "_id", Value: t.Hash}}); err != nil {
		return fmt.Errorf("restore reset ticket: %w", err)
	}
	return nil
}

// CountUsers implements store.Stats.
func (s *Store) CountUsers(ctx context.Context, connection string) (*store.MigrationCounts, error) {
	c := &store.MigrationCounts{}
	var err error
	migrated := bson.D{{Key: "connection", Value: connection}, {Key: "migrated_at", Value: bson.D{{Key: "$exists", Value: true}}}}
	if c.Migrated, err = s.users.CountDocuments(ctx, migrated); err != nil {
		return nil, fmt.Errorf("count migrated users: %w", err)
	}
	if c.Native, err = s.users.CountDocuments(ctx, bson.D{{Key: "connection", Value: connection}, {Key: "origin", Value: string(store.OriginSignup)}}); err != nil {
		return nil, fmt.Errorf("count native users: %w", err)
	}
	if c.Migrated == 0 {
		return c, nil
	}
	for _, x := range []struct {
		dir int
		dst *time.Time
	}{{1, &c.FirstMigration}, {-1, &c.LastMigration}} {
		var d struct {
			MigratedAt time.Time `bson:"migrated_at"`
		}
		err := s.users.FindOne(ctx, migrated, options.FindOne().
			SetSort(bson.D{{Key: "migrated_at", Value: x.dir}}).SetProjection(bson.D{{Key: "migrated_at", Value: 1}})).Decode(&d)
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			return nil, fmt.Errorf("migration times: %w", err)
		}
		*x.dst = d.MigratedAt
	}
	return c, nil
}

// Legacy logins are stored as one small document per login (insert-only)
// and counted with an index range on (connection, at). Per-minute counters
// with $inc upserts would be fewer documents, but FerretDB v1 loses
// concurrent $inc updates of one document (measured: 30 concurrent
// increments counted 8), while inserts are always safe. The volume is that
// of first logins, which already cost a connector call and an insert.
// Events older than two days are deleted at most once a minute per process.
type legacyLoginDoc struct {
	Connection string    `bson:"connection"`
	At         time.Time `bson:"at"`
}

// RecordLegacyLogin implements store.Stats.
func (s *Store) RecordLegacyLogin(ctx context.Context, connection string, at time.Time) error {
	if _, err := s.legacyLogins.InsertOne(ctx, legacyLoginDoc{Connection: connection, At: at.UTC()}); err != nil {
		return fmt.Errorf("record legacy login: %w", err)
	}
	minute := at.Unix() / 60
	if last := s.lastPrune.Load(); minute > last && s.lastPrune.CompareAndSwap(last, minute) {
		_, _ = s.legacyLogins.DeleteMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: at.UTC().Add(-legacyLoginsKeep)}}}})
	}
	return nil
}

// LegacyLogins implements store.Stats.
func (s *Store) LegacyLogins(ctx context.Context, connection string, since time.Time) (int64, error) {
	n, err := s.legacyLogins.CountDocuments(ctx, bson.D{
		{Key: "connection", Value: connection},
		{Key: "at", Value: bson.D{{Key: "$gte", Value: since.UTC()}}},
	})
	if err != nil {
		return 0, fmt.Errorf("legacy logins: %w", err)
	}
	return n, nil
}
