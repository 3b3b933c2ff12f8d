// Package sqlcore is the connector core shared by the SQL connectors
// (PostgreSQL, MySQL/MariaDB, SQL Server): one implementation over
// database/sql, configured with queries or a preset, and a Dialect.
//
// # Result columns
//
// The user, list and count queries are plain SQL with named parameters
// (:identifier, :after, :limit; :legacy_id in metadata queries) that are
// always sent as bind parameters. Result columns are mapped by name:
//
//   - legacy_id, email, email_verified, username, name, given_name,
//     family_name, nickname, picture, phone_number: the profile fields;
//   - user_metadata, app_metadata: a JSON object merged into that field;
//   - password_hash, password_salt, password_format: what the verifier
//     needs (password_format through hash.format_map when set);
//   - active: false refuses the login (blocked, unapproved users);
//   - anything else through `columns`: column -> target, where a target
//     is a field above, "user_metadata.KEY[:type]", "app_metadata.KEY[:type]"
//     or "-" (ignore); types: auto, string, bool, int, float, json, list,
//     php-roles (a WordPress capabilities array).
//
// Metadata queries return (key, value) rows for one user, mapped by
// `keys` to targets the same way; a key seen twice becomes a list.
package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/trickle-auth/trickle/connectors/kit/connector"
	"github.com/trickle-auth/trickle/passwordhash"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

// Connector serves one legacy SQL database.
type Connector struct {
	db       *sql.DB
	log      *slog.Logger
	verifier *passwordhash.Verifier
	cfg      Config // resolved: the preset merged with the overrides
	user     boundQuery
	count    *boundQuery // nil: not configured
	list     *boundQuery
	first    *boundQuery // the list's first page; nil: bind the lowest id
	metadata []metadataQuery
	columns  map[string]target
	dummy    atomic.Pointer[passwordhash.Hash]
}

type metadataQuery struct {
	q    boundQuery
	keys map[string]target
}

var (
	_ connector.PasswordConnector = (*Connector)(nil)
	_ connector.UserLookup        = (*Connector)(nil)
	_ connector.Counter           = (*Connector)(nil)
	_ connector.Lister            = (*Connector)(nil)
	_ connector.Pinger            = (*Connector)(nil)
)

// fallbackDummy is verified for unknown users until a real hash of the
// store is known, so that unknown users cost about as much as known ones.
var fallbackDummy = passwordhash.Hash{Value: "$2y$10$gVOOpuHN1fi43JfMnOO9.O9IxxN8gsoKxqzuwTZpzNjnAZdgi878O"}

// Open checks cfg, builds the queries for dialect d and opens the pool on
// the database/sql driver driverName. It does not need the database to be
// up.
func Open(cfg Config, driverName string, d Dialect, log *slog.Logger) (*Connector, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rc, err := cfg.resolve(d)
	if err != nil {
		return nil, err
	}
	c := &Connector{log: log, cfg: rc, columns: map[string]target{}}
	if c.verifier, err = passwordhash.New(rc.Hash.Params); err != nil {
		return nil, fmt.Errorf("legacy.hash: %w", err)
	}
	if c.user, err = bind(d, rc.Queries.User, paramIdentifier); err != nil {
		return nil, fmt.Errorf("legacy.queries.user: %w", err)
	}
	if rc.Queries.Count != "" {
		q, err := bind(d, rc.Queries.Count)
		if err != nil {
			return nil, fmt.Errorf("legacy.queries.count: %w", err)
		}
		c.count = &q
	}
	if rc.Queries.List != "" {
		q, err := bind(d, rc.Queries.List, paramAfter, paramLimit)
		if err != nil {
			return nil, fmt.Errorf("legacy.queries.list: %w", err)
		}
		c.list = &q
	}
	if rc.Queries.ListFirst != "" {
		q, err := bind(d, rc.Queries.ListFirst, paramLimit)
		if err != nil {
			return nil, fmt.Errorf("legacy.queries.list_first: %w", err)
		}
		c.first = &q
	}
	for col, t := range rc.Columns {
		if c.columns[strings.ToLower(col)], err = parseTarget(t); err != nil {
			return nil, fmt.Errorf("legacy.columns.%s: %w", col, err)
		}
	}
	for i, m := range rc.Metadata {
		mq := metadataQuery{keys: map[string]target{}}
		if mq.q, err = bind(d, m.Query, paramLegacyID); err != nil {
			return nil, fmt.Errorf("legacy.metadata[%d].query: %w", i, err)
		}
		for k, t := range m.Keys {
			if mq.keys[k], err = parseTarget(t); err != nil {
				return nil, fmt.Errorf("legacy.metadata[%d].keys.%s: %w", i, k, err)
			}
		}
		c.metadata = append(c.metadata, mq)
	}
	dsn, err := rc.DSN.Value()
	if err != nil {
		return nil, fmt.Errorf("legacy.dsn: %w", err)
	}
	if c.db, err = sql.Open(driverName, dsn); err != nil {
		return nil, fmt.Errorf("legacy.dsn: %w", redactDSN(err))
	}
	c.db.SetMaxOpenConns(rc.Pool.MaxOpenConns)
	c.db.SetMaxIdleConns(rc.Pool.MaxIdleConns)
	c.db.SetConnMaxLifetime(rc.Pool.ConnMaxLifetime)
	c.db.SetConnMaxIdleTime(rc.Pool.ConnMaxIdleTime)
	return c, nil
}

