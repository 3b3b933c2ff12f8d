package account

import "time"

// SetClock replaces the service's clock (tickets are ordered by issue time).
func SetClock(s *Service, now func() time.Time) { s.now = now }
