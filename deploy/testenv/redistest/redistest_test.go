package redistest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/trickle-auth/trickle/deploy/testenv/redistest"
)

func TestClientGetsOwnPrefix(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.Client(t)
	_, other := redistest.Client(t)
	if prefix == other || !strings.HasSuffix(prefix, ":") {
		t.Fatalf("prefixes %q and %q must differ and end in ':'", prefix, other)
	}
	if err := rdb.Set(ctx, prefix+"k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := rdb.Get(ctx, prefix+"k").Result(); err != nil || got != "v" {
		t.Fatalf("get = %q, %v", got, err)
	}
	if n, err := rdb.Exists(ctx, other+"k").Result(); err != nil || n != 0 {
		t.Fatalf("key visible under another prefix: %d, %v", n, err)
	}
}
