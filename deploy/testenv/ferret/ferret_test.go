package ferret_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/trickle-auth/trickle/deploy/testenv/ferret"
)

// Data written before Stop is there after the next Start on the same dir:
// the local runner keeps its users across restarts.
func TestStartKeepsDataAcrossRestarts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ferretdb")
	write := func(f *ferret.Embedded, doc bson.D) int64 {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := mongo.Connect(options.Client().ApplyURI(f.URI()))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Disconnect(ctx) }()
		coll := c.Database("t").Collection("c")
		if doc != nil {
			if _, err := coll.InsertOne(ctx, doc); err != nil {
				t.Fatal(err)
			}
		}
		n, err := coll.CountDocuments(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	f, err := ferret.Start(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := write(f, bson.D{{Key: "x", Value: 1}}); n != 1 {
		t.Fatalf("count %d", n)
	}
	f.Stop()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("data dir: %v", err)
	}
	f, err = ferret.Start(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop()
	if n := write(f, nil); n != 1 {
		t.Fatalf("after restart: count %d, want 1", n)
	}
}
