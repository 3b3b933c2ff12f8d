package mongostore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/trickle-auth/trickle/services/auth/internal/store"
)

// LegacyIDs returns the legacy id -> user id of every user of the
// connection that came from the legacy store, in one pass: on FerretDB
// only _id lookups are indexed, so a bulk import reads this once instead
// of looking each legacy id up.
func (s *Store) LegacyIDs(ctx context.Context, connection string) (map[string]string, error) {
	cur, err := s.users.Find(ctx, bson.D{{Key: "connection", Value: connection}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "legacy_id", Value: 1}}).SetBatchSize(10000))
	if err != nil {
		return nil, fmt.Errorf("list legacy ids: %w", err)
	}
	defer cur.Close(ctx)
	out := map[string]string{}
	for cur.Next(ctx) {
		var d struct {
			ID       string `bson:"_id"`
			LegacyID string `bson:"legacy_id"`
		}
		if err := cur.Decode(&d); err != nil {
			return nil, fmt.Errorf("list legacy ids: %w", err)
		}
		if d.LegacyID != "" {
			out[d.LegacyID] = d.ID
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("list legacy ids: %w", err)
	}
	return out, nil
}

// ListTombstones returns every tombstone of the connection.
func (s *Store) ListTombstones(ctx context.Context, connection string) ([]store.Tombstone, error) {
	cur, err := s.tombstones.Find(ctx, bson.D{{Key: "connection", Value: connection}})
	if err != nil {
		return nil, fmt.Errorf("list tombstones: %w", err)
	}
	var docs []tombstoneDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list tombstones: %w", err)
	}
	out := make([]store.Tombstone, len(docs))
	for i, d := range docs {
		out[i] = store.Tombstone{Connection: d.Connection, UserID: d.UserID, LegacyID: d.LegacyID, Email: d.Email, Username: d.Username, DeletedAt: d.DeletedAt}
	}
	return out, nil
}

// CreateMany inserts users like Create, in one unordered insert: each user
// is inserted or refused on its own (a unique insert, atomic per user on
// MongoDB and FerretDB alike). errs[i] is nil or a *store.DuplicateError
// (Field is "" when the server does not say which index); err is any
// other failure, after which some users may be inserted.
func (s *Store) CreateMany(ctx context.Context, users []*store.User) (errs []error, err error) {
	errs = make([]error, len(users))
	if len(users) == 0 {
		return errs, nil
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	docs := make([]any, len(users))
	for i, u := range users {
		if u.ID == "" {
			id, err := uuid.NewV7()
			if err != nil {
				return nil, err
			}
			u.ID = id.String()
		}
		if u.CreatedAt.IsZero() {
			u.CreatedAt = now
		}
		if u.UpdatedAt.IsZero() {
			u.UpdatedAt = u.CreatedAt
		}
		u.Email, u.Username = store.Normalize(u.Email), store.Normalize(u.Username)
		docs[i] = toDoc(u)
	}
	_, err = s.users.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	if err == nil {
		return errs, nil
	}
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return nil, fmt.Errorf("insert users: %w", err)
	}
	for _, we := range bwe.WriteErrors {
		if we.Index < 0 || we.Index >= len(users) {
			return nil, fmt.Errorf("insert users: write error for index %d", we.Index)
		}
		if !mongo.IsDuplicateKeyError(we) && !strings.Contains(we.Message, "UNIQUE constraint failed") {
			return nil, fmt.Errorf("insert users: %w", we)
		}
		field := ""
		switch {
		case strings.Contains(we.Message, indexUsername):
			field = "username"
		case strings.Contains(we.Message, indexEmail):
			field = "email"
		}
		errs[we.Index] = &store.DuplicateError{Field: field}
	}
	return errs, nil
}
