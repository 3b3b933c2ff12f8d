// Package sqlitetest runs the connector conformance suite over SQLite
// (modernc.org/sqlite, pure Go), the legacy store of the local runner's
// demo connector. It holds only tests, in a package of its own so that the
// SQLite driver stays out of the modules that import sqlcore.
package sqlitetest
