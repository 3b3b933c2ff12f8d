package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// printCommands tells people what is running and what to try.
func printCommands(w io.Writer, d *Demo) {
	rest := "http://" + d.HTTPAddr
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("")
	p("Trickle local demo is running. Ctrl-C stops it; data stays in %s (make run RUN_ARGS=-reset starts afresh).", rel(d.DataDir))
	p("")
	p("  auth service   gRPC %s, REST %s, metrics http://%s/metrics", d.GRPCAddr, rest, d.OpsAddr)
	p("  management     %s (gRPC and REST, admin key; not on the public listeners)", d.AdminAddr)
	p("  user store     %s", d.UserStore)
	p("  lock           %s", d.Lock)
	p("  connection     %q: %s", d.Connection, d.Legacy)
	p("  config         %s/auth.yaml (authd --config takes it as is), %s/connector.yaml", rel(d.DataDir), rel(d.DataDir))
	p("  admin API key  %s", d.AdminKey)
	p("")
	p("Demo users of the legacy store, each with a hash made by the software that uses its format:")
	for _, u := range demoUsers {
		p("  %-22s %-30s %s", u.Email, u.Password, u.Format)
	}
	p("")
	p("Log in over REST. The first login copies the user from the legacy store (\"migrated\": true);")
	p("log in again and it is verified in the user store only (no \"migrated\" field: false):")
	for _, u := range demoUsers {
		p("  curl -s %s/v1/login -d '%s'", rest, loginJSON(d.Connection, u.Email, u.Password))
	}
	p("")
	p("The same over gRPC (username works as well as email):")
	for _, u := range demoUsers {
		p("  grpcurl -plaintext -d '%s' %s trickle.auth.v1.AuthService/Login", loginJSON(d.Connection, u.Username, u.Password), d.GRPCAddr)
	}
	p("")
	p("A wrong password, an unknown user and an unmigrated user's wrong password all get the same 401:")
	p("  curl -s %s/v1/login -d '%s'", rest, loginJSON(d.Connection, demoUsers[0].Email, "wrong password"))
	p("")
	p("Migration status of the connection (management API, admin key):")
	p("  curl -s -H 'authorization: Bearer %s' http://%s/v1/connections/%s/migration", d.AdminKey, d.AdminAddr, d.Connection)
	p("  grpcurl -plaintext -H 'authorization: Bearer %s' -d '{\"connection\":\"%s\"}' %s trickle.auth.v1.ManagementService/GetMigrationStatus", d.AdminKey, d.Connection, d.AdminAddr)
	p("  authctl --admin-addr %s status   (with TRICKLE_ADMIN_KEY set)", d.AdminAddr)
	p("")
	p("Token keys and metrics:")
	p("  curl -s %s/.well-known/jwks.json", rest)
	p("  curl -s http://%s/metrics | grep '^trickle_'", d.OpsAddr)
	p("")
}

// loginJSON is a LoginRequest body; passwords are JSON-escaped and the
// demo's contain no single quote, so it goes inside '...' in a shell.
func loginJSON(connection, identifier, password string) string {
	b, _ := json.Marshal(struct {
		Connection string `json:"connection"`
		Identifier string `json:"identifier"`
		Password   string `json:"password"`
	}{connection, identifier, password})
	if strings.ContainsRune(string(b), '\'') {
		panic("demo password with a single quote")
	}
	return string(b)
}
