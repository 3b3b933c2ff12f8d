// Package connset is the set of configured connections, each with its
// connector client, swapped whole on a configuration reload.
package connset

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/trickle-auth/trickle/services/auth/internal/config"
	"github.com/trickle-auth/trickle/services/auth/internal/legacy"
)

// Connection is a configured connection with its connector client.
type Connection struct {
	config.Connection
	// Legacy is nil when the legacy store is switched off.
	Legacy legacy.Connector
	// LockTTL bounds how long one replica may hold the migration lock: above
	// the connector deadline plus hashing and the insert.
	LockTTL time.Duration
}

// UsesLegacy reports whether unknown users are looked up in the legacy
// store: import mode on and the legacy store not cut over.
func (c *Connection) UsesLegacy() bool {
	return c.ImportMode && c.LegacyEnabled && c.Legacy != nil
}

// Connections is the set of configured connections. It is swapped whole on
// a configuration reload, so a login sees one consistent version.
type Connections struct {
	byName map[string]*Connection
}

// NewConnections builds the set; dial creates a connector client for each
// connection whose legacy store is in use.
func NewConnections(cfgs []config.Connection, dial func(config.Connector) (legacy.Connector, error)) (*Connections, error) {
	cs := &Connections{byName: make(map[string]*Connection, len(cfgs))}
	for _, c := range cfgs {
		ttl := c.Connector.LockTTL
		if ttl <= c.Connector.Timeout { // not validated (tests build configs by hand)
			ttl = c.Connector.Timeout + 5*time.Second
		}
		conn := &Connection{Connection: c, LockTTL: ttl}
		if c.ImportMode && c.LegacyEnabled {
			l, err := dial(c.Connector)
			if err != nil {
				cs.Close() // the clients dialed so far
				return nil, fmt.Errorf("connection %q: %w", c.Name, err)
			}
			conn.Legacy = l
		}
		cs.byName[c.Name] = conn
	}
	return cs, nil
}

// Close closes the connector clients of the set (after a reload has
// replaced it and calls in flight are done).
func (cs *Connections) Close() {
	for _, c := range cs.byName {
		if cl, ok := c.Legacy.(io.Closer); ok {
			_ = cl.Close()
		}
	}
}

// Get returns the named connection.
func (cs *Connections) Get(name string) (*Connection, bool) {
	c, ok := cs.byName[name]
	return c, ok
}

// All returns every connection (for status and management).
func (cs *Connections) All() []*Connection {
	out := make([]*Connection, 0, len(cs.byName))
	for _, c := range cs.byName {
		out = append(out, c)
	}
	return out
}

// ConnectionSource hands out the current connection set.
type ConnectionSource struct {
	cur atomic.Pointer[Connections]
}

// NewConnectionSource starts with cs.
func NewConnectionSource(cs *Connections) *ConnectionSource {
	s := &ConnectionSource{}
	s.cur.Store(cs)
	return s
}

// Current returns the set in force.
func (s *ConnectionSource) Current() *Connections { return s.cur.Load() }

// Swap installs a new set and returns the old one.
func (s *ConnectionSource) Swap(cs *Connections) *Connections { return s.cur.Swap(cs) }
