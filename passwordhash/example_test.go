package passwordhash_test

import (
	"errors"
	"fmt"

	"github.com/trickle-auth/trickle/passwordhash"
)

func Example() {
	v, err := passwordhash.New(passwordhash.Config{})
	if err != nil {
		panic(err)
	}
	// A WordPress (phpass) hash, format detected from the value.
	stored := passwordhash.Hash{Value: "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0"}
	fmt.Println(v.Verify("test12345", stored))
	fmt.Println(errors.Is(v.Verify("guess", stored), passwordhash.ErrMismatch))

	// ASP.NET Membership keeps the salt in its own column.
	membership := passwordhash.Hash{
		Format: passwordhash.FormatASPNetMembershipSHA1,
		Value:  "Vz9mJxudAR4ZVJTNI4W+oH7m3X0=",
		Salt:   "wZdnRVXWcvXZKY6HJmJqUg==",
	}
	fmt.Println(v.Verify("3GrM4v[eYgK-UT", membership))
	// Output:
	// <nil>
	// true
	// <nil>
}

func ExampleInspect() {
	info, err := passwordhash.Inspect("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	if err != nil {
		panic(err)
	}
	fmt.Println(info.Format, info.Argon2.MemoryKiB, info.Argon2.Time, info.Argon2.Threads)
	// Output: argon2id 65536 3 4
}
