module github.com/trickle-auth/trickle/passwordhash

go 1.26.8

require (
	github.com/go-crypt/x v0.4.16
	golang.org/x/crypto v0.58.0
)

require golang.org/x/sys v0.49.0 // indirect
