package password

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/trickle-auth/trickle/passwordhash"
)

// testParams are cheap argon2id parameters so the tests stay fast.
var testParams = Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newTestHasher(t testing.TB, p Params, maxConcurrent int) *Hasher {
	t.Helper()
	h, err := NewHasher(p, maxConcurrent)
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	return h
}

func TestHashVerifyRoundTrip(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, testParams, 0)

	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if want := "$argon2id$v=19$m=64,t=1,p=1$"; !strings.HasPrefix(enc, want) {
		t.Fatalf("Hash = %q, want prefix %q", enc, want)
	}
	ok, rehash, err := h.Verify(ctx, "correct horse battery staple", enc)
	if err != nil || !ok || rehash {
		t.Fatalf("Verify(right) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}

	enc2, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if enc == enc2 {
		t.Fatal("two hashes of the same password are equal: salt not random")
	}
}

func TestDefaultParams(t *testing.T) {
	p := DefaultParams()
	if p.MemoryKiB != 19456 || p.Time != 2 || p.Threads != 1 {
		t.Fatalf("DefaultParams = %+v, want OWASP m=19456 t=2 p=1", p)
	}
	ctx := context.Background()
	h := newTestHasher(t, p, 1)
	enc, err := h.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if want := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(enc, want) {
		t.Fatalf("Hash = %q, want prefix %q", enc, want)
	}
	if ok, rehash, err := h.Verify(ctx, "pw", enc); !ok || rehash || err != nil {
		t.Fatalf("Verify = %v, %v, %v", ok, rehash, err)
	}
	if !h.MeetsPolicy(enc, "pw") {
		t.Fatal("own hash does not meet policy")
	}
}

func TestWrongPassword(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, testParams, 0)
	enc, err := h.Hash(ctx, "secret")
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"Secret", "secret ", "", "secre", strings.Repeat("x", MaxLength)} {
		ok, rehash, err := h.Verify(ctx, pw, enc)
		if ok || rehash || err != nil {
			t.Errorf("Verify(%q) = %v, %v, %v; want false, false, nil", pw, ok, rehash, err)
		}
	}
}

func TestNeedsRehashWhenParamsChange(t *testing.T) {
	ctx := context.Background()
	old := newTestHasher(t, testParams, 0)
	enc, err := old.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}

	changes := map[string]func(*Params){
		"more memory":  func(p *Params) { p.MemoryKiB = 128 },
		"more time":    func(p *Params) { p.Time = 2 },
		"more threads": func(p *Params) { p.Threads = 2 },
		"longer key":   func(p *Params) { p.KeyLen = 64 },
		"longer salt":  func(p *Params) { p.SaltLen = 32 },
		"less memory":  func(p *Params) { p.MemoryKiB = 32 },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			p := testParams
			change(&p)
			h := newTestHasher(t, p, 0)
			ok, rehash, err := h.Verify(ctx, "pw", enc)
			if !ok || !rehash || err != nil {
				t.Fatalf("Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			// A wrong password never asks for a rehash.
			if ok, rehash, _ := h.Verify(ctx, "wrong", enc); ok || rehash {
				t.Fatalf("Verify(wrong) = %v, %v", ok, rehash)
			}
			// Rehashing with the new hasher settles it.
			enc2, err := h.Hash(ctx, "pw")
			if err != nil {
				t.Fatal(err)
			}
			if ok, rehash, err := h.Verify(ctx, "pw", enc2); !ok || rehash || err != nil {
				t.Fatalf("Verify(rehashed) = %v, %v, %v; want true, false, nil", ok, rehash, err)
			}
		})
	}

	t.Run("shorter salt is fine", func(t *testing.T) {
		p := testParams
		p.SaltLen = 8
		h := newTestHasher(t, p, 0)
		if ok, rehash, err := h.Verify(ctx, "pw", enc); !ok || rehash || err != nil {
			t.Fatalf("Verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
		}
	})
}

