package mongostore_test

import (
	"context"
	"testing"

	"github.com/trickle-auth/trickle/deploy/testenv/mongotest"
	"github.com/trickle-auth/trickle/services/auth/internal/store"
	"github.com/trickle-auth/trickle/services/auth/internal/store/mongostore"
	"github.com/trickle-auth/trickle/services/auth/internal/store/storetest"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Backend {
		s, err := mongostore.New(context.Background(), mongotest.Database(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
