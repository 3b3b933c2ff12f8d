module github.com/trickle-auth/trickle/connectors/mssql

go 1.26.8