// userinfo matches the password part of URL-style DSNs in driver errors.
var userinfo = regexp.MustCompile(`//([^:/@]*):[^@/]*@`)

func redactDSN(err error) error {
	return errors.New(userinfo.ReplaceAllString(err.Error(), "//$1:***@"))
}

// Close closes the pool.
func (c *Connector) Close() error { return c.db.Close() }

// probeIdentifier matches no user: .invalid is a reserved top-level domain.
const probeIdentifier = "trickle-readiness-probe@example.invalid"

// Ping checks that the database answers and that the configured queries
// run (a missing table or column fails here rather than on every login).
// The user and metadata queries run for ids that match nobody, the list
// for one row; the count is skipped (it may scan the table).
func (c *Connector) Ping(ctx context.Context) error {
	if err := c.db.PingContext(ctx); err != nil {
		return redactDSN(err)
	}
	if _, err := c.query(ctx, c.user, map[string]any{paramIdentifier: probeIdentifier}, 1); err != nil {
		return fmt.Errorf("legacy.queries.user: %w", err)
	}
	if c.list != nil {
		if _, err := c.page(ctx, connector.Page{Limit: 1}); err != nil {
			return fmt.Errorf("legacy.queries.list: %w", err)
		}
	}
	probe := newRecord()
	probe.p.LegacyId = map[string]string{idInt: "-1", idUUID: nilUUID}[c.cfg.IDType]
	for i, m := range c.metadata {
		if err := c.readMetadata(ctx, m, probe); err != nil {
			return fmt.Errorf("legacy.metadata[%d]: %w", i, err)
		}
	}
	return nil
}

// Login verifies password for the one user matching identifier. No match,
// or several, is ErrNotFound; a refusal for the one match names its legacy
// id (WrongPassword), whichever spelling of the identifier the database's
// collation matched.
func (c *Connector) Login(ctx context.Context, identifier, password string) (*connector.Profile, error) {
	recs, err := c.find(ctx, identifier)
	if err != nil {
		return nil, err
	}
	if len(recs) != 1 {
		c.verifyDummy(ctx, password)
		return nil, connector.ErrNotFound
	}
	r := recs[0]
	if r.hash == "" { // no password can match: refused for this account
		c.verifyDummy(ctx, password)
		return nil, connector.WrongPassword(r.p.LegacyId)
	}
	h, err := c.hashOf(r)
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", r.p.LegacyId, err)
	}
	switch err := c.verifier.Verify(password, h); {
	case errors.Is(err, passwordhash.ErrMismatch):
		return nil, connector.WrongPassword(r.p.LegacyId)
	case err != nil: // the message names the format, never the hash
		return nil, fmt.Errorf("user %s: %w", r.p.LegacyId, err)
	}
	if r.hasActive && !r.active { // blocked or unapproved: the store says no
		return nil, connector.WrongPassword(r.p.LegacyId)
	}
	p, err := c.finish(ctx, r)
	if err != nil {
		return nil, err
	}
	if c.cfg.SharePasswordHash {
		p.PasswordHash = shared(h)
	}
	return p, nil
}

