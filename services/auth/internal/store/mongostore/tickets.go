package mongostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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
	Subject    string    `bson:"subject"`
	Epoch      int64     `bson:"epoch"`
	CreatedAt  time.Time `bson:"created_at"`
	ExpiresAt  time.Time `bson:"expires_at"`
}

// epochDoc records that an epoch of a subject ended. Its _id makes the end
// of an epoch happen once (see store.Ticket). Only the latest one of a
// subject matters: the current epoch is one past it; older ones are
// deleted.
type epochDoc struct {
	ID      string    `bson:"_id"`
	Subject string    `bson:"subject"`
	Epoch   int64     `bson:"epoch"`
	Reason  string    `bson:"reason"`
	At      time.Time `bson:"at"`
}

func epochID(subject string, epoch int64) string {
	return subject + " #" + strconv.FormatInt(epoch, 10)
}

func toTicketDoc(t *store.Ticket) ticketDoc {
	return ticketDoc{
		Hash: t.Hash, Connection: t.Connection, UserID: t.UserID, Identifier: t.Identifier, LegacyID: t.LegacyID,
		Subject: t.Subject, Epoch: t.Epoch, CreatedAt: t.CreatedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC(),
	}
}

// currentEpoch is one past the subject's last ended epoch (0 if none).
func (s *Store) currentEpoch(ctx context.Context, subject string) (int64, error) {
	var d epochDoc
	err := s.epochs.FindOne(ctx, bson.D{{Key: "subject", Value: subject}},
		options.FindOne().SetSort(bson.D{{Key: "epoch", Value: -1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read reset epoch: %w", err)
	}
	return d.Epoch + 1, nil
}

// endEpoch ends the subject's epoch; false if it had already ended.
func (s *Store) endEpoch(ctx context.Context, subject string, epoch int64, reason string) (bool, error) {
	_, err := s.epochs.InsertOne(ctx, epochDoc{ID: epochID(subject, epoch), Subject: subject, Epoch: epoch, Reason: reason, At: time.Now().UTC()})
	if isDuplicateKey(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("end reset epoch: %w", err)
	}
	// Tidy up: older epoch records and the tickets of ended epochs can
	// never matter again (the current epoch is read from the latest).
	_, _ = s.epochs.DeleteMany(ctx, bson.D{{Key: "subject", Value: subject}, {Key: "epoch", Value: bson.D{{Key: "$lt", Value: epoch}}}})
	_, _ = s.tickets.DeleteMany(ctx, bson.D{{Key: "subject", Value: subject}, {Key: "epoch", Value: bson.D{{Key: "$lte", Value: epoch}}}})
	return true, nil
}

// CreateTicket implements store.Tickets.
func (s *Store) CreateTicket(ctx context.Context, t *store.Ticket, keep int) error {
	if t.Subject == "" {
		return errors.New("create reset ticket: no subject")
	}
	// Tidy up: expired tickets can never matter again.
	_, _ = s.tickets.DeleteMany(ctx, bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lte", Value: t.CreatedAt.UTC()}}}})
	epoch, err := s.currentEpoch(ctx, t.Subject)
	if err != nil {
		return err
	}
	t.Epoch = epoch
	if _, err := s.tickets.InsertOne(ctx, toTicketDoc(t)); err != nil {
		return fmt.Errorf("create reset ticket: %w", err)
	}
	s.pruneTickets(ctx, t.Subject, epoch, keep)
	return nil
}

// newestFirst orders a subject's tickets; the hash breaks ties between
// tickets created in the same millisecond.
var newestFirst = bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}

// pruneTickets deletes the subject's tickets that cannot work any more:
// those of older epochs and those beyond the keep newest. Concurrent
// pruners can only delete tickets that are dead already (a ticket with keep
// newer ones stays dead as tickets are added), so this is only tidying;
// RedeemTicket decides.
func (s *Store) pruneTickets(ctx context.Context, subject string, epoch int64, keep int) {
	_, _ = s.tickets.DeleteMany(ctx, bson.D{{Key: "subject", Value: subject}, {Key: "epoch", Value: bson.D{{Key: "$lt", Value: epoch}}}})
	cur, err := s.tickets.Find(ctx, bson.D{{Key: "subject", Value: subject}, {Key: "epoch", Value: epoch}},
		options.Find().SetSort(newestFirst).SetSkip(int64(max(keep, 1))).SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return
	}
	var old []struct {
		Hash string `bson:"_id"`
	}
	if cur.All(ctx, &old) != nil || len(old) == 0 {
		return
	}
	ids := make(bson.A, len(old))
	for i, o := range old {
		ids[i] = o.Hash
	}
	_, _ = s.tickets.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
}

// RedeemTicket implements store.Tickets. Single use comes from ending the
// epoch (a unique insert); findOneAndDelete would look natural but
// FerretDB v1 does not make it atomic (measured: 50 concurrent
// redemptions of one ticket, 7 winners).
func (s *Store) RedeemTicket(ctx context.Context, hash string, now time.Time, keep int) (*store.Ticket, error) {
	var d ticketDoc
	err := s.tickets.FindOne(ctx, bson.D{
		{Key: "_id", Value: hash},
		{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now.UTC()}}},
	}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) || (err == nil && d.Subject == "") {
		// Tickets stored before reset epochs existed have no subject: they
		// are refused (they expire within the ticket TTL anyway).
		return nil, store.ErrTicketInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("redeem reset ticket: %w", err)
	}
	newer, err := s.tickets.CountDocuments(ctx, bson.D{
		{Key: "subject", Value: d.Subject}, {Key: "epoch", Value: d.Epoch},
		{Key: "$or", Value: bson.A{
			bson.D{{Key: "created_at", Value: bson.D{{Key: "$gt", Value: d.CreatedAt}}}},
			bson.D{{Key: "created_at", Value: d.CreatedAt}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: d.Hash}}}},
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("redeem reset ticket: %w", err)
	}
	if newer >= int64(max(keep, 1)) {
		return nil, store.ErrTicketInvalid
	}
	epoch, err := s.currentEpoch(ctx, d.Subject)
	if err != nil {
		return nil, fmt.Errorf("redeem reset ticket: %w", err)
	}
	if d.Epoch != epoch {
		return nil, store.ErrTicketInvalid
	}
	won, err := s.endEpoch(ctx, d.Subject, d.Epoch, "reset")
	if err != nil {
		return nil, fmt.Errorf("redeem reset ticket: %w", err)
	}
	if !won {
		return nil, store.ErrTicketInvalid
	}
	return &store.Ticket{
		Hash: d.Hash, Connection: d.Connection, UserID: d.UserID, Identifier: d.Identifier, LegacyID: d.LegacyID,
		Subject: d.Subject, Epoch: d.Epoch, CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt,
	}, nil
}

// RestoreTicket implements store.Tickets. The ticket moves to the epoch its
// redemption opened, if that is still the current one; should a revocation
// end that epoch concurrently, the restored ticket dies with it.
func (s *Store) RestoreTicket(ctx context.Context, t *store.Ticket) error {
	epoch, err := s.currentEpoch(ctx, t.Subject)
	if err != nil {
		return fmt.Errorf("restore reset ticket: %w", err)
	}
	if epoch != t.Epoch+1 {
		return store.ErrTicketInvalid
	}
	t.Epoch = epoch
	d := toTicketDoc(t)
	if _, err := s.tickets.ReplaceOne(ctx, bson.D{{Key: "_id", Value: t.Hash}}, d, options.Replace().SetUpsert(true)); err != nil {
		return fmt.Errorf("restore reset ticket: %w", err)
	}
	return nil
}

// RevokeTickets implements store.Tickets. If another writer ends the same
// epoch first, every ticket issued before this call is dead all the same.
func (s *Store) RevokeTickets(ctx context.Context, subject string) error {
	epoch, err := s.currentEpoch(ctx, subject)
	if err != nil {
		return fmt.Errorf("revoke reset tickets: %w", err)
	}
	if _, err := s.endEpoch(ctx, subject, epoch, "revoke"); err != nil {
		return fmt.Errorf("revoke reset tickets: %w", err)
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