func TestBcrypt(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, testParams, 0)
	raw, err := bcrypt.GenerateFromPassword([]byte("legacy-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	enc := string(raw)

	ok, rehash, err := h.Verify(ctx, "legacy-pw", enc)
	if !ok || !rehash || err != nil {
		t.Fatalf("Verify(bcrypt right) = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	ok, rehash, err = h.Verify(ctx, "legacy-PW", enc)
	if ok || rehash || err != nil {
		t.Fatalf("Verify(bcrypt wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
	}

	// $2y$ (PHP) is the same algorithm.
	y := "$2y$" + enc[4:]
	if ok, _, err := h.Verify(ctx, "legacy-pw", y); !ok || err != nil {
		t.Fatalf("Verify($2y$) = %v, %v", ok, err)
	}
	// $2x$ (buggy crypt_blowfish) is refused.
	if _, _, err := h.Verify(ctx, "legacy-pw", "$2x$"+enc[4:]); !unusable(err) {
		t.Fatalf("Verify($2x$) err = %v, want an unusable hash", err)
	}
}

// unusable reports whether err says a stored hash cannot be verified.
func unusable(err error) bool {
	return errors.Is(err, passwordhash.ErrMalformed) || errors.Is(err, passwordhash.ErrUnknownFormat)
}

// openwallLong is crypt_blowfish's long-password test vector (98 bytes),
// and its hash as crypt_blowfish, PHP and libxcrypt write it.
const (
	openwallLong = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored"
	openwallHash = "$2y$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"
)

// A stored bcrypt hash is verified as the software that wrote it did (the
// first 72 bytes count, so the user's full password works), and a match is
// always rehashed: the argon2id hash then holds the whole password.
func TestBcryptVerifiesLikeItsWriterAndIsRehashed(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, testParams, 0)
	for _, pw := range []string{openwallLong, openwallLong[:72]} {
		if ok, rehash, err := h.Verify(ctx, pw, openwallHash); !ok || !rehash || err != nil {
			t.Fatalf("Verify(%d bytes) = %v, %v, %v; want true, true, nil", len(pw), ok, rehash, err)
		}
	}
	if ok, _, err := h.Verify(ctx, openwallLong[:71], openwallHash); ok || err != nil {
		t.Fatalf("Verify(71 bytes) = %v, %v; want a mismatch", ok, err)
	}
	fresh, err := h.Hash(ctx, openwallLong)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := h.Verify(ctx, openwallLong[:72], fresh); ok || err != nil {
		t.Fatalf("the 72-byte prefix matched the argon2id rehash: %v, %v", ok, err)
	}
}

// Adopting a bcrypt hash is refused when bcrypt did not read the whole
// password: the stored hash would accept every password sharing 72 bytes.
func TestMeetsPolicyRefusesLossyBcrypt(t *testing.T) {
	h := newTestHasher(t, testParams, 0)
	for _, n := range []int{71, 72, 73, 90, 200} {
		pw := strings.Repeat("p", n)
		raw, err := bcrypt.GenerateFromPassword([]byte(pw[:min(n, 72)]), MinBcryptCost)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := h.MeetsPolicy(string(raw), pw), n < 72; got != want {
			t.Errorf("MeetsPolicy(bcrypt cost 10, %d-byte password) = %v, want %v", n, got, want)
		}
	}
}

// Bulk-imported hashes, in the form passwordhash.EncodeStored writes, are
// verified by the same Verify and always rehashed.
func TestVerifiesEncodedStoredHashes(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, testParams, 0)
	stored := passwordhash.EncodeStored(passwordhash.Hash{Format: passwordhash.FormatSaltedSHA1, Value: "3c257439596a0026fadb4b98e62db11c31f06ab9", Salt: "s4lty"})
	if ok, rehash, err := h.Verify(ctx, "secret", stored); !ok || !rehash || err != nil {
		t.Fatalf("Verify(salted-sha1) = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	if ok, rehash, err := h.Verify(ctx, "Secret", stored); ok || rehash || err != nil {
		t.Fatalf("Verify(salted-sha1, wrong) = %v, %v, %v; want a plain mismatch", ok, rehash, err)
	}
	argon2i := "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
	if ok, rehash, err := h.Verify(ctx, "pw", argon2i); ok || rehash || err != nil {
		t.Fatalf("Verify(argon2i, wrong) = %v, %v, %v; want a plain mismatch", ok, rehash, err)
	}
}

func TestLengthLimits(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, testParams, 0)

	if _, err := h.Hash(ctx, ""); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Hash(empty) err = %v, want ErrEmpty", err)
	}
	tooLong := strings.Repeat("p", MaxLength+1)
	if _, err := h.Hash(ctx, tooLong); !errors.Is(err, ErrTooLong) {
		t.Fatalf("Hash(1025 bytes) err = %v, want ErrTooLong", err)
	}

	max := strings.Repeat("p", MaxLength)
	enc, err := h.Hash(ctx, max)
	if err != nil {
		t.Fatalf("Hash(1024 bytes): %v", err)
	}
	if ok, _, err := h.Verify(ctx, max, enc); !ok || err != nil {
		t.Fatalf("Verify(1024 bytes) = %v, %v", ok, err)
	}
	// Differs only in the last byte: must not match (no truncation).
	if ok, _, err := h.Verify(ctx, max[:MaxLength-1]+"q", enc); ok || err != nil {
		t.Fatalf("Verify(last byte differs) = %v, %v; want false, nil", ok, err)
	}
	if _, _, err := h.Verify(ctx, tooLong, enc); !errors.Is(err, ErrTooLong) {
		t.Fatalf("Verify(1025 bytes) err = %v, want ErrTooLong", err)
	}
	if strings.Contains(ErrTooLong.Error(), "ppp") {
		t.Fatal("error contains the password")
	}
}

func TestMalformedHashes(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, testParams, 0)
	good, err := h.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=..., salt, hash
	salt, key := parts[4], parts[5]
	bc, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name, enc string
	}{
		{"empty", ""},
		{"plain text", "hunter2"},
		{"only dollar", "$"},
		{"unknown id", "$sha512$abc$def"},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"version 16", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{"version text", "$argon2id$v=x$m=64,t=1,p=1$" + salt + "$" + key},
		{"too few fields", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"too many fields", good + "$x"},
		{"missing param", "$argon2id$v=19$m=64,t=1$" + salt + "$" + key},
		{"extra param", "$argon2id$v=19$m=64,t=1,p=1,k=2$" + salt + "$" + key},
		{"negative", "$argon2id$v=19$m=-64,t=1,p=1$" + salt + "$" + key},
		{"plus sign", "$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key},
		{"leading zero", "$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key},
		{"overflow", "$argon2id$v=19$m=99999999999,t=1,p=1$" + salt + "$" + key},
		{"zero time", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key},
		{"zero threads", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key},
		{"memory below 8p", "$argon2id$v=19$m=8,t=1,p=2$" + salt + "$" + key},
		{"huge memory", "$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + key},
		{"huge time", "$argon2id$v=19$m=64,t=1000,p=1$" + salt + "$" + key},
		{"threads above 255", "$argon2id$v=19$m=4096,t=1,p=256$" + salt + "$" + key},
		{"padded salt", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key},
		{"url alphabet", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.NewReplacer("+", "-", "/", "_").Replace(key) + "-_"},
		{"newline in hash", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key[:4] + "\n" + key[4:]},
		{"empty salt", "$argon2id$v=19$m=64,t=1,p=1$$" + key},
		{"short salt", "$argon2id$v=19$m=64,t=1,p=1$YWJj$" + key},
		{"short key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$YWJj"},
		{"bcrypt truncated", string(bc[:40])},
		{"bcrypt bad cost", "$2a$xx" + string(bc[6:])},
		{"bcrypt cost 31", "$2a$31" + string(bc[6:])},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(ctx, "pw", c.enc)
			if ok || rehash || !unusable(err) {
				t.Fatalf("Verify = %v, %v, %v; want false, false, an unusable hash", ok, rehash, err)
			}
			if h.MeetsPolicy(c.enc, "pw") {
				t.Fatal("MeetsPolicy = true for a bad hash")
			}
			msg := err.Error()
			for _, secret := range []string{salt, key, string(bc[7:])} {
				if strings.Contains(msg, secret) {
					t.Fatalf("error %q leaks hash material", msg)
				}
			}
		})
	}
}