// maxAmbiguous bounds the rows GetUser reads for one identifier.
const maxAmbiguous = 16

// GetUser returns the user matching identifier. Several matches (emails
// that differ only in case or surrounding spaces) still mean "exists", so
// that a sign-up cannot take the address: the answer is the match with the
// lowest legacy id, the same one every time.
func (c *Connector) GetUser(ctx context.Context, identifier string) (*connector.Profile, error) {
	recs, err := c.query(ctx, c.user, map[string]any{paramIdentifier: strings.TrimSpace(identifier)}, maxAmbiguous)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, connector.ErrNotFound
	}
	first := recs[0]
	for _, r := range recs[1:] {
		if lessID(r.p.LegacyId, first.p.LegacyId) {
			first = r
		}
	}
	if len(recs) > 1 {
		c.log.WarnContext(ctx, "identifier matches several legacy users; GetUser answers the lowest id", "legacy_id", first.p.LegacyId, "matches", len(recs))
	}
	return c.finish(ctx, first)
}

// lessID orders legacy ids numerically when both are integers.
func lessID(a, b string) bool {
	x, errA := strconv.ParseInt(a, 10, 64)
	y, errB := strconv.ParseInt(b, 10, 64)
	if errA == nil && errB == nil {
		return x < y
	}
	return strings.ToLower(a) < strings.ToLower(b)
}

// CountUsers runs the count query.
func (c *Connector) CountUsers(ctx context.Context) (int64, error) {
	if c.count == nil {
		return 0, fmt.Errorf("%w: no count query", connector.ErrUnimplemented)
	}
	var n int64
	if err := c.db.QueryRowContext(ctx, c.count.sql).Scan(&n); err != nil {
		return 0, err
	}
	return n, nil
}

// ListUsers runs the list query for one page.
func (c *Connector) ListUsers(ctx context.Context, pg connector.Page) ([]*connector.Profile, error) {
	if c.list == nil {
		return nil, fmt.Errorf("%w: no list query", connector.ErrUnimplemented)
	}
	recs, err := c.page(ctx, pg)
	if err != nil {
		return nil, err
	}
	out := make([]*connector.Profile, 0, len(recs))
	for _, r := range recs {
		p, err := c.finish(ctx, r)
		if err != nil {
			return nil, err
		}
		if pg.WithPasswords && r.hash != "" {
			h, err := c.hashOf(r)
			if err != nil { // unverifiable here; the importer may know better
				h = passwordhash.Hash{Value: r.hash, Salt: r.salt}
			}
			p.PasswordHash = shared(h)
		}
		out = append(out, p)
	}
	return out, nil
}

// page reads one page of records: the first page without a lower bound
// when the list_first query is there.
func (c *Connector) page(ctx context.Context, pg connector.Page) ([]*record, error) {
	vals := map[string]any{paramLimit: int64(pg.Limit)}
	q := *c.list
	if pg.After == "" && c.first != nil {
		q = *c.first
	} else {
		after, err := c.afterValue(pg.After)
		if err != nil {
			return nil, err
		}
		vals[paramAfter] = after
	}
	return c.query(ctx, q, vals, pg.Limit)
}

const nilUUID = "00000000-0000-0000-0000-000000000000"

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// afterValue turns start_after_legacy_id into a value of the id's type;
// "" is below every id (for int ids: every id an INT column can hold, so
// that the value also binds to PostgreSQL int4).
func (c *Connector) afterValue(after string) (any, error) {
	switch c.cfg.IDType {
	case idInt:
		if after == "" {
			return int64(math.MinInt32), nil
		}
		n, err := strconv.ParseInt(after, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: start_after_legacy_id is not an integer id", connector.ErrInvalidArgument)
		}
		return n, nil
	case idUUID:
		if after == "" {
			return nilUUID, nil
		}
		if !uuidRE.MatchString(after) {
			return nil, fmt.Errorf("%w: start_after_legacy_id is not a UUID", connector.ErrInvalidArgument)
		}
		return strings.ToLower(after), nil
	}
	return after, nil
}

