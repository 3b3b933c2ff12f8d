package api

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
)

// 200 goroutines from one IP and 200 from others race for 4 slots, a
// queue of 8 and a per-IP share of 6: never more than 4 run, refusals are
// RESOURCE_EXHAUSTED with a retry delay, and the per-IP map is empty
// afterwards (no leak of entries an attacker could grow).
func TestAdmissionBoundsAndShares(t *testing.T) {
	a := NewAdmission(AdmissionConfig{MaxInFlight: 4, MaxQueue: 8, MaxPerClient: 6, QueueTimeout: 50 * time.Millisecond, DefaultDeadline: time.Second}, ClientIPs{}, nil)
	var mu sync.Mutex
	running, peak, ok, refused := 0, 0, 0, 0
	var wg sync.WaitGroup
	for i := range 400 {
		ip := "192.0.2.1"
		if i%2 == 1 {
			ip = "198.51.100." + string(rune('0'+i%10))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := a.acquire(context.Background(), ip)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if apperr.KindOf(err) != apperr.ResourceExhausted || apperr.RetryAfterOf(err) <= 0 {
					t.Errorf("refusal: %v", err)
				}
				refused++
				return
			}
			ok++
			running++
			peak = max(peak, running)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			running--
			release()
		}()
	}
	wg.Wait()
	if peak > 4 || ok == 0 || refused == 0 {
		t.Fatalf("peak %d running (max 4), %d admitted, %d refused", peak, ok, refused)
	}
	if len(a.perIP) != 0 || a.waiting != 0 {
		t.Fatalf("state left after all calls: %v, %d waiting", a.perIP, a.waiting)
	}
}

func TestForwardedAddressResolution(t *testing.T) {
	c := ClientIPs{Trusted: prefixes("10.0.0.0/8")}
	for _, tc := range []struct {
		peer string
		xff  []string
		want string
	}{
		{"127.0.0.1:5", []string{"203.0.113.9"}, "127.0.0.1"},                          // loopback is not trusted
		{"10.1.1.1:5", []string{"203.0.113.9"}, "203.0.113.9"},                         // trusted proxy
		{"10.1.1.1:5", []string{"198.51.100.1, 203.0.113.9, 10.2.2.2"}, "203.0.113.9"}, // right-most untrusted
		{"10.1.1.1:5", []string{"203.0.113.9, b\u00e4d"}, "10.1.1.1"},                  // garbage: the proxy itself
		{"10.1.1.1:5", []string{"2001:db8::1"}, "2001:db8::1"},
		{"[::ffff:192.0.2.7]:5", nil, "192.0.2.7"},
		{"garbage", nil, "unknown"},
	} {
		if got := c.resolve(tc.peer, tc.xff); got != tc.want {
			t.Errorf("peer %s xff %v: %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
	for id, want := range map[string]bool{"abc-1.2_3": true, "": false, "a b": false, "a\nb": false, "caf\u00e9": false, string(make([]byte, 65)): false} {
		if safeRequestID(id) != want {
			t.Errorf("safeRequestID(%q) = %v", id, !want)
		}
	}
}

func prefixes(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range s {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}