func TestMeetsPolicy(t *testing.T) {
	h := newTestHasher(t, Params{MemoryKiB: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	const salt, key = "c2FsdHNhbHRzYWx0c2FsdA", "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	bc4, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	withCost := func(c string) string { return "$2b$" + c + string(bc4[6:]) }

	cases := []struct {
		enc  string
		want bool
	}{
		{"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key, true},
		{"$argon2id$v=19$m=65536,t=3,p=4$" + salt + "$" + key, true},
		{"$argon2id$v=19$m=19455,t=2,p=1$" + salt + "$" + key, false},
		{"$argon2id$v=19$m=19456,t=1,p=1$" + salt + "$" + key, false},
		{"$argon2i$v=19$m=65536,t=3,p=4$" + salt + "$" + key, false},
		{string(bc4), false},
		{withCost("09"), false},
		{withCost("10"), true},
		{withCost("12"), true},
		{withCost("17"), false}, // beyond what Verify accepts
		{"md5:whatever", false},
	}
	for _, c := range cases {
		if got := h.MeetsPolicy(c.enc, "pw"); got != c.want {
			t.Errorf("MeetsPolicy(%q) = %v, want %v", c.enc, got, c.want)
		}
	}
}

func TestNewHasherValidates(t *testing.T) {
	bad := map[string]Params{
		"zero":           {},
		"no threads":     {MemoryKiB: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		"no time":        {MemoryKiB: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		"memory < 8p":    {MemoryKiB: 15, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32},
		"memory too big": {MemoryKiB: 1<<20 + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		"short salt":     {MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		"short key":      {MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
	}
	for name, p := range bad {
		if _, err := NewHasher(p, 1); err == nil {
			t.Errorf("NewHasher(%s) succeeded", name)
		}
	}
	if _, err := NewHasher(testParams, -1); err == nil {
		t.Error("NewHasher(maxConcurrent=-1) succeeded")
	}
	h := newTestHasher(t, testParams, 0)
	if cap(h.slots) < 1 {
		t.Fatalf("maxConcurrent 0 gave %d slots", cap(h.slots))
	}
}

// TestPoolBound runs many concurrent hashes, verifications and dummy
// verifications and checks that no more than maxConcurrent ever work at once.
func TestPoolBound(t *testing.T) {
	const maxConcurrent, workers = 3, 60
	ctx := context.Background()
	h := newTestHasher(t, testParams, maxConcurrent)
	enc, err := h.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}

	var active, peak, total atomic.Int32
	h.inSlot = func() {
		n := active.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		total.Add(1)
		time.Sleep(2 * time.Millisecond) // hold the slot so workers overlap
		active.Add(-1)
	}

	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			switch i % 3 {
			case 0:
				if _, err := h.Hash(ctx, "pw"); err != nil {
					t.Error(err)
				}
			case 1:
				if ok, _, err := h.Verify(ctx, "pw", enc); !ok || err != nil {
					t.Error("Verify failed", err)
				}
			case 2:
				h.DummyVerify(ctx, "pw", []string{"", enc}[i%2])
			}
		})
	}
	wg.Wait()

	if got := total.Load(); got != workers {
		t.Fatalf("%d computations went through the pool, want %d", got, workers)
	}
	if got := peak.Load(); got > maxConcurrent {
		t.Fatalf("peak concurrency %d exceeds bound %d", got, maxConcurrent)
	} else if got < 2 {
		t.Fatalf("peak concurrency %d: the test did not exercise concurrency", got)
	}
}

func TestContextCancelsWaiting(t *testing.T) {
	h := newTestHasher(t, testParams, 1)
	enc, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}

	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h.inSlot = func() {
		once.Do(func() { close(entered); <-release })
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.DummyVerify(context.Background(), "pw", "") // holds the only slot
	}()
	<-entered

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := h.Verify(ctx, "pw", enc); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify while pool full err = %v, want DeadlineExceeded", err)
	}
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash while pool full err = %v, want DeadlineExceeded", err)
	}
	close(release)
	<-done
	if ok, _, err := h.Verify(context.Background(), "pw", enc); !ok || err != nil {
		t.Fatalf("Verify after release = %v, %v", ok, err)
	}
}