// find runs the user query for the trimmed identifier (as the auth service
// normalizes it), reading at most two rows: two means ambiguous.
func (c *Connector) find(ctx context.Context, identifier string) ([]*record, error) {
	recs, err := c.query(ctx, c.user, map[string]any{paramIdentifier: strings.TrimSpace(identifier)}, 2)
	if len(recs) > 1 {
		c.log.WarnContext(ctx, "identifier matches several legacy users; refused", "legacy_ids", []string{recs[0].p.LegacyId, recs[1].p.LegacyId})
	}
	return recs, err
}

// query runs q and reads at most max rows into records.
func (c *Connector) query(ctx context.Context, q boundQuery, vals map[string]any, max int) ([]*record, error) {
	rows, err := c.db.QueryContext(ctx, q.sql, q.args(vals)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	targets := make([]target, len(cols))
	for i, col := range cols {
		name := strings.ToLower(col)
		t, ok := c.columns[name]
		switch {
		case ok:
		case contains(standardColumns, name):
			t = target{field: name, kind: "auto"}
		default:
			return nil, fmt.Errorf("result column %q is neither a standard name nor in legacy.columns", col)
		}
		targets[i] = t
	}
	var out []*record
	vals2 := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for rows.Next() && len(out) < max {
		for i := range vals2 {
			vals2[i] = nil
			ptrs[i] = &vals2[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		r := newRecord()
		for i, v := range vals2 {
			if err := r.set(targets[i], v); err != nil {
				return nil, fmt.Errorf("column %s: %w", cols[i], err)
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// finish runs the metadata queries and builds the profile.
func (c *Connector) finish(ctx context.Context, r *record) (*connector.Profile, error) {
	for _, m := range c.metadata {
		if err := c.readMetadata(ctx, m, r); err != nil {
			return nil, err
		}
	}
	return r.profile()
}

func (c *Connector) readMetadata(ctx context.Context, m metadataQuery, r *record) error {
	rows, err := c.db.QueryContext(ctx, m.q.sql, m.q.args(map[string]any{paramLegacyID: r.p.LegacyId})...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v any
		if err := rows.Scan(&k, &v); err != nil {
			return fmt.Errorf("metadata query must return (key, value): %w", err)
		}
		t, ok := m.keys[asString(k)]
		if !ok {
			continue
		}
		if err := r.set(t, v); err != nil {
			return fmt.Errorf("metadata key %s: %w", asString(k), err)
		}
	}
	return rows.Err()
}

// hashOf picks the format: format_map on the password_format column, else
// the configured format, else the column's value, else detection.
func (c *Connector) hashOf(r *record) (passwordhash.Hash, error) {
	h := passwordhash.Hash{Format: c.cfg.Hash.Format, Value: r.hash, Salt: r.salt}
	if c.cfg.Hash.FormatMap != nil {
		f, ok := c.cfg.Hash.FormatMap[r.format]
		if !ok {
			return h, fmt.Errorf("%w: password_format %q is not in hash.format_map", passwordhash.ErrUnknownFormat, r.format)
		}
		h.Format = f
	} else if h.Format == "" {
		h.Format = r.format
	}
	return h, nil
}

// verifyDummy spends about the time a real verification takes, against a
// hash from the store itself when one could be read.
func (c *Connector) verifyDummy(ctx context.Context, password string) {
	h := c.dummy.Load()
	if h == nil && c.list != nil {
		if page, err := c.ListUsers(ctx, connector.Page{Limit: 1, WithPasswords: true}); err == nil && len(page) == 1 && page[0].PasswordHash != nil {
			ph := page[0].PasswordHash
			h = &passwordhash.Hash{Format: ph.Format, Value: ph.Hash, Salt: ph.Salt}
			c.dummy.Store(h)
		}
	}
	if h == nil {
		h = &fallbackDummy
	}
	_ = c.verifier.Verify(password, *h)
}

// shared is the hash as the contract carries it, with the format named
// whenever it can be detected.
func shared(h passwordhash.Hash) *connectorv1.LegacyPasswordHash {
	if h.Format == "" {
		h.Format, _ = passwordhash.Detect(h.Value)
	}
	return &connectorv1.LegacyPasswordHash{Hash: h.Value, Format: h.Format, Salt: h.Salt}
}
