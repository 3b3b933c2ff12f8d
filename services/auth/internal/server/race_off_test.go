//go:build !race

package server_test

// raceEnabled: the race detector adds memory per goroutine, so memory
// bounds are only asserted without it.
const raceEnabled = false
