module github.com/trickle-auth/trickle/connectors/postgres

go 1.26.8
