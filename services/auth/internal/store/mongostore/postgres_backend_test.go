package mongostore_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/trickle-auth/trickle/deploy/testenv"
	"github.com/trickle-auth/trickle/deploy/testenv/ferret"
	"github.com/trickle-auth/trickle/deploy/testenv/sqltest"
	"github.com/trickle-auth/trickle/services/auth/internal/store"
	"github.com/trickle-auth/trickle/services/auth/internal/store/mongostore"
	"github.com/trickle-auth/trickle/services/auth/internal/store/storetest"
)

// The store must also hold on FerretDB's PostgreSQL backend, whose rules
// differ from SQLite's (it refused the NUL byte the first design used).
func TestConformanceOnFerretDBPostgreSQL(t *testing.T) {
	dsn, _ := sqltest.Postgres(t)
	// FerretDB logs failed statements with their documents: keep them out.
	f, err := ferret.StartPostgreSQL(dsn, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		testenv.Unavailable(t, "FerretDB on PostgreSQL", err)
	}
	t.Cleanup(f.Stop)
	client, err := mongo.Connect(options.Client().ApplyURI(f.URI()).SetTimeout(30 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	storetest.Run(t, func(t *testing.T) store.Backend {
		s, err := mongostore.New(context.Background(), client.Database(testenv.UniqueName("t_")))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
