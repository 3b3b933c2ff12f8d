package sqlcore

import (
	"fmt"
	"strings"
)

// Query parameters. Configured queries name them as :identifier, :legacy_id,
// :after and :limit; the values always travel as bind parameters, never as
// SQL text.
const (
	paramIdentifier = "identifier"
	paramLegacyID   = "legacy_id"
	paramAfter      = "after"
	paramLimit      = "limit"
)

// boundQuery is a configured query rewritten to the dialect's positional
// placeholders, with the parameter name of each position.
type boundQuery struct {
	sql   string
	names []string
}

// bind rewrites :name parameters to d's placeholders. Quoted strings and
// identifiers and PostgreSQL's ::casts are left alone. Every name must be in
// allowed and every allowed name must appear, so a typo fails at start-up.
func bind(d Dialect, query string, allowed ...string) (boundQuery, error) {
	var b strings.Builder
	var names []string
	seen := map[string]bool{}
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '[' && d.Name() == "mssql":
			quote = ']'
		case c == ':' && i+1 < len(query) && query[i+1] == ':':
			b.WriteString("::")
			i++
			continue
		case c == ':' && i+1 < len(query) && isNameStart(query[i+1]):
			j := i + 1
			for j < len(query) && isNameChar(query[j]) {
				j++
			}
			name := query[i+1 : j]
			if !contains(allowed, name) {
				return boundQuery{}, fmt.Errorf("unknown parameter :%s (allowed: :%s)", name, strings.Join(allowed, ", :"))
			}
			names = append(names, name)
			seen[name] = true
			b.WriteString(d.Placeholder(len(names)))
			i = j - 1
			continue
		}
		b.WriteByte(c)
	}
	if quote != 0 {
		return boundQuery{}, fmt.Errorf("unterminated quote %c", quote)
	}
	for _, a := range allowed {
		if !seen[a] {
			return boundQuery{}, fmt.Errorf("query does not use :%s", a)
		}
	}
	return boundQuery{sql: b.String(), names: names}, nil
}

// args orders the values by placeholder position.
func (q boundQuery) args(values map[string]any) []any {
	out := make([]any, len(q.names))
	for i, n := range q.names {
		out[i] = values[n]
	}
	return out
}

func isNameStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isNameChar(c byte) bool  { return isNameStart(c) || c >= '0' && c <= '9' }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
