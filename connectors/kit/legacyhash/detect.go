package legacyhash

import (
	"fmt"
	"strings"
)

// Detect returns the format of a stored hash recognised by its shape. It
// returns an error wrapping ErrUnknownFormat when the value is not
// recognised. Formats that keep their salt apart (ASP.NET Membership,
// salted digests, Firebase scrypt) or store the password as-is cannot be
// detected from the value alone: name them in Hash.Format.
func Detect(value string) (string, error) {
	return detect(value, "")
}

// detect is Detect with the separate salt, which lets ASP.NET Membership
// hashes be recognised.
func detect(value, salt string) (string, error) {
	switch {
	case strings.HasPrefix(value, "$2a$"), strings.HasPrefix(value, "$2b$"), strings.HasPrefix(value, "$2y$"):
		return FormatBcrypt, nil
	}
	return "", fmt.Errorf("%w: not recognised", ErrUnknownFormat)
}
