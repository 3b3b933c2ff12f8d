// Package mongostore is the MongoDB implementation of the user store. It
// stays within what MongoDB and FerretDB both support: single-document
// writes, plain (non-partial) unique indexes.
package mongostore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/trickle-auth/trickle/services/auth/internal/store"
)

// Collections.
const (
	usersCollection      = "users"
	tombstonesCollection = "tombstones"
	ticketsCollection    = "reset_tickets"
	epochsCollection     = "reset_epochs"
	legacyLoginsColl     = "legacy_logins"
)

// legacyLoginsKeep is how long legacy login events are kept
// (the status reports the last day).
const legacyLoginsKeep = 48 * time.Hour

// Unique indexes cannot be partial on FerretDB, and a plain unique index
// treats every missing username as the same null value. So each user stores
// an email_key and a username_key: the normalized value when there is one,
// otherwise noKeyMark + the user's id, which is unique and can never equal
// a login identifier (identifiers with control characters are refused). The
// mark is not NUL: FerretDB on PostgreSQL cannot store NUL in strings.
const noKeyMark = "\x01"

const (
	indexLegacy   = "connection_legacy_key_unique"
	indexEmail    = "connection_email_key_unique"
	indexUsername = "connection_username_key_unique"
)

// Store is the MongoDB user store.
type Store struct {
	db           *mongo.Database
	users        *mongo.Collection
	tombstones   *mongo.Collection
	tickets      *mongo.Collection
	epochs       *mongo.Collection
	legacyLogins *mongo.Collection
	lastPrune    atomic.Int64 // unix minute of the last legacy_logins pruning
}

var _ store.Backend = (*Store)(nil)

// New returns a store on the database and makes sure its indexes exist.
func New(ctx context.Context, db *mongo.Database) (*Store, error) {
	s := &Store{
		db: db, users: db.Collection(usersCollection), tombstones: db.Collection(tombstonesCollection),
		tickets: db.Collection(ticketsCollection), epochs: db.Collection(epochsCollection), legacyLogins: db.Collection(legacyLoginsColl),
	}
	if err := ensureIndexes(ctx, s.users, []mongo.IndexModel{
		{
			Keys:    bson.D{{Key: "connection", Value: 1}, {Key: "email_key", Value: 1}},
			Options: options.Index().SetName(indexEmail).SetUnique(true),
		},
		{
			Keys:    bson.D{{Key: "connection", Value: 1}, {Key: "username_key", Value: 1}},
			Options: options.Index().SetName(indexUsername).SetUnique(true),
		},
		{
			Keys:    bson.D{{Key: "connection", Value: 1}, {Key: "migrated_at", Value: 1}},
			Options: options.Index().SetName("connection_migrated_at"),
		},
		{
			Keys:    bson.D{{Key: "connection", Value: 1}, {Key: "legacy_id", Value: 1}},
			Options: options.Index().SetName("connection_legacy_id"),
		},
		{
			// One copy per legacy user, even if its email changed in between
			// (a login and an import, or two logins under different
			// identifiers, racing).
			Keys:    bson.D{{Key: "connection", Value: 1}, {Key: "legacy_key", Value: 1}},
			Options: options.Index().SetName(indexLegacy).SetUnique(true),
		},
	}); err != nil {
		return nil, fmt.Errorf("create user indexes: %w", err)
	}
	if err := ensureIndexes(ctx, s.tombstones, []mongo.IndexModel{
		{Keys: bson.D{{Key: "connection", Value: 1}, {Key: "legacy_id", Value: 1}}, Options: options.Index().SetName("connection_legacy_id")},
		{Keys: bson.D{{Key: "connection", Value: 1}, {Key: "email", Value: 1}}, Options: options.Index().SetName("connection_email")},
		{Keys: bson.D{{Key: "connection", Value: 1}, {Key: "username", Value: 1}}, Options: options.Index().SetName("connection_username")},
	}); err != nil {
		return nil, fmt.Errorf("create tombstone indexes: %w", err)
	}
	// FerretDB v1 has no TTL indexes: expired tickets and old counters are
	// deleted by the writes that add new ones (see CreateTicket and
	// RecordLegacyLogin); expiry itself is checked on every read.
	if err := ensureIndexes(ctx, s.tickets, []mongo.IndexModel{
		{Keys: bson.D{{Key: "expires_at", Value: 1}}, Options: options.Index().SetName("expires_at")},
		{Keys: bson.D{{Key: "subject", Value: 1}, {Key: "epoch", Value: 1}, {Key: "created_at", Value: 1}}, Options: options.Index().SetName("subject_epoch_created_at")},
	}); err != nil {
		return nil, fmt.Errorf("create ticket indexes: %w", err)
	}
	if err := ensureIndexes(ctx, s.epochs, []mongo.IndexModel{
		{Keys: bson.D{{Key: "subject", Value: 1}, {Key: "epoch", Value: 1}}, Options: options.Index().SetName("subject_epoch")},
	}); err != nil {
		return nil, fmt.Errorf("create reset epoch indexes: %w", err)
	}
	if err := ensureIndexes(ctx, s.legacyLogins, []mongo.IndexModel{
		{Keys: bson.D{{Key: "connection", Value: 1}, {Key: "at", Value: 1}}, Options: options.Index().SetName("connection_at")},
		{Keys: bson.D{{Key: "at", Value: 1}}, Options: options.Index().SetName("at")},
	}); err != nil {
		return nil, fmt.Errorf("create legacy login indexes: %w", err)
	}
	return s, nil
}

