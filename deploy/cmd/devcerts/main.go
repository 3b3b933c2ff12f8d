// Command devcerts writes development certificates for mTLS between the
// auth service and the connectors (`make certs`):
//
//	ca.crt                     trust anchor for both sides
//	connector.crt/.key         server certificate for every connector
//	authd-client.crt/.key      client certificate the auth service presents
//
// Never use them in production.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trickle-auth/trickle/connectors/kit/devcerts"
)

func main() {
	out := flag.String("out", ".data/certs", "output directory")
	hosts := flag.String("hosts", "localhost,127.0.0.1,::1,connector-mysql,connector-postgres,connector-mssql,connector-webauth,trickle-connector-mysql,trickle-connector-postgres,trickle-connector-mssql", "comma-separated DNS names and IPs of the connectors")
	validity := flag.Duration("validity", 90*24*time.Hour, "certificate lifetime")
	flag.Parse()
	if err := run(*out, strings.Split(*hosts, ","), *validity); err != nil {
		fmt.Fprintln(os.Stderr, "devcerts:", err)
		os.Exit(1)
	}
}

func run(dir string, hosts []string, validity time.Duration) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, err := devcerts.NewCA("Trickle development CA", validity)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), ca.CertPEM, 0o644); err != nil {
		return err
	}
	srv, err := ca.Server("trickle-connector", hosts, validity)
	if err != nil {
		return err
	}
	if _, _, err := srv.Write(dir, "connector"); err != nil {
		return err
	}
	cli, err := ca.Client("trickle-authd", validity)
	if err != nil {
		return err
	}
	if _, _, err := cli.Write(dir, "authd-client"); err != nil {
		return err
	}
	fmt.Printf("wrote ca.crt, connector.crt/.key, authd-client.crt/.key to %s\n", dir)
	return nil
}
