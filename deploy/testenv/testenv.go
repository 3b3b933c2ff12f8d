// Package testenv holds what every integration test of Trickle shares: the
// rule for a missing service and unique names so that packages can run their
// tests in parallel against the same servers.
//
// The servers themselves (PostgreSQL, MariaDB, Redis) are installed and
// started by deploy/testenv/services.sh; MongoDB is FerretDB started
// in-process by the mongotest package unless MONGODB_URI is set.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where a missing
// service is a failure, never a skip.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// Unavailable handles a service a test needs but cannot reach: under CI the
// test fails; on a developer machine it is skipped with a message that says
// how to start the service.
func Unavailable(t testing.TB, service string, err error) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s is required (CI=true) but unavailable: %v; run deploy/testenv/services.sh", service, err)
	}
	t.Skipf("%s unavailable: %v; run deploy/testenv/services.sh (with CI=true this fails)", service, err)
}

// Env returns the environment variable or def when it is unset or empty.
func Env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// UniqueName returns a name safe for databases, key prefixes and
// collections: prefix, then 12 random hex characters.
func UniqueName(prefix string) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + hex.EncodeToString(b[:])
}
