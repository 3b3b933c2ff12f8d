package sqlcore

import (
	"fmt"
	"strconv"
	"strings"
)

// Dialect is what differs between SQL servers in the queries this package
// builds: placeholders, identifier quoting, and paging.
type Dialect interface {
	// Name is the dialect's name in errors and logs.
	Name() string
	// Placeholder returns the n-th (1-based) positional parameter.
	Placeholder(n int) string
	// Page returns "SELECT <cols> <from> ORDER BY <order>" limited to the
	// row count in the parameter limit (a placeholder from Placeholder).
	Page(cols, from, order, limit string) string
	// Text casts an expression to text, for ids the driver would return
	// as bytes (SQL Server uniqueidentifier).
	Text(expr string) string
}

// Postgres: $1 placeholders, LIMIT.
type Postgres struct{}

// MySQL (and MariaDB): ? placeholders, LIMIT.
type MySQL struct{}

// MSSQL (SQL Server): @p1 placeholders, TOP.
type MSSQL struct{}

// SQLite: ? placeholders, LIMIT. SQLite's built-in LOWER folds ASCII
// letters only, so the presets' case-insensitive match is ASCII-only unless
// the application registers a Unicode lower() with its driver.
type SQLite struct{}

var (
	_ Dialect = Postgres{}
	_ Dialect = MySQL{}
	_ Dialect = MSSQL{}
	_ Dialect = SQLite{}
)

func (Postgres) Name() string             { return "postgres" }
func (Postgres) Placeholder(n int) string { return "$" + strconv.Itoa(n) }
func (Postgres) Text(expr string) string  { return "CAST(" + expr + " AS text)" }
func (Postgres) Page(cols, from, order, limit string) string {
	return fmt.Sprintf("SELECT %s %s ORDER BY %s LIMIT %s", cols, from, order, limit)
}

func (MySQL) Name() string            { return "mysql" }
func (MySQL) Placeholder(int) string  { return "?" }
func (MySQL) Text(expr string) string { return "CAST(" + expr + " AS CHAR)" }
func (MySQL) Page(cols, from, order, limit string) string {
	return fmt.Sprintf("SELECT %s %s ORDER BY %s LIMIT %s", cols, from, order, limit)
}

func (MSSQL) Name() string             { return "mssql" }
func (MSSQL) Placeholder(n int) string { return "@p" + strconv.Itoa(n) }
func (MSSQL) Text(expr string) string  { return "CAST(" + expr + " AS nvarchar(64))" }
func (MSSQL) Page(cols, from, order, limit string) string {
	return fmt.Sprintf("SELECT TOP (%s) %s %s ORDER BY %s", limit, cols, from, order)
}

func (SQLite) Name() string            { return "sqlite" }
func (SQLite) Placeholder(int) string  { return "?" }
func (SQLite) Text(expr string) string { return "CAST(" + expr + " AS TEXT)" }
func (SQLite) Page(cols, from, order, limit string) string {
	return fmt.Sprintf("SELECT %s %s ORDER BY %s LIMIT %s", cols, from, order, limit)
}

// DialectByName returns the dialect for a configuration value.
func DialectByName(name string) (Dialect, error) {
	switch strings.ToLower(name) {
	case "postgres", "postgresql", "pgx":
		return Postgres{}, nil
	case "mysql", "mariadb":
		return MySQL{}, nil
	case "mssql", "sqlserver":
		return MSSQL{}, nil
	case "sqlite", "sqlite3":
		return SQLite{}, nil
	}
	return nil, fmt.Errorf("unknown SQL dialect %q", name)
}
