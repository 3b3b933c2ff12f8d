//go:build unix

package server

import (
	"math"
	"syscall"
)

// fdLimit is the soft limit on open files (Go raises it to the hard limit
// at start).
func fdLimit() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(r.Cur)
}
