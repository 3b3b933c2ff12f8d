package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Secret is a configuration value that must not be written into the file
// itself in production. In YAML it is one of:
//
//	token: "literal value"          # tests and loopback only
//	token: {env: CONNECTOR_TOKEN}   # from an environment variable
//	token: {file: /run/secrets/tok} # from a file, trailing newline trimmed
//
// The value is read when Value is called, so a rotated file is picked up by
// whoever calls Value again. Secret never prints its value.
type Secret struct {
	literal string
	env     string
	file    string
}

// SecretLiteral returns a Secret holding v (for tests and code-built
// configuration).
func SecretLiteral(v string) Secret { return Secret{literal: v} }

// SecretEnv returns a Secret read from the environment variable name.
func SecretEnv(name string) Secret { return Secret{env: name} }

// SecretFile returns a Secret read from the file at path.
func SecretFile(path string) Secret { return Secret{file: path} }

// IsSet reports whether the secret was configured at all.
func (s Secret) IsSet() bool { return s.literal != "" || s.env != "" || s.file != "" }

// Value resolves the secret. An unset environment variable, an unreadable
// file or an empty result is an error.
func (s Secret) Value() (string, error) {
	var v string
	switch {
	case s.env != "":
		var ok bool
		if v, ok = os.LookupEnv(s.env); !ok {
			return "", fmt.Errorf("secret: environment variable %s is not set", s.env)
		}
	case s.file != "":
		b, err := os.ReadFile(s.file)
		if err != nil {
			return "", fmt.Errorf("secret: %w", err)
		}
		v = strings.TrimRight(string(b), "\r\n")
	default:
		v = s.literal
	}
	if v == "" {
		return "", errors.New("secret: empty value")
	}
	return v, nil
}

// UnmarshalYAML accepts a scalar (literal) or a mapping with exactly one of
// env or file.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = Secret{literal: n.Value}
		return nil
	}
	var src struct {
		Env  string `yaml:"env"`
		File string `yaml:"file"`
	}
	if err := n.Decode(&src); err != nil {
		return fmt.Errorf("secret: want a string or {env: NAME} or {file: PATH}: %w", err)
	}
	if (src.Env == "") == (src.File == "") {
		return fmt.Errorf("line %d: secret: set exactly one of env or file", n.Line)
	}
	*s = Secret{env: src.Env, file: src.File}
	return nil
}

// String describes where the secret comes from, never its value.
func (s Secret) String() string {
	switch {
	case s.env != "":
		return "env:" + s.env
	case s.file != "":
		return "file:" + s.file
	case s.literal != "":
		return "literal:[redacted]"
	}
	return "unset"
}

// LogValue keeps the value out of slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalYAML keeps the value out of dumped configuration.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

var _ slog.LogValuer = Secret{}
var _ yaml.Unmarshaler = (*Secret)(nil)