// ensureIndexes creates the indexes that do not exist yet, by name.
// (FerretDB v1 fails on createIndexes for indexes that already exist, so
// replicas starting later must not ask again.)
func ensureIndexes(ctx context.Context, coll *mongo.Collection, models []mongo.IndexModel) error {
	names, err := coll.Indexes().ListSpecifications(ctx)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, n := range names {
		have[n.Name] = true
	}
	for _, m := range models {
		var o options.IndexOptions
		for _, set := range m.Options.List() {
			_ = set(&o)
		}
		if o.Name != nil && have[*o.Name] {
			continue
		}
		if _, err := coll.Indexes().CreateOne(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// userDoc is the stored shape of a user.
type userDoc struct {
	ID            string         `bson:"_id"`
	Connection    string         `bson:"connection"`
	Email         string         `bson:"email"`
	EmailKey      string         `bson:"email_key"`
	EmailVerified bool           `bson:"email_verified"`
	Username      string         `bson:"username,omitempty"`
	UsernameKey   string         `bson:"username_key"`
	Name          string         `bson:"name,omitempty"`
	GivenName     string         `bson:"given_name,omitempty"`
	FamilyName    string         `bson:"family_name,omitempty"`
	Nickname      string         `bson:"nickname,omitempty"`
	Picture       string         `bson:"picture,omitempty"`
	PhoneNumber   string         `bson:"phone_number,omitempty"`
	UserMetadata  map[string]any `bson:"user_metadata,omitempty"`
	AppMetadata   map[string]any `bson:"app_metadata,omitempty"`
	PasswordHash  string         `bson:"password_hash"`
	LegacyID      string         `bson:"legacy_id,omitempty"`
	LegacyKey     string         `bson:"legacy_key"`
	Origin        string         `bson:"origin"`
	Blocked       bool           `bson:"blocked"`
	CreatedAt     time.Time      `bson:"created_at"`
	UpdatedAt     time.Time      `bson:"updated_at"`
	MigratedAt    *time.Time     `bson:"migrated_at,omitempty"`
	LastLoginAt   *time.Time     `bson:"last_login_at,omitempty"`
	LoginsCount   int64          `bson:"logins_count"`
}

func uniqueKey(value, id string) string {
	if value == "" {
		return noKeyMark + id
	}
	return value
}

func toDoc(u *store.User) userDoc {
	d := userDoc{
		ID: u.ID, Connection: u.Connection,
		Email: u.Email, EmailKey: uniqueKey(u.Email, u.ID), EmailVerified: u.EmailVerified,
		Username: u.Username, UsernameKey: uniqueKey(u.Username, u.ID),
		Name: u.Name, GivenName: u.GivenName, FamilyName: u.FamilyName, Nickname: u.Nickname,
		Picture: u.Picture, PhoneNumber: u.PhoneNumber,
		UserMetadata: u.UserMetadata, AppMetadata: u.AppMetadata,
		PasswordHash: u.PasswordHash, LegacyID: u.LegacyID, LegacyKey: uniqueKey(u.LegacyID, u.ID), Origin: string(u.Origin), Blocked: u.Blocked,
		CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(), LoginsCount: u.LoginsCount,
	}
	if !u.MigratedAt.IsZero() {
		t := u.MigratedAt.UTC()
		d.MigratedAt = &t
	}
	if !u.LastLoginAt.IsZero() {
		t := u.LastLoginAt.UTC()
		d.LastLoginAt = &t
	}
	return d
}

func fromDoc(d *userDoc) *store.User {
	u := &store.User{
		ID: d.ID, Connection: d.Connection, Email: d.Email, EmailVerified: d.EmailVerified,
		Username: d.Username, Name: d.Name, GivenName: d.GivenName, FamilyName: d.FamilyName,
		Nickname: d.Nickname, Picture: d.Picture, PhoneNumber: d.PhoneNumber,
		UserMetadata: normalizeMap(d.UserMetadata), AppMetadata: normalizeMap(d.AppMetadata),
		PasswordHash: d.PasswordHash, LegacyID: d.LegacyID, Origin: store.Origin(d.Origin), Blocked: d.Blocked,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, LoginsCount: d.LoginsCount,
	}
	if d.MigratedAt != nil {
		u.MigratedAt = *d.MigratedAt
	}
	if d.LastLoginAt != nil {
		u.LastLoginAt = *d.LastLoginAt
	}
	return u
}

// normalizeMap turns decoded BSON (bson.D, bson.A, int32...) back into the
// plain JSON-like values the API layer converts to protobuf Structs.
func normalizeMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = normalizeValue(v)
	}
	return out
}

func normalizeValue(v any) any {
	switch x := v.(type) {
	case bson.D:
		m := make(map[string]any, len(x))
		for _, e := range x {
			m[e.Key] = normalizeValue(e.Value)
		}
		return m
	case bson.M:
		return normalizeMap(x)
	case map[string]any:
		return normalizeMap(x)
	case bson.A:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeValue(e)
		}
		return out
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case bson.DateTime:
		return x.Time().UTC().Format(time.RFC3339Nano)
	default:
		return v
	}
}

