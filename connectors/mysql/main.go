// Command mysql is the Trickle connector for a legacy MySQL or MariaDB
// database. Everything but the driver lives in connectors/kit/sqlcore.
package main

import (
	"context"
	"fmt"
	"os"

	_ "github.com/go-sql-driver/mysql" // registers the "mysql" driver

	"github.com/trickle-auth/trickle/connectors/kit/sqlcore"
)

func main() {
	if err := sqlcore.Main(context.Background(), os.Args[1:], "mysql", sqlcore.MySQL{}); err != nil {
		fmt.Fprintln(os.Stderr, "mysql connector:", err)
		os.Exit(1)
	}
}
