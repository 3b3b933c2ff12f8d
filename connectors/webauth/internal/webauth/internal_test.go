package webauth

import (
	"net/http"
	"testing"
)

func TestProxyOffByDefault(t *testing.T) {
	var cfg Config
	cfg.SetDefaults()
	cfg.Login.URL = "http://127.0.0.1:1/login"
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.client.Transport.(*http.Transport).Proxy != nil {
		t.Error("the transport uses a proxy by default")
	}
	cfg.ProxyFromEnvironment = true
	if c, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	if c.client.Transport.(*http.Transport).Proxy == nil {
		t.Error("proxy_from_environment: true has no proxy function")
	}
}

func TestTemplates(t *testing.T) {
	for _, bad := range []string{
		"ftp://h/x", "http:///x", "https://u:p@h/x", "http://h/x#f", "http://{identifier}.h/x", "http://h:{identifier}/", "::",
	} {
		if _, err := parseTemplate(bad); err == nil {
			t.Errorf("parseTemplate(%q) accepted it", bad)
		}
	}
	tpl, err := parseTemplate("https://h/a/{identifier}/b?q={identifier}&r=1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tpl.expand("x y/z?")
	if err != errUnsafeSegment {
		t.Errorf("expand with / in a path: %q, %v", got, err)
	}
	got, _ = tpl.expand("zoë+a@b;c")
	if want := "https://h/a/zo%C3%AB%2Ba@b%3Bc/b?q=zo%C3%AB%2Ba@b%3Bc&r=1"; got != want {
		t.Errorf("expand = %s, want %s", got, want)
	}
}
