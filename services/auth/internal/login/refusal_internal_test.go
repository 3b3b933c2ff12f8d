package login

import (
	"testing"
	"time"
)

func TestRefusalTimesDrawsOnlyStoredSamples(t *testing.T) {
	var r refusalTimes
	if d := r.draw(); d != 0 {
		t.Fatalf("empty draw = %v", d)
	}
	for i := range legacySamples + 10 { // wraps around: the oldest 10 are gone
		r.add(time.Duration(i+1) * time.Millisecond)
	}
	for range 1000 {
		d := r.draw()
		if d <= 10*time.Millisecond || d > time.Duration(legacySamples+10)*time.Millisecond {
			t.Fatalf("draw %v is not one of the last %d samples", d, legacySamples)
		}
	}
}
