package mongostore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/trickle-auth/trickle/services/auth/internal/store"
)

// FindByLegacyID implements store.LegacyFinder.
func (s *Store) FindByLegacyID(ctx context.Context, connection, legacyID string) (*store.User, error) {
	if legacyID == "" {
		return nil, store.ErrNotFound
	}
	return s.findOne(ctx, bson.D{{Key: "connection", Value: connection}, {Key: "legacy_id", Value: legacyID}})
}

// List implements store.Admin.
func (s *Store) List(ctx context.Context, q store.ListQuery) ([]*store.User, bool, error) {
	filter := bson.D{}
	if q.Connection != "" {
		filter = append(filter, bson.E{Key: "connection", Value: q.Connection})
	}
	if p := store.Normalize(q.EmailPrefix); p != "" {
		filter = append(filter, bson.E{Key: "email", Value: bson.D{{Key: "$regex", Value: "^" + regexp.QuoteMeta(p)}}})
	}
	if !q.MigratedSince.IsZero() {
		filter = append(filter, bson.E{Key: "migrated_at", Value: bson.D{{Key: "$gte", Value: q.MigratedSince.UTC()}}})
	}
	if q.Origin != "" {
		filter = append(filter, bson.E{Key: "origin", Value: string(q.Origin)})
	}
	if q.After != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: q.After}}})
	}
	limit := max(q.Limit, 1)
	cur, err := s.users.Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit)+1))
	if err != nil {
		return nil, false, fmt.Errorf("list users: %w", err)
	}
	var docs []userDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, false, fmt.Errorf("list users: %w", err)
	}
	more := len(docs) > limit
	if more {
		docs = docs[:limit]
	}
	users := make([]*store.User, len(docs))
	for i := range docs {
		users[i] = fromDoc(&docs[i])
	}
	return users, more, nil
}

// UpdateProfile implements store.Admin.
func (s *Store) UpdateProfile(ctx context.Context, u *store.User, prev time.Time) error {
	u.Email, u.Username = store.Normalize(u.Email), store.Normalize(u.Username)
	// Strictly later than prev, so the next compare-and-set sees a change
	// even within one millisecond.
	now := time.Now().UTC().Truncate(time.Millisecond)
	if !now.After(prev) {
		now = prev.UTC().Add(time.Millisecond)
	}
	d := toDoc(u)
	set := bson.D{
		{Key: "email", Value: d.Email}, {Key: "email_key", Value: d.EmailKey}, {Key: "email_verified", Value: d.EmailVerified},
		{Key: "username_key", Value: d.UsernameKey}, {Key: "updated_at", Value: now},
	}
	var unset bson.D
	for _, f := range []struct {
		key, value string
	}{
		{"username", d.Username}, {"name", d.Name}, {"given_name", d.GivenName}, {"family_name", d.FamilyName},
		{"nickname", d.Nickname}, {"picture", d.Picture}, {"phone_number", d.PhoneNumber},
	} {
		if f.value == "" {
			unset = append(unset, bson.E{Key: f.key, Value: ""})
		} else {
			set = append(set, bson.E{Key: f.key, Value: f.value})
		}
	}
	for _, m := range []struct {
		key   string
		value map[string]any
	}{{"user_metadata", d.UserMetadata}, {"app_metadata", d.AppMetadata}} {
		if len(m.value) == 0 {
			unset = append(unset, bson.E{Key: m.key, Value: ""})
		} else {
			set = append(set, bson.E{Key: m.key, Value: m.value})
		}
	}
	update := bson.D{{Key: "$set", Value: set}}
	if len(unset) > 0 {
		update = append(update, bson.E{Key: "$unset", Value: unset})
	}
	res, err := s.users.UpdateOne(ctx, bson.D{{Key: "_id", Value: u.ID}, {Key: "updated_at", Value: prev.UTC()}}, update)
	if err != nil {
		return s.duplicateOr(ctx, err, &d, "update user")
	}
	if res.MatchedCount == 0 {
		if _, err := s.Get(ctx, u.ID); err != nil {
			return err
		}
		return store.ErrConflict
	}
	u.UpdatedAt = now
	return nil
}

// SetBlocked implements store.Admin.
func (s *Store) SetBlocked(ctx context.Context, id string, blocked bool) (*store.User, error) {
	var d userDoc
	err := s.users.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "blocked", Value: blocked}, {Key: "updated_at", Value: time.Now().UTC().Truncate(time.Millisecond)}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("block user: %w", err)
	}
	// After the flag is written: a ticket issued before this call is dead,
	// one issued after it sees the flag (and is refused while blocked).
	if err := s.RevokeTickets(ctx, store.TicketSubject(d.Connection, d.ID, d.LegacyID)); err != nil {
		return nil, fmt.Errorf("block user: %w", err)
	}
	return fromDoc(&d), nil
}

type tombstoneDoc struct {
	UserID     string    `bson:"_id"`
	Connection string    `bson:"connection"`
	LegacyID   string    `bson:"legacy_id,omitempty"`
	Email      string    `bson:"email,omitempty"`
	Username   string    `bson:"username,omitempty"`
	DeletedAt  time.Time `bson:"deleted_at"`
}

// Delete implements store.Admin.
func (s *Store) Delete(ctx context.Context, id string, tombstone bool, at time.Time) (*store.User, error) {
	u, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if tombstone {
		// Keyed by user id: deleting again after a failure rewrites the same
		// tombstone.
		doc := tombstoneDoc{UserID: u.ID, Connection: u.Connection, LegacyID: u.LegacyID, Email: u.Email, Username: u.Username, DeletedAt: at.UTC()}
		if _, err := s.tombstones.ReplaceOne(ctx, bson.D{{Key: "_id", Value: u.ID}}, doc, options.Replace().SetUpsert(true)); err != nil {
			return nil, fmt.Errorf("write tombstone: %w", err)
		}
	}
	res, err := s.users.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return nil, fmt.Errorf("delete user: %w", err)
	}
	if res.DeletedCount == 0 {
		return nil, store.ErrNotFound // deleted concurrently
	}
	return u, nil
}

// FindTombstone implements store.Tombstones.
func (s *Store) FindTombstone(ctx context.Context, connection, legacyID string, identifiers ...string) (*store.Tombstone, error) {
	var or bson.A
	if legacyID != "" {
		or = append(or, bson.D{{Key: "legacy_id", Value: legacyID}})
	}
	var ids bson.A
	for _, i := range identifiers {
		if n := store.Normalize(i); n != "" {
			ids = append(ids, n)
		}
	}
	if len(ids) > 0 {
		or = append(or, bson.D{{Key: "email", Value: bson.D{{Key: "$in", Value: ids}}}},
			bson.D{{Key: "username", Value: bson.D{{Key: "$in", Value: ids}}}})
	}
	if len(or) == 0 {
		return nil, store.ErrNotFound
	}
	var d tombstoneDoc
	err := s.tombstones.FindOne(ctx, bson.D{{Key: "connection", Value: connection}, {Key: "$or", Value: or}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find tombstone: %w", err)
	}
	return &store.Tombstone{Connection: d.Connection, UserID: d.UserID, LegacyID: d.LegacyID, Email: d.Email, Username: d.Username, DeletedAt: d.DeletedAt}, nil
}
