// Command mssql is the Trickle connector for a legacy SQL Server
// database. Everything but the driver lives in connectors/kit/sqlcore.
package main

import (
	"context"
	"fmt"
	"os"

	_ "github.com/microsoft/go-mssqldb" // registers the "sqlserver" driver

	"github.com/trickle-auth/trickle/connectors/kit/sqlcore"
)

func main() {
	if err := sqlcore.Main(context.Background(), os.Args[1:], "sqlserver", sqlcore.MSSQL{}); err != nil {
		fmt.Fprintln(os.Stderr, "mssql connector:", err)
		os.Exit(1)
	}
}
