package password

import (
	"context"
	"testing"
)

// BenchmarkHashDefault measures one argon2id hash at DefaultParams.
func BenchmarkHashDefault(b *testing.B) {
	ctx := context.Background()
	h := newTestHasher(b, DefaultParams(), 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyParallel measures verification throughput at DefaultParams
// with many goroutines contending for a pool of GOMAXPROCS slots.
func BenchmarkVerifyParallel(b *testing.B) {
	ctx := context.Background()
	h := newTestHasher(b, DefaultParams(), 0)
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(8) // 8 goroutines per CPU: more callers than slots
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _, err := h.Verify(ctx, "correct horse battery staple", enc); !ok || err != nil {
				b.Error("Verify failed", err)
				return
			}
		}
	})
}
