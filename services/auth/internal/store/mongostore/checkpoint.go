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

const checkpointsCollection = "import_checkpoints"

type checkpointDoc struct {
	Connection string    `bson:"_id"`
	LegacyID   string    `bson:"legacy_id"`
	UpdatedAt  time.Time `bson:"updated_at"`
}

// SaveImportCheckpoint remembers the last legacy id a bulk import of the
// connection processed completely. It is a plain upsert: the checkpoint
// only says where a resumed import may start, and starting earlier is
// harmless (the import is idempotent), so no conditional write is needed.
func (s *Store) SaveImportCheckpoint(ctx context.Context, connection, legacyID string, at time.Time) error {
	_, err := s.db.Collection(checkpointsCollection).ReplaceOne(ctx, bson.D{{Key: "_id", Value: connection}},
		checkpointDoc{Connection: connection, LegacyID: legacyID, UpdatedAt: at.UTC()}, options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("save import checkpoint: %w", err)
	}
	return nil
}

// ImportCheckpoint returns the connection's last saved checkpoint, or
// store.ErrNotFound.
func (s *Store) ImportCheckpoint(ctx context.Context, connection string) (string, time.Time, error) {
	var d checkpointDoc
	err := s.db.Collection(checkpointsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: connection}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", time.Time{}, store.ErrNotFound
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("read import checkpoint: %w", err)
	}
	return d.LegacyID, d.UpdatedAt, nil
}
