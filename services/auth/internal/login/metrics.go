package login

import "github.com/prometheus/client_golang/prometheus"

// Metrics of the login flow. Labels never carry identifiers or secrets.
type Metrics struct {
	Logins          *prometheus.CounterVec // by connection, outcome
	Migrations      *prometheus.CounterVec // by connection
	LockWaits       *prometheus.CounterVec // by connection: found the lock held
	LockUnavailable *prometheus.CounterVec // by connection: Redis down, migrated without the lock
	LegacyLatency   *prometheus.HistogramVec
	Rehashes        *prometheus.CounterVec
}

// Login outcomes (the "outcome" label).
const (
	OutcomeLocal             = "local"    // migrated user, verified locally
	OutcomeMigrated          = "migrated" // first login, copied from the legacy store
	OutcomeInvalid           = "invalid_credentials"
	OutcomeLegacyRefused     = "legacy_refused"     // the legacy store said no
	OutcomeLegacyUnavailable = "legacy_unavailable" // nothing written
	OutcomeRejectedProfile   = "rejected_profile"   // legacy profile failed validation
	OutcomeBlocked           = "blocked"
	OutcomeDeleted           = "deleted" // tombstoned: not re-imported (I5)
	OutcomeError             = "error"
	OutcomeThrottled         = "throttled" // refused by the brute-force protection
)

// NewMetrics registers the login metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "trickle", Name: "logins_total", Help: "Login attempts by connection and outcome.",
		}, []string{"connection", "outcome"}),
		Migrations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "trickle", Name: "migrations_total", Help: "Users copied from the legacy store.",
		}, []string{"connection", "trigger"}),
		LockWaits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "trickle", Name: "migration_lock_waits_total", Help: "First logins that found the migration lock held and waited.",
		}, []string{"connection"}),
		LockUnavailable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "trickle", Name: "migration_lock_unavailable_total", Help: "First logins migrated without the lock because Redis was unavailable.",
		}, []string{"connection"}),
		LegacyLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "trickle", Name: "connector_call_seconds", Help: "Latency of connector calls.",
			Buckets: prometheus.ExponentialBuckets(0.002, 2, 13),
		}, []string{"connection", "method", "result"}),
		Rehashes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "trickle", Name: "password_rehashes_total", Help: "Stored hashes replaced on login because they were weaker than the policy.",
		}, []string{"connection"}),
	}
	if reg != nil {
		reg.MustRegister(m.Logins, m.Migrations, m.LockWaits, m.LockUnavailable, m.LegacyLatency, m.Rehashes)
	}
	return m
}
