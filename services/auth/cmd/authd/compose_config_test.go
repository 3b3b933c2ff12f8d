package main

import (
	"testing"

	"github.com/trickle-auth/trickle/services/auth/internal/config"
)

// The configuration deploy/compose.yaml mounts must load with authd's own
// config type (deploy/compose's test checks the rest of the compose file).
func TestComposeConfigLoads(t *testing.T) {
	cfg, err := config.Load("../../../../deploy/compose/auth.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Connections) != 3 {
		t.Errorf("connections = %d, want one per legacy database (3)", len(cfg.Connections))
	}
	for _, c := range cfg.Connections {
		if !c.ImportMode || !c.LegacyEnabled || !c.Connector.Token.IsSet() {
			t.Errorf("connection %s: want import mode, the legacy store on and a token", c.Name)
		}
	}
	if cfg.Redis.Addr == "" || !cfg.Admin.APIKey.IsSet() {
		t.Error("compose runs with Redis and the management API")
	}
}
