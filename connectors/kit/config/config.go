// Package config loads a service's YAML configuration file.
//
// The file is expanded first: ${NAME} is replaced by the environment
// variable NAME (an unset variable is an error) and ${NAME:-default} by
// NAME or default. A bare $ is left alone, so hashes and passwords written
// literally survive. Decoding is strict: an unknown key is an error, so a
// typo cannot silently fall back to a default.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Defaulter is implemented by configuration types that fill their defaults
// before the file is decoded over them.
type Defaulter interface {
	SetDefaults()
}

// Validator is implemented by configuration types that check themselves
// after decoding.
type Validator interface {
	Validate() error
}

// Load reads the YAML file at path into into (a pointer). See the package
// documentation for expansion and strictness.
func Load(path string, into any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := Decode(raw, into); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// Decode is Load for a document already in memory.
func Decode(raw []byte, into any) error {
	expanded, err := Expand(raw, os.LookupEnv)
	if err != nil {
		return err
	}
	if d, ok := into.(Defaulter); ok {
		d.SetDefaults()
	}
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if v, ok := into.(Validator); ok {
		if err := v.Validate(); err != nil {
			return err
		}
	}
	return nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// Expand replaces ${NAME} and ${NAME:-default} in raw using lookup. It
// reports every unset variable without a default in one error.
func Expand(raw []byte, lookup func(string) (string, bool)) ([]byte, error) {
	missing := map[string]bool{}
	out := envRef.ReplaceAllFunc(raw, func(ref []byte) []byte {
		m := envRef.FindSubmatch(ref)
		name := string(m[1])
		if v, ok := lookup(name); ok {
			return []byte(v)
		}
		if m[2] != nil {
			return m[3]
		}
		missing[name] = true
		return ref
	})
	if len(missing) > 0 {
		names := make([]string, 0, len(missing))
		for n := range missing {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("unset environment variables: %s (use ${NAME:-} for an optional one)", strings.Join(names, ", "))
	}
	return out, nil
}
