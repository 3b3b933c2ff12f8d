package manage

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
	"github.com/trickle-auth/trickle/services/auth/internal/connset"
	"github.com/trickle-auth/trickle/services/auth/internal/identity"
	"github.com/trickle-auth/trickle/services/auth/internal/legacy"
)

// Status is a connection's migration progress: what an operator checks
// before switching the legacy store off.
type Status struct {
	Connection                    string
	ImportMode, LegacyEnabled     bool
	Migrated, Native              int64
	LegacyTotal                   *int64   // nil: the connector cannot count, or is off
	PercentMigrated               *float64 // nil without LegacyTotal
	FirstMigration, LastMigration time.Time
	// Logins that called the legacy store (every connector Login: migrated,
	// refused or failed), over the last hour and day.
	LegacyLoginsHour, LegacyLoginsDay int64
}

// Connections lists the connections in force, by name.
func (s *Service) Connections() []*connset.Connection {
	all := s.conns.Current().All()
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all
}

// Status reports the named connection's migration.
func (s *Service) Status(ctx context.Context, connection string) (*Status, error) {
	if err := identity.CheckConnection(connection); err != nil {
		return nil, err
	}
	conn, ok := s.conns.Current().Get(connection)
	if !ok {
		return nil, apperr.New(apperr.NotFound, "connection %q is not configured", connection)
	}
	return s.status(ctx, conn)
}

func (s *Service) status(ctx context.Context, conn *connset.Connection) (*Status, error) {
	st := &Status{Connection: conn.Name, ImportMode: conn.ImportMode, LegacyEnabled: conn.LegacyEnabled}
	counts, err := s.store.CountUsers(ctx, conn.Name)
	if err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
	}
	st.Migrated, st.Native = counts.Migrated, counts.Native
	st.FirstMigration, st.LastMigration = counts.FirstMigration, counts.LastMigration
	now := s.now()
	if st.LegacyLoginsHour, err = s.store.LegacyLogins(ctx, conn.Name, now.Add(-time.Hour)); err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
	}
	if st.LegacyLoginsDay, err = s.store.LegacyLogins(ctx, conn.Name, now.Add(-24*time.Hour)); err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, err, "user store unavailable")
	}
	// The legacy total is best effort: a connector that cannot count, or a
	// legacy store that is down or switched off, leaves it unset rather
	// than failing the whole status.
	if conn.UsesLegacy() {
		total, err := conn.Legacy.CountUsers(ctx)
		switch {
		case err == nil:
			st.LegacyTotal = &total
			if total > 0 {
				pct := float64(st.Migrated) / float64(total) * 100
				st.PercentMigrated = &pct
			}
		case errors.Is(err, legacy.ErrUnsupported):
		default:
			s.log.Warn("legacy user count unavailable", "connection", conn.Name, "err", err)
		}
	}
	return st, nil
}

// Collector exports every connection's migration status as Prometheus
// gauges. A scrape recomputes the status at most once per ttl (counting
// users and asking the connector is not free); between, it serves the
// cached values.
type Collector struct {
	svc     *Service
	ttl     time.Duration
	timeout time.Duration

	mu       sync.Mutex
	cached   []*Status
	cachedAt time.Time

	users, legacyTotal, percent, legacyLogins, lastMigration, legacyEnabled *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector over svc; ttl 0 recomputes on every
// scrape.
func NewCollector(svc *Service, ttl time.Duration) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("trickle_migration_"+name, help, append([]string{"connection"}, labels...), nil)
	}
	return &Collector{
		svc: svc, ttl: ttl, timeout: 5 * time.Second,
		users:         d("users", "Users in Trickle by origin: migrated (copied from the legacy store) or native (signed up).", "origin"),
		legacyTotal:   d("legacy_users", "Users in the legacy store, when the connector can count them."),
		percent:       d("percent", "Migrated users as a percentage of the legacy store's users."),
		legacyLogins:  d("legacy_logins", "Logins that called the legacy store in the window.", "window"),
		lastMigration: d("last_migration_timestamp_seconds", "When the last user was migrated."),
		legacyEnabled: d("legacy_enabled", "1 while the legacy store is in use, 0 after cut-over."),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.users, c.legacyTotal, c.percent, c.legacyLogins, c.lastMigration, c.legacyEnabled} {
		ch <- d
	}
}

func (c *Collector) statuses() []*Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cached != nil && time.Since(c.cachedAt) < c.ttl {
		return c.cached
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	var out []*Status
	for _, conn := range c.svc.Connections() {
		st, err := c.svc.status(ctx, conn)
		if err != nil {
			c.svc.log.Warn("migration status for metrics", "connection", conn.Name, "err", err)
			continue
		}
		out = append(out, st)
	}
	c.cached, c.cachedAt = out, time.Now()
	return out
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, st := range c.statuses() {
		g(c.users, float64(st.Migrated), st.Connection, "migrated")
		g(c.users, float64(st.Native), st.Connection, "native")
		if st.LegacyTotal != nil {
			g(c.legacyTotal, float64(*st.LegacyTotal), st.Connection)
		}
		if st.PercentMigrated != nil {
			g(c.percent, *st.PercentMigrated, st.Connection)
		}
		g(c.legacyLogins, float64(st.LegacyLoginsHour), st.Connection, "1h")
		g(c.legacyLogins, float64(st.LegacyLoginsDay), st.Connection, "24h")
		if !st.LastMigration.IsZero() {
			g(c.lastMigration, float64(st.LastMigration.UnixMilli())/1000, st.Connection)
		}
		enabled := 0.0
		if st.LegacyEnabled && st.ImportMode {
			enabled = 1
		}
		g(c.legacyEnabled, enabled, st.Connection)
	}
}
