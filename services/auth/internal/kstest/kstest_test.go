package kstest

import (
	"math"
	"testing"
	"time"
)

func TestDistance(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	for _, c := range []struct {
		a, b []time.Duration
		want float64
	}{
		{ms(1, 2, 3, 4), ms(1, 2, 3, 4), 0},
		{ms(1, 2, 3, 4), ms(5, 6, 7, 8), 1},
		{ms(1, 2, 3, 4), ms(3, 4, 5, 6), 0.5},
		{ms(1, 1, 2, 2), ms(1, 2), 0},
	} {
		if got := Distance(c.a, c.b); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("Distance(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestCritical(t *testing.T) {
	// Published table values: c(0.05) = 1.358, c(0.001) = 1.949.
	if got := Critical(100, 100, 0.05); math.Abs(got-1.358*math.Sqrt(0.02)) > 1e-3 {
		t.Errorf("Critical(100, 100, 0.05) = %v", got)
	}
	if got := Critical(60, 60, 0.001); math.Abs(got-1.949*math.Sqrt(2.0/60)) > 1e-3 {
		t.Errorf("Critical(60, 60, 0.001) = %v", got)
	}
}
