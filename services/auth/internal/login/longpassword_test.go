package login_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/crypto/bcrypt"

	"github.com/trickle-auth/trickle/passwordhash"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/connectortest"
	"github.com/trickle-auth/trickle/services/auth/internal/connset"
	"github.com/trickle-auth/trickle/services/auth/internal/identity"
	"github.com/trickle-auth/trickle/services/auth/internal/login"
	"github.com/trickle-auth/trickle/services/auth/internal/password"
	"github.com/trickle-auth/trickle/services/auth/internal/store"
)

// longPassword returns an ASCII password of n bytes, different per seed.
func longPassword(seed string, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	var b strings.Builder
	b.WriteString(seed)
	for i := 0; b.Len() < n; i++ {
		b.WriteByte(alphabet[(i*7+len(seed))%len(alphabet)])
	}
	return b.String()[:n]
}

// legacyBcrypt is the hash PHP's password_hash (or Go, or passlib) leaves in
// a legacy store for pw: bcrypt of its first 72 bytes, under variant's
// prefix ($2a$/$2b$/$2y$ are the same function below 256 bytes).
func legacyBcrypt(t *testing.T, variant, pw string, cost int) string {
	t.Helper()
	raw, err := bcrypt.GenerateFromPassword([]byte(pw[:min(len(pw), 72)]), cost)
	if err != nil {
		t.Fatal(err)
	}
	return "$" + variant + string(raw[3:])
}

// How a long-password user reaches the store.
const (
	viaAdopted   = "adopted"   // connector Login verifies bcrypt and shares it (cost 10: meets the policy)
	viaImported  = "imported"  // bulk-imported bcrypt hash, verified by the auth service
	viaConnector = "connector" // connector Login verifies bcrypt and does not share it
	viaNew       = "argon2id"  // the auth service's own argon2id from the first login
)

// Passwords of 71..200 bytes log in with the full password on the first
// login, the second and after a rehash, whatever the hash and however it
// reached the store; once the hash is argon2id (after the first login for a
// password of 72 bytes or more), the 72-byte prefix, or a longer password
// sharing 72 bytes, is refused.
func TestLongPasswordsLogInEveryTime(t *testing.T) {
	h := newHarness(t)
	// The fake connector verifies cost-10 bcrypt: seconds under -race on a
	// loaded 2-core machine. This test is about passwords, not deadlines.
	h.conn.Connector.Timeout = 30 * time.Second
	first := h.instance(instanceOpts{})
	stronger := testParams
	stronger.MemoryKiB, stronger.Time = 128, 2
	after := h.instance(instanceOpts{params: stronger}) // rehashes every hash below its parameters
	ctx := context.Background()
	conn, _ := first.Connections().Get("legacy")
	var cases []struct{ via, variant string }
	for _, via := range []string{viaAdopted, viaImported, viaConnector} {
		for _, v := range []string{"2a", "2b", "2y"} {
			cases = append(cases, struct{ via, variant string }{via, v})
		}
	}
	cases = append(cases, struct{ via, variant string }{viaNew, ""})
	id := 0
	for _, n := range []int{71, 72, 73, 90, 200} {
		for _, c := range cases {
			id++
			name := fmt.Sprintf("%d bytes/%s", n, c.via)
			if c.variant != "" {
				name += "/$" + c.variant + "$"
			}
			t.Run(name, func(t *testing.T) {
				email := fmt.Sprintf("long%d@example.com", id)
				pw := longPassword(fmt.Sprint(id), n)
				legacyHash := h.addLongPasswordUser(t, conn, c.via, c.variant, fmt.Sprint(id), email, pw)
				steps := []struct {
					name string
					svc  *login.Service
				}{{"first login", first}, {"second login", first}, {"login that rehashes", after}, {"login after rehash", after}}
				for i, step := range steps {
					if _, err := step.svc.Login(ctx, "legacy", email, pw); err != nil {
						t.Fatalf("%s with the full password: %v", step.name, err)
					}
					stored := h.storedHash(t, email)
					if i == 0 {
						wantFirstHash(t, c.via, n, stored, legacyHash)
					}
					if strings.HasPrefix(stored, "$argon2id$") {
						h.refuseNearPassword(t, step.svc, email, pw)
					}
				}
				if stored := h.storedHash(t, email); !strings.HasPrefix(stored, "$argon2id$v=19$m=128,t=2,p=1$") {
					t.Fatalf("after the rehash the stored hash is not argon2id at the new parameters: %.30s", stored)
				}
			})
		}
	}
}

