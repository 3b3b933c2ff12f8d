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
	if !h.MeetsPolicy(enc) {
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
	if _, _, err := h.Verify(ctx, "legacy-pw", "$2x$"+enc[4:]); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Verify($2x$) err = %v, want ErrUnsupported", err)
	}
}

func TestBcryptNeverTruncates(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, testParams, 0)
	pw72 := strings.Repeat("a", 72)
	raw, err := bcrypt.GenerateFromPassword([]byte(pw72), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := h.Verify(ctx, pw72, string(raw)); !ok || err != nil {
		t.Fatalf("Verify(72 bytes) = %v, %v; want true", ok, err)
	}
	// bcrypt itself would accept this longer password (same first 72 bytes).
	longer := pw72 + "b"
	if bcrypt.CompareHashAndPassword(raw, []byte(longer)) == nil {
		t.Log("x/crypto/bcrypt truncates: this test guards against that")
	}
	ok, rehash, err := h.Verify(ctx, longer, string(raw))
	if ok || rehash || err != nil {
		t.Fatalf("Verify(73 bytes) = %v, %v, %v; want false, false, nil", ok, rehash, err)
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
		want      error
	}{
		{"empty", "", ErrMalformed},
		{"plain text", "hunter2", ErrMalformed},
		{"only dollar", "$", ErrMalformed},
		{"unknown id", "$sha512$abc$def", ErrUnsupported},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key, ErrUnsupported},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key, ErrUnsupported},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key, ErrUnsupported},
		{"version 16", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key, ErrUnsupported},
		{"version text", "$argon2id$v=x$m=64,t=1,p=1$" + salt + "$" + key, ErrMalformed},
		{"too few fields", "$argon2id$v=19$m=64,t=1,p=1$" + salt, ErrMalformed},
		{"too many fields", good + "$x", ErrMalformed},
		{"param order", "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key, ErrMalformed},
		{"missing param", "$argon2id$v=19$m=64,t=1$" + salt + "$" + key, ErrMalformed},
		{"extra param", "$argon2id$v=19$m=64,t=1,p=1,k=2$" + salt + "$" + key, ErrMalformed},
		{"negative", "$argon2id$v=19$m=-64,t=1,p=1$" + salt + "$" + key, ErrMalformed},
		{"plus sign", "$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key, ErrMalformed},
		{"leading zero", "$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key, ErrMalformed},
		{"overflow", "$argon2id$v=19$m=99999999999,t=1,p=1$" + salt + "$" + key, ErrMalformed},
		{"zero time", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key, ErrMalformed},
		{"zero threads", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key, ErrMalformed},
		{"memory below 8p", "$argon2id$v=19$m=8,t=1,p=2$" + salt + "$" + key, ErrMalformed},
		{"huge memory", "$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + key, ErrUnsupported},
		{"huge time", "$argon2id$v=19$m=64,t=1000,p=1$" + salt + "$" + key, ErrUnsupported},
		{"threads above 255", "$argon2id$v=19$m=4096,t=1,p=256$" + salt + "$" + key, ErrUnsupported},
		{"padded salt", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key, ErrMalformed},
		{"url alphabet", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.NewReplacer("+", "-", "/", "_").Replace(key) + "-_", ErrMalformed},
		{"newline in hash", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key[:4] + "\n" + key[4:], ErrMalformed},
		{"empty salt", "$argon2id$v=19$m=64,t=1,p=1$$" + key, ErrMalformed},
		{"short salt", "$argon2id$v=19$m=64,t=1,p=1$YWJj$" + key, ErrUnsupported},
		{"short key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$YWJj", ErrUnsupported},
		{"bcrypt truncated", string(bc[:40]), ErrMalformed},
		{"bcrypt bad cost", "$2a$xx" + string(bc[6:]), ErrMalformed},
		{"bcrypt cost 31", "$2a$31" + string(bc[6:]), ErrUnsupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(ctx, "pw", c.enc)
			if ok || rehash || !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, %v, %v; want false, false, %v", ok, rehash, err, c.want)
			}
			if h.MeetsPolicy(c.enc) {
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
		if got := h.MeetsPolicy(c.enc); got != c.want {
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
				h.DummyVerify(ctx, "pw")
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
		h.DummyVerify(context.Background(), "pw") // holds the only slot
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
