package mongotest_test

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/trickle-auth/trickle/deploy/testenv/mongotest"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

// The user store relies on compound unique indexes; the embedded server must
// enforce them like MongoDB does.
func TestCompoundUniqueIndexIsEnforced(t *testing.T) {
	db := mongotest.Database(t)
	ctx := context.Background()
	coll := db.Collection("users")
	_, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "connection", Value: 1}, {Key: "email", Value: 1}},
		Options: options.Index().SetUnique(true),
	})
	if err != nil {
		t.Fatalf("create index: %v", err)
	}
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "connection", Value: "a"}, {Key: "email", Value: "x@example.com"}}); err != nil {
		t.Fatalf("first insert: %v", err)
	}
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "connection", Value: "b"}, {Key: "email", Value: "x@example.com"}}); err != nil {
		t.Fatalf("same email in another connection must be allowed: %v", err)
	}
	_, err = coll.InsertOne(ctx, bson.D{{Key: "connection", Value: "a"}, {Key: "email", Value: "x@example.com"}})
	if !mongo.IsDuplicateKeyError(err) {
		t.Fatalf("duplicate insert: got %v, want a duplicate key error", err)
	}
	n, err := coll.CountDocuments(ctx, bson.D{})
	if err != nil || n != 2 {
		t.Fatalf("count = %d, %v; want 2", n, err)
	}
}

func TestDatabasesAreIsolated(t *testing.T) {
	a, b := mongotest.Database(t), mongotest.Database(t)
	if a.Name() == b.Name() {
		t.Fatalf("two tests share database %q", a.Name())
	}
	ctx := context.Background()
	if _, err := a.Collection("c").InsertOne(ctx, bson.D{{Key: "k", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	n, err := b.Collection("c").CountDocuments(ctx, bson.D{})
	if err != nil || n != 0 {
		t.Fatalf("other database sees %d documents (%v)", n, err)
	}
}
