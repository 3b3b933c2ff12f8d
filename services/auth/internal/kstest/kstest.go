// Package kstest is the two-sample Kolmogorov-Smirnov test the timing tests
// use to show that failed logins are indistinguishable (invariant I7).
package kstest

import (
	"math"
	"slices"
	"time"
)

// Distance is the two-sample Kolmogorov-Smirnov statistic: the largest gap
// between the empirical distribution functions of a and b.
func Distance(a, b []time.Duration) float64 {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	var i, j int
	var d float64
	for i < len(a) && j < len(b) {
		x := min(a[i], b[j])
		for i < len(a) && a[i] == x {
			i++
		}
		for j < len(b) && b[j] == x {
			j++
		}
		d = max(d, math.Abs(float64(i)/float64(len(a))-float64(j)/float64(len(b))))
	}
	return d
}

// Critical is the distance above which two samples of sizes n and m come
// from different distributions at significance alpha (the large-sample
// approximation c(alpha)·sqrt((n+m)/(n·m)), c(alpha) = sqrt(-ln(alpha/2)/2)).
func Critical(n, m int, alpha float64) float64 {
	c := math.Sqrt(-math.Log(alpha/2) / 2)
	return c * math.Sqrt(float64(n+m)/float64(n*m))
}
