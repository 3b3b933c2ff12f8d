module github.com/trickle-auth/trickle/connectors/kit

go 1.26.8
