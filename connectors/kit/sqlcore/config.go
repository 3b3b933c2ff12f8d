package sqlcore

import (
	"errors"
	"fmt"
	"time"

	"github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/server"
	"github.com/trickle-auth/trickle/passwordhash"
)

// File is a SQL connector's whole configuration file.
type File struct {
	Server server.Config `yaml:"server"`
	Legacy Config        `yaml:"legacy"`
}

// SetDefaults fills both sections' defaults.
func (f *File) SetDefaults() { f.Server.SetDefaults(); f.Legacy.SetDefaults() }

// Validate checks both sections.
func (f *File) Validate() error { return errors.Join(f.Server.Validate(), f.Legacy.Validate()) }

// Config is the `legacy:` section: where the legacy database is and how its
// users are read.
type Config struct {
	// DSN of the legacy database, in the driver's syntax. Use {env: NAME}
	// or {file: PATH}: it holds the database password.
	DSN config.Secret `yaml:"dsn"`
	// Preset names a well-known schema (wordpress, django, laravel,
	// drupal7, aspnet-membership, generic); the fields below override
	// parts of it. Empty means everything is configured here.
	Preset string `yaml:"preset"`
	// TablePrefix is prepended to the preset's table names (WordPress
	// "wp_" by default, Drupal's db prefix).
	TablePrefix *string `yaml:"table_prefix"`
	// Queries replace the preset's queries (see Queries).
	Queries Queries `yaml:"queries"`
	// Columns maps result columns to profile targets, on top of the
	// standard column names (see the package documentation).
	Columns map[string]string `yaml:"columns"`
	// Metadata queries read key/value tables; when set they replace the
	// preset's, and an empty list (`metadata: []`) switches the preset's
	// off (e.g. a WordPress without wp_usermeta).
	Metadata []MetadataQuery `yaml:"metadata"`
	// IDType is the legacy id's type, for :after in the list query: int,
	// string or uuid. Default: the preset's, else int.
	IDType string `yaml:"id_type"`
	// Hash selects the legacy hash format.
	Hash HashConfig `yaml:"hash"`
	// SharePasswordHash adds the legacy hash to Login responses so the
	// auth service can keep it instead of hashing again.
	SharePasswordHash bool `yaml:"share_password_hash"`
	// Pool bounds the connections to the legacy database.
	Pool PoolConfig `yaml:"pool"`
}

// Queries are SQL with named parameters (:identifier, :legacy_id, :after,
// :limit), bound as parameters by the driver. Result columns are mapped by
// name (see the package documentation).
type Queries struct {
	// User finds users by :identifier (email or username, compare
	// case-insensitively). More than one row means ambiguous: refused.
	User string `yaml:"user"`
	// Count returns one row with the number of users.
	Count string `yaml:"count"`
	// List returns the users with legacy id > :after ordered by legacy id,
	// at most :limit rows.
	List string `yaml:"list"`
	// ListFirst is the first page of List: the same query without the
	// :after bound (only :limit), so that no "lowest id" value has to be
	// bound in the id column's type. Presets set it; when List is set here
	// without it, the first page binds :after = -2147483648 (int ids), ""
	// (string ids) or the nil UUID.
	ListFirst string `yaml:"list_first"`
}

// MetadataQuery reads (key, value) rows for one user (:legacy_id), as in
// WordPress's wp_usermeta.
type MetadataQuery struct {
	Query string `yaml:"query"`
	// Keys maps a key to a target; keys not listed are ignored. A key seen
	// more than once becomes a list.
	Keys map[string]string `yaml:"keys"`
}

// HashConfig selects the format of the stored hashes.
type HashConfig struct {
	// Format is the passwordhash format name for every user; empty detects
	// it from each hash (or uses the password_format column).
	Format string `yaml:"format"`
	// FormatMap maps the password_format column's values to format names
	// (ASP.NET Membership's PasswordFormat 0/1).
	FormatMap map[string]string `yaml:"format_map"`
	// Settings for salted digests and Firebase scrypt.
	Params passwordhash.Config `yaml:",inline"`
}

// PoolConfig bounds database/sql's pool. Keep MaxOpenConns at or above the
// server's max_concurrent_calls and within what the legacy DB can spare.
type PoolConfig struct {
	MaxOpenConns    int           `yaml:"max_open_conns"`
	MaxIdleConns    int           `yaml:"max_idle_conns"`
	ConnMaxLifetime time.Duration `yaml:"conn_max_lifetime"`
	ConnMaxIdleTime time.Duration `yaml:"conn_max_idle_time"`
}

// SetDefaults fills the pool defaults.
func (c *Config) SetDefaults() {
	c.Pool = PoolConfig{MaxOpenConns: 16, MaxIdleConns: 4, ConnMaxLifetime: 30 * time.Minute, ConnMaxIdleTime: 5 * time.Minute}
}

// Validate checks what can be checked without a dialect; Open checks the
// queries.
func (c *Config) Validate() error {
	var errs []error
	if !c.DSN.IsSet() {
		errs = append(errs, errors.New("legacy.dsn is required (use {env: NAME} or {file: PATH})"))
	}
	if c.Preset != "" {
		if _, ok := presets[c.Preset]; !ok {
			errs = append(errs, fmt.Errorf("legacy.preset %q: want one of %v", c.Preset, PresetNames()))
		}
	} else if c.Queries.User == "" {
		errs = append(errs, errors.New("legacy: set a preset or queries.user"))
	}
	if c.Queries.ListFirst != "" && c.Queries.List == "" {
		errs = append(errs, errors.New("legacy.queries.list_first needs queries.list"))
	}
	switch c.IDType {
	case "", idInt, idString, idUUID:
	default:
		errs = append(errs, fmt.Errorf("legacy.id_type %q: want int, string or uuid", c.IDType))
	}
	if c.Pool.MaxOpenConns <= 0 {
		errs = append(errs, errors.New("legacy.pool.max_open_conns must be positive"))
	}
	return errors.Join(errs...)
}

const (
	idInt    = "int"
	idString = "string"
	idUUID   = "uuid"
)
