package sqlitetest_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"modernc.org/sqlite"

	"github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/conformance"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore/presettest"
)

// sqlitePresets are the presets run over SQLite: the demo's (generic) and
// those whose SQL differs most (metadata queries, CONCAT/TRIM, uuid ids and
// format_map). laravel and drupal7 add nothing SQLite-specific and their
// bcrypt-heavy runs would push the package past its time budget under
// -race; they run on PostgreSQL, MariaDB and SQL Server.
var sqlitePresets = []string{"generic", "wordpress", "django", "aspnet-membership"}

// TestSQLiteConformance runs the connector suite over SQLite (modernc.org,
// pure Go), as the local runner's demo connector uses it.
// SQLite has no network, so a gate driver in front of the real one stands
// in for conformance.Proxy: it can refuse every call (store down) or delay
// them (store slow).
func TestSQLiteConformance(t *testing.T) {
	registerUnicodeLower(t)
	for _, preset := range sqlitePresets {
		t.Run(preset, func(t *testing.T) {
			t.Parallel()
			conformance.Run(t, func(t *testing.T) conformance.Fixture {
				dsn := "file:" + filepath.Join(t.TempDir(), "legacy.db") + "?_pragma=busy_timeout(5000)"
				seed, err := sql.Open("sqlite", dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = seed.Close() })
				presettest.Seed(t, seed, sqlcore.SQLite{}, preset)

				g := newGate(t)
				var cfg sqlcore.Config
				cfg.SetDefaults()
				cfg.DSN = config.SecretLiteral(dsn)
				cfg.Preset = preset
				cfg.SharePasswordHash = true
				c, err := sqlcore.Open(cfg, g.name, sqlcore.SQLite{}, nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = c.Close() })
				return conformance.Fixture{
					Connector:       c,
					Users:           presettest.Users(t, preset),
					LoginSharesHash: true,
					Unreachable:     func() { g.cut.Store(true) },
					Slow:            func(d time.Duration) { g.delay.Store(int64(d)) },
				}
			})
		})
	}
}

// SQLite's own lower() folds ASCII only; the presets compare identifiers
// with LOWER() on both sides, and the suite logs in as "BJØRN.K".
var lowerOnce sync.Once

func registerUnicodeLower(t *testing.T) {
	lowerOnce.Do(func() {
		err := sqlite.RegisterDeterministicScalarFunction("lower", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case string:
				return strings.ToLower(v), nil
			case []byte:
				return strings.ToLower(string(v)), nil
			default:
				return v, nil
			}
		})
		if err != nil {
			t.Fatalf("register lower(): %v", err)
		}
	})
}

// gate is a database/sql driver in front of modernc's "sqlite" driver.
type gate struct {
	name  string
	base  driver.Driver
	cut   atomic.Bool
	delay atomic.Int64
}

var gateSeq atomic.Int64

func newGate(t *testing.T) *gate {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{name: fmt.Sprintf("sqlite-gate-%d", gateSeq.Add(1)), base: db.Driver()}
	_ = db.Close()
	sql.Register(g.name, g)
	return g
}

var errDown = errors.New("legacy store down (test gate)")

func (g *gate) Open(name string) (driver.Conn, error) {
	if g.cut.Load() {
		return nil, errDown
	}
	c, err := g.base.Open(name)
	if err != nil {
		return nil, err
	}
	return &gateConn{Conn: c, g: g}, nil
}

// wait applies the gate to one call.
func (g *gate) wait(ctx context.Context) error {
	if g.cut.Load() {
		return driver.ErrBadConn
	}
	if d := time.Duration(g.delay.Load()); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

type gateConn struct {
	driver.Conn
	g *gate
}

func (c *gateConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	if err := c.g.wait(ctx); err != nil {
		return nil, err
	}
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *gateConn) Ping(ctx context.Context) error {
	if err := c.g.wait(ctx); err != nil {
		return err
	}
	return c.Conn.(driver.Pinger).Ping(ctx)
}

func (c *gateConn) IsValid() bool { return !c.g.cut.Load() }