// addLongPasswordUser puts a user with password pw in the legacy store or,
// for viaImported, straight into the user store, and returns its legacy
// hash ("" for viaNew).
func (h *harness) addLongPasswordUser(t *testing.T, conn *connset.Connection, via, variant, legacyID, email, pw string) string {
	t.Helper()
	if via == viaNew {
		h.legacy.Add(connectortest.User{Password: pw, Profile: &connectorv1.LegacyProfile{LegacyId: legacyID, Email: email}})
		return ""
	}
	cost := bcrypt.MinCost
	if via == viaAdopted && len(pw) <= 73 {
		// The lowest cost the policy adopts, around the 72-byte edge where
		// the length alone must refuse adoption. Longer passwords use the
		// cheap cost: cost-10 bcrypt takes about a second under -race.
		cost = password.MinBcryptCost
	}
	hash := legacyBcrypt(t, variant, pw, cost)
	p := &connectorv1.LegacyProfile{LegacyId: legacyID, Email: email}
	switch via {
	case viaAdopted:
		p.PasswordHash = &connectorv1.LegacyPasswordHash{Hash: hash, Format: passwordhash.FormatBcrypt}
		fallthrough
	case viaConnector:
		h.legacy.Add(connectortest.User{Hash: passwordhash.Hash{Value: hash}, Profile: p})
	case viaImported:
		u, err := identity.UserFromProfile(conn, p, store.OriginImported, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		u.PasswordHash = passwordhash.EncodeStored(passwordhash.Hash{Format: passwordhash.FormatBcrypt, Value: hash})
		if err := h.store().Create(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	return hash
}

// wantFirstHash checks what the first login stored: the legacy bcrypt hash
// only when it was adopted and holds the whole password, otherwise argon2id.
func wantFirstHash(t *testing.T, via string, n int, stored, legacyHash string) {
	t.Helper()
	if via == viaAdopted && n < 72 {
		if stored != legacyHash {
			t.Fatal("a bcrypt hash holding the whole password and meeting the policy was not adopted")
		}
		return
	}
	if !strings.HasPrefix(stored, "$argon2id$") {
		t.Fatalf("after the first login the stored hash is %.7s…, want argon2id of the whole password", stored)
	}
}

// refuseNearPassword checks that passwords bcrypt would confuse with pw (its
// 72-byte prefix, or pw[:72] with another ending) are refused.
func (h *harness) refuseNearPassword(t *testing.T, svc *login.Service, email, pw string) {
	t.Helper()
	var near []string
	if len(pw) > 72 {
		near = append(near, pw[:72])
	}
	if len(pw) >= 72 {
		near = append(near, pw[:72]+"another ending")
	}
	for _, other := range near {
		if _, err := svc.Login(context.Background(), "legacy", email, other); !errors.Is(err, apperr.ErrInvalidCredentials) {
			t.Fatalf("a %d-byte password sharing the first 72 bytes logged in: %v", len(other), err)
		}
	}
}

func (h *harness) storedHash(t *testing.T, email string) string {
	t.Helper()
	var doc struct {
		Hash string `bson:"password_hash"`
	}
	if err := h.db.Collection("users").FindOne(context.Background(), bson.D{{Key: "email", Value: email}}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc.Hash
}
