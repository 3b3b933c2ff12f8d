module github.com/trickle-auth/trickle/connectors/webauth

go 1.26.8
