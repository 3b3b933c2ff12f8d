package webauth

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

const placeholder = "{identifier}"

// errUnsafeSegment: the identifier cannot be one path segment ("/", "\",
// "." or ".."), since many servers decode %2F or resolve dot segments
// before routing. No call is made; the user is treated as unknown.
var errUnsafeSegment = errors.New("identifier cannot be a path segment")

// template is a URL with {identifier} placeholders, split around them.
type template struct {
	parts   []string // literal text; len(parts) == len(inPath)+1
	inPath  []bool   // placeholder i is in the path (else in the query)
	display string   // the template without its query, for errors
}

func parseTemplate(raw string) (*template, error) {
	probe := strings.ReplaceAll(raw, placeholder, "x")
	u, err := url.Parse(probe)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("want an http or https URL")
	case u.Host == "":
		return nil, errors.New("no host")
	case u.User != nil:
		return nil, errors.New("credentials in the URL: use service_auth")
	case strings.Contains(raw, "#"):
		return nil, errors.New("a fragment is never sent: remove it")
	}
	// The placeholder may only stand where it can be escaped: in the path
	// or the query, never in the scheme or host.
	hostEnd := len(u.Scheme) + len("://") + len(u.Host)
	query := strings.IndexByte(raw, '?')
	t := &template{display: raw}
	if query >= 0 {
		t.display = raw[:query]
	}
	rest, off := raw, 0
	for {
		i := strings.Index(rest, placeholder)
		if i < 0 {
			t.parts = append(t.parts, rest)
			break
		}
		at := off + i
		if at < hostEnd {
			return nil, fmt.Errorf("%s is only allowed in the path or the query", placeholder)
		}
		t.parts = append(t.parts, rest[:i])
		t.inPath = append(t.inPath, query < 0 || at < query)
		rest, off = rest[i+len(placeholder):], at+len(placeholder)
	}
	return t, nil
}

func (t *template) hasIdentifier() bool { return len(t.inPath) > 0 }

// expand returns the URL with every placeholder replaced by the escaped
// identifier.
func (t *template) expand(id string) (string, error) {
	var b strings.Builder
	b.WriteString(t.parts[0])
	for i, inPath := range t.inPath {
		if inPath && (id == "." || id == ".." || strings.ContainsAny(id, `/\`)) {
			return "", errUnsafeSegment
		}
		b.WriteString(escape(id))
		b.WriteString(t.parts[i+1])
	}
	return b.String(), nil
}

// escape percent-encodes every byte but RFC 3986's unreserved characters
// and '@' (harmless in a path segment and a query value, and common in
// identifiers). It is stricter than url.PathEscape and url.QueryEscape: '+',
// ';', '&', '=', ',' and ':' are encoded too, so no server reads them as
// separators, and a space is %20 in both places.
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) * 3)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~@", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