// FindByIdentifier implements store.Store.
func (s *Store) FindByIdentifier(ctx context.Context, connection, identifier string) (*store.User, error) {
	id := store.Normalize(identifier)
	if id == "" || strings.ContainsAny(id, "\x00"+noKeyMark) {
		return nil, store.ErrNotFound
	}
	// Two equality lookups, email first, instead of one $or: FerretDB
	// pushes equality down to its backend's index but not $or, which
	// scanned every user on each login (see BENCHMARKS.md).
	u, err := s.findOne(ctx, bson.D{{Key: "connection", Value: connection}, {Key: "email_key", Value: id}})
	if !errors.Is(err, store.ErrNotFound) {
		return u, err
	}
	return s.findOne(ctx, bson.D{{Key: "connection", Value: connection}, {Key: "username_key", Value: id}})
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, id string) (*store.User, error) {
	return s.findOne(ctx, bson.D{{Key: "_id", Value: id}})
}

func (s *Store) findOne(ctx context.Context, filter bson.D) (*store.User, error) {
	var d userDoc
	err := s.users.FindOne(ctx, filter).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	return fromDoc(&d), nil
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, u *store.User) error {
	if u.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		u.ID = id.String()
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	u.Email, u.Username = store.Normalize(u.Email), store.Normalize(u.Username)
	d := toDoc(u)
	if _, err := s.users.InsertOne(ctx, d); err != nil {
		return s.duplicateOr(ctx, err, &d, "insert user")
	}
	return nil
}

// duplicateOr maps a duplicate-key error to *store.DuplicateError naming
// the field; other errors are wrapped with the operation. FerretDB does not
// name the violated index, so the field is found by looking at who holds the
// email key.
func (s *Store) duplicateOr(ctx context.Context, err error, d *userDoc, op string) error {
	if !isDuplicateKey(err) {
		return fmt.Errorf("%s: %w", op, err)
	}
	if strings.Contains(err.Error(), indexUsername) {
		return &store.DuplicateError{Field: "username"}
	}
	if strings.Contains(err.Error(), indexEmail) {
		return &store.DuplicateError{Field: "email"}
	}
	if strings.Contains(err.Error(), indexLegacy) {
		return &store.DuplicateError{Field: "legacy_id"}
	}
	if d.LegacyID != "" {
		n, cerr := s.users.CountDocuments(ctx, bson.D{
			{Key: "connection", Value: d.Connection},
			{Key: "legacy_key", Value: d.LegacyKey},
			{Key: "_id", Value: bson.D{{Key: "$ne", Value: d.ID}}},
		})
		if cerr == nil && n > 0 {
			return &store.DuplicateError{Field: "legacy_id"}
		}
	}
	n, cerr := s.users.CountDocuments(ctx, bson.D{
		{Key: "connection", Value: d.Connection},
		{Key: "email_key", Value: d.EmailKey},
		{Key: "_id", Value: bson.D{{Key: "$ne", Value: d.ID}}},
	})
	if cerr == nil && n == 0 {
		return &store.DuplicateError{Field: "username"}
	}
	return &store.DuplicateError{Field: "email"}
}

// isDuplicateKey recognises a unique index violation. FerretDB v1 reports
// one on insert as E11000 but one on update as an InternalError carrying
// SQLite's message.
func isDuplicateKey(err error) bool {
	if err == nil {
		return false
	}
	if mongo.IsDuplicateKeyError(err) {
		return true
	}
	// FerretDB v1 reports unique violations on update as an internal error
	// carrying its backend's message: SQLite's, or PostgreSQL's 23505.
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505")
}

// RecordLogin implements store.Store.
func (s *Store) RecordLogin(ctx context.Context, id string, at time.Time) error {
	res, err := s.users.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{
		{Key: "$inc", Value: bson.D{{Key: "logins_count", Value: int64(1)}}},
		{Key: "$set", Value: bson.D{{Key: "last_login_at", Value: at.UTC()}}},
	})
	if err != nil {
		return fmt.Errorf("record login: %w", err)
	}
	if res.MatchedCount == 0 {
		return store.ErrNotFound
	}
	return nil
}

// ReplacePasswordHash implements store.Store.
func (s *Store) ReplacePasswordHash(ctx context.Context, id, oldHash, newHash string) error {
	res, err := s.users.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "password_hash", Value: oldHash}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "password_hash", Value: newHash},
			{Key: "updated_at", Value: time.Now().UTC()},
		}}})
	if err != nil {
		return fmt.Errorf("replace password hash: %w", err)
	}
	if res.MatchedCount == 0 {
		if _, err := s.Get(ctx, id); err != nil {
			return err
		}
		return store.ErrConflict
	}
	return nil
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	return s.db.Client().Ping(ctx, nil)
}
