// Package mongotest gives tests a real MongoDB wire-protocol server: the one
// at MONGODB_URI when set, otherwise FerretDB v1 on SQLite started in-process
// in a temporary directory, once per test binary.
//
// FerretDB is a test-only dependency: only _test files import this package,
// so no production binary links it.
package mongotest

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/trickle-auth/trickle/deploy/testenv"
	"github.com/trickle-auth/trickle/deploy/testenv/ferret"
)

var (
	startOnce sync.Once
	server    *embedded
	startErr  error
)

type embedded struct {
	f   *ferret.Embedded
	uri string
	dir string
}

// Main runs the package's tests and then stops the embedded server, if one
// was started. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if server != nil {
		server.stop()
	}
	os.Exit(code)
}

// URI returns the address of a MongoDB-compatible server, starting FerretDB
// when MONGODB_URI is unset. A failure to start fails the test under CI.
func URI(t testing.TB) string {
	t.Helper()
	if uri := os.Getenv("MONGODB_URI"); uri != "" {
		return uri
	}
	startOnce.Do(func() { server, startErr = startFerretDB() })
	if startErr != nil {
		testenv.Unavailable(t, "FerretDB", startErr)
	}
	return server.uri
}

// Database returns a fresh database, dropped when the test ends, on a
// client that is disconnected then.
func Database(t testing.TB) *mongo.Database {
	t.Helper()
	uri := URI(t)
	client, err := mongo.Connect(options.Client().ApplyURI(uri).SetTimeout(30 * time.Second))
	if err != nil {
		testenv.Unavailable(t, "MongoDB", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Ping(ctx, nil); err != nil {
		_ = client.Disconnect(context.Background())
		testenv.Unavailable(t, "MongoDB at "+uri, err)
	}
	db := client.Database(testenv.UniqueName("t_"))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = db.Drop(ctx)
		_ = client.Disconnect(ctx)
	})
	return db
}

func startFerretDB() (*embedded, error) {
	dir, err := os.MkdirTemp("", "trickle-ferretdb-")
	if err != nil {
		return nil, err
	}
	f, err := ferret.Start(dir, nil)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return &embedded{f: f, uri: f.URI(), dir: dir}, nil
}

func (e *embedded) stop() {
	e.f.Stop()
	_ = os.RemoveAll(e.dir)
}
