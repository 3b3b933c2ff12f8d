module github.com/trickle-auth/trickle/connectors/mysql

go 1.26.8
