// Command postgres is the Trickle connector for a legacy PostgreSQL
// database. Everything but the driver lives in connectors/kit/sqlcore.
package main

import (
	"context"
	"fmt"
	"os"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/trickle-auth/trickle/connectors/kit/sqlcore"
)

func main() {
	if err := sqlcore.Main(context.Background(), os.Args[1:], "pgx", sqlcore.Postgres{}); err != nil {
		fmt.Fprintln(os.Stderr, "postgres connector:", err)
		os.Exit(1)
	}
}
