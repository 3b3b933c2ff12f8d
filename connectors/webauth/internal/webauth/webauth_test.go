package webauth_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/connector"
	"github.com/trickle-auth/trickle/connectors/webauth/internal/legacytest"
	"github.com/trickle-auth/trickle/connectors/webauth/internal/webauth"
)

const (
	canaryBody     = "BODY-CANARY-7f3a"
	canaryPassword = "PASSWORD-CANARY-91c2"
)

func mapping() webauth.Mapping {
	return webauth.Mapping{
		LegacyID: "id", Email: "contact.email", EmailVerified: "contact.verified", Username: "login",
		Name: "display_name", UserMetadata: "prefs", AppMetadataFields: map[string]string{"plan": "plan"},
	}
}

func newConnector(t *testing.T, base string, edit func(*webauth.Config)) *webauth.Connector {
	t.Helper()
	var cfg webauth.Config
	cfg.SetDefaults()
	cfg.Mapping = mapping()
	cfg.Login = webauth.Endpoint{URL: base + "/login", ResultPath: "data.user"}
	cfg.GetUser = webauth.Endpoint{URL: base + "/users/{identifier}", ResultPath: "data.user"}
	cfg.ServiceAuth.BearerToken = config.SecretLiteral(legacytest.ServiceToken)
	cfg.Timeout = 2 * time.Second
	if edit != nil {
		edit(&cfg)
	}
	c, err := webauth.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// answering serves every request with status and body.
func answering(t *testing.T, status int, body string) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if status >= 300 && status < 400 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

const aliceDoc = `{"data":{"user":{"id":1001,"contact":{"email":"alice@example.com","verified":true},"login":"alice","prefs":{"lang":"en"},"plan":"gold"}}}`

// noLeak fails when err carries the password or anything from the body.
func noLeak(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if s := err.Error(); strings.Contains(s, canaryBody) || strings.Contains(s, canaryPassword) {
		t.Errorf("error leaks a secret or body content: %s", s)
	}
}

func TestLoginStatuses(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   error // nil: a profile; errAny: any other error
	}{
		{200, nil}, {201, nil},
		{401, connector.ErrInvalidCredentials}, {403, connector.ErrInvalidCredentials}, {404, connector.ErrInvalidCredentials},
		{500, errAny}, {502, errAny}, {503, errAny}, {504, errAny}, {429, errAny}, {400, errAny}, {302, errAny}, {301, errAny},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			body := aliceDoc
			if tc.status >= 300 {
				body = canaryBody
			}
			srv, _ := answering(t, tc.status, body)
			// Without get_user a refusal cannot name its account.
			c := newConnector(t, srv.URL, func(c *webauth.Config) { c.GetUser = webauth.Endpoint{} })
			p, err := c.Login(context.Background(), "alice@example.com", canaryPassword)
			var wrong *connector.WrongPasswordError
			if errors.As(err, &wrong) || errors.Is(err, connector.ErrNotFound) {
				t.Errorf("status %d without get_user: %v, want an anonymous refusal", tc.status, err)
			}
			check(t, err, tc.want)
			noLeak(t, err)
			if tc.want == nil && p.GetLegacyId() != "1001" {
				t.Errorf("profile %v", p)
			}
		})
	}
}

var errAny = errors.New("any failure but the classified ones")

// A refused login is followed by a lookup with the service credentials
// that names the refused account, or says there is none; a failed lookup
// is a store failure, never a refusal of the wrong account.
func TestLoginRefusalNamesTheAccount(t *testing.T) {
	for _, tc := range []struct {
		lookup int    // get_user's status
		doc    string // get_user's body on 200
		want   error  // errAny: an unavailable-class error
		id     string // the WrongPasswordError's legacy id
	}{
		{200, aliceDoc, connector.ErrInvalidCredentials, "1001"},
		{404, canaryBody, connector.ErrNotFound, ""},
		{200, `{"data":{}}`, connector.ErrNotFound, ""},          // result_path absent
		{200, `{"data":{"user":{"login":"alice"}}}`, errAny, ""}, // no legacy id: unusable profile
		{401, canaryBody, errAny, ""},                            // service credentials refused
		{500, canaryBody, errAny, ""},
	} {
		t.Run(fmt.Sprint(tc.lookup, tc.want), func(t *testing.T) {
			var logins, lookups atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/login" {
					logins.Add(1)
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				lookups.Add(1)
				if _, _, ok := r.BasicAuth(); ok || r.Header.Get("Authorization") != "Bearer "+legacytest.ServiceToken {
					t.Errorf("lookup sent with %q, want the service token only", r.Header.Get("Authorization"))
				}
				w.WriteHeader(tc.lookup)
				_, _ = io.WriteString(w, tc.doc)
			}))
			t.Cleanup(srv.Close)
			_, err := newConnector(t, srv.URL, nil).Login(context.Background(), "Alice@Example.com", canaryPassword)
			check(t, err, tc.want)
			noLeak(t, err)
			var wrong *connector.WrongPasswordError
			if got := errors.As(err, &wrong); got != (tc.id != "") || (got && wrong.LegacyID != tc.id) {
				t.Errorf("refusal %v, want legacy id %q", err, tc.id)
			}
			if logins.Load() != 1 || lookups.Load() != 1 {
				t.Errorf("%d logins and %d lookups, want one of each", logins.Load(), lookups.Load())
			}
		})
	}
}

func check(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("got %v, want success", err)
	case want == errAny && (err == nil || errors.Is(err, connector.ErrInvalidCredentials) || errors.Is(err, connector.ErrNotFound)):
		t.Errorf("got %v, want an unavailable-class error", err)
	case want != nil && want != errAny && !errors.Is(err, want):
		t.Errorf("got %v, want %v", err, want)
	}
}

func TestGetUserStatuses(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   error
	}{
		{200, nil}, {404, connector.ErrNotFound}, {401, errAny}, {403, errAny}, {500, errAny}, {503, errAny}, {307, errAny},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			srv, _ := answering(t, tc.status, aliceDoc)
			_, err := newConnector(t, srv.URL, nil).GetUser(context.Background(), "alice@example.com")
			check(t, err, tc.want)
		})
	}
}

func TestBadBodies(t *testing.T) {
	for name, body := range map[string]string{
		"html":             "<html>" + canaryBody + "</html>",
		"empty":            "",
		"truncated":        `{"data":{"user":{"id":1,"login":"` + canaryBody,
		"array":            `[` + `"` + canaryBody + `"]`,
		"no result":        `{"data":{"account":{"id":"` + canaryBody + `"}}}`,
		"result null":      `{"data":{"user":null}}`,
		"no parent":        `{"error":"` + canaryBody + `"}`,
		"missing id":       `{"data":{"user":{"contact":{"email":"alice@example.com"},"login":"` + canaryBody + `"}}}`,
		"id bool":          `{"data":{"user":{"id":true,"login":"alice"}}}`,
		"id empty":         `{"data":{"user":{"id":"","login":"alice"}}}`,
		"email number":     `{"data":{"user":{"id":1,"contact":{"email":12},"login":"alice"}}}`,
		"verified string":  `{"data":{"user":{"id":1,"contact":{"verified":"` + canaryBody + `"},"login":"alice"}}}`,
		"metadata array":   `{"data":{"user":{"id":1,"login":"alice","prefs":["` + canaryBody + `"]}}}`,
		"invalid utf8":     "{\"data\":{\"user\":{\"id\":1,\"login\":\"alice\xff\xfe\"}}}",
		"someone else":     `{"data":{"user":{"id":2,"login":"mallory","contact":{"email":"mallory@example.com"}}}}`,
		"trailing garbage": aliceDoc + canaryBody,
	} {
		t.Run(name, func(t *testing.T) {
			srv, _ := answering(t, 200, body)
			c := newConnector(t, srv.URL, nil)
			_, err := c.Login(context.Background(), "alice", canaryPassword)
			check(t, err, errAny)
			noLeak(t, err)
			_, err = c.GetUser(context.Background(), "alice")
			if name == "result null" || name == "no result" {
				check(t, err, connector.ErrNotFound) // result_path absent: not found
			} else {
				check(t, err, errAny)
			}
			noLeak(t, err)
		})
	}
}

func TestProfileMapping(t *testing.T) {
	body := `{"data":{"user":{"id":12345678901234567890,"contact":{"email":"Alice@Example.com","verified":false},"login":null,
		"display_name":"Zoë","prefs":{"a":{"b":[1,"x",null]}},"plan":3.5}}}`
	srv, _ := answering(t, 200, body)
	p, err := newConnector(t, srv.URL, nil).Login(context.Background(), "alice@example.com", "pw")
	if err != nil {
		t.Fatal(err)
	}
	if p.GetLegacyId() != "12345678901234567890" || p.GetEmail() != "Alice@Example.com" || p.GetName() != "Zoë" || p.GetUsername() != "" {
		t.Errorf("profile %v", p)
	}
	if got := p.GetUserMetadata().GetFields()["a"].GetStructValue().GetFields()["b"].GetListValue().GetValues(); len(got) != 3 {
		t.Errorf("user_metadata %v", p.GetUserMetadata())
	}
	if p.GetAppMetadata().GetFields()["plan"].GetNumberValue() != 3.5 {
		t.Errorf("app_metadata %v", p.GetAppMetadata())
	}
}

func TestMaxResponseBytes(t *testing.T) {
	big := `{"data":{"user":{"id":1,"login":"alice","pad":"` + strings.Repeat("x", 4096) + `"}}}`
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 8; i++ { // no Content-Length: chunked
			_, _ = w.Write([]byte(big[i*len(big)/8 : (i+1)*len(big)/8]))
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(chunked.Close)
	sized, _ := answering(t, 200, big)
	for name, url := range map[string]string{"content-length": sized.URL, "chunked": chunked.URL} {
		t.Run(name, func(t *testing.T) {
			limit := func(n int64) func(*webauth.Config) {
				return func(c *webauth.Config) { c.MaxResponseBytes = n }
			}
			_, err := newConnector(t, url, limit(1024)).Login(context.Background(), "alice", "pw")
			if err == nil || !strings.Contains(err.Error(), "max_response_bytes") {
				t.Errorf("1 KiB limit: %v, want a size refusal", err)
			}
			if _, err := newConnector(t, url, limit(int64(len(big)))).Login(context.Background(), "alice", "pw"); err != nil {
				t.Errorf("limit = size: %v", err)
			}
		})
	}
}

func TestTransportFailures(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		c := newConnector(t, srv.URL, func(c *webauth.Config) { c.Timeout = 200 * time.Millisecond })
		begin := time.Now()
		_, err := c.Login(context.Background(), "alice", canaryPassword)
		check(t, err, errAny)
		noLeak(t, err)
		if d := time.Since(begin); d > 2*time.Second {
			t.Errorf("timeout took %v", d)
		}
	})
	t.Run("refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		_, err := newConnector(t, url, nil).Login(context.Background(), "alice", canaryPassword)
		check(t, err, errAny)
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		srv := httptest.NewUnstartedServer(legacytest.NewService().Handler())
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.StartTLS()
		t.Cleanup(srv.Close)
		_, err := newConnector(t, srv.URL+"/api", nil).Login(context.Background(), "alice", legacytest.Users()[0].Password)
		check(t, err, errAny)
		if err != nil && !strings.Contains(err.Error(), "certificate") {
			t.Errorf("TLS error does not say so: %v", err)
		}
	})
	t.Run("server certificate from another CA", func(t *testing.T) {
		pki := legacytest.NewPKI(t)
		srv := httptest.NewUnstartedServer(legacytest.NewService().Handler())
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.StartTLS() // httptest's own certificate
		t.Cleanup(srv.Close)
		_, err := newConnector(t, srv.URL+"/api", func(c *webauth.Config) { c.TLS.CAFile = pki.CAFile }).
			Login(context.Background(), "alice", legacytest.Users()[0].Password)
		check(t, err, errAny)
	})
	t.Run("missing client certificate", func(t *testing.T) {
		pki := legacytest.NewPKI(t)
		srv := httptest.NewUnstartedServer(legacytest.NewService().Handler())
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.Server}, ClientCAs: pki.Pool, ClientAuth: tls.RequireAndVerifyClientCert}
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.StartTLS()
		t.Cleanup(srv.Close)
		u := legacytest.Users()[0]
		_, err := newConnector(t, srv.URL+"/api", func(c *webauth.Config) { c.TLS.CAFile = pki.CAFile }).
			Login(context.Background(), u.Username, u.Password)
		check(t, err, errAny)
		p, err := newConnector(t, srv.URL+"/api", func(c *webauth.Config) {
			c.TLS = webauth.TLSConfig{CAFile: pki.CAFile, CertFile: pki.ClientCertFile, KeyFile: pki.ClientKeyFile}
		}).Login(context.Background(), u.Username, u.Password)
		if err != nil || p.GetLegacyId() != "1001" {
			t.Errorf("with the client certificate: %v %v", p, err)
		}
	})
}

func TestServiceCredentials(t *testing.T) {
	srv := httptest.NewServer(legacytest.NewService().Handler())
	t.Cleanup(srv.Close)
	base := srv.URL + "/api"
	for name, set := range map[string]func(*webauth.ServiceAuth){
		"basic": func(a *webauth.ServiceAuth) {
			a.Basic = &webauth.BasicAuth{Username: "trickle", Password: config.SecretEnv("WEBAUTH_TEST_SVC")}
		},
		"bearer": func(a *webauth.ServiceAuth) { a.BearerToken = config.SecretEnv("WEBAUTH_TEST_SVC") },
		"header": func(a *webauth.ServiceAuth) {
			a.Header = &webauth.HeaderAuth{Name: "X-Api-Key", Value: config.SecretEnv("WEBAUTH_TEST_SVC")}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("WEBAUTH_TEST_SVC", legacytest.ServiceToken)
			c := newConnector(t, base, func(c *webauth.Config) {
				c.ServiceAuth = webauth.ServiceAuth{}
				set(&c.ServiceAuth)
				c.GetUser.URL = base + "/users/{identifier}"
			})
			if p, err := c.GetUser(context.Background(), "ALICE"); err != nil || p.GetLegacyId() != "1001" {
				t.Errorf("GetUser: %v, %v", p, err)
			}
			t.Setenv("WEBAUTH_TEST_SVC", "wrong")
			_, err := c.GetUser(context.Background(), "alice")
			check(t, err, errAny)
		})
	}
	t.Run("unset secret fails at start", func(t *testing.T) {
		var cfg webauth.Config
		cfg.SetDefaults()
		cfg.Login.URL = base + "/login"
		cfg.ServiceAuth.BearerToken = config.SecretEnv("WEBAUTH_TEST_UNSET_VARIABLE")
		if _, err := webauth.New(cfg); err == nil {
			t.Error("New with an unset secret succeeded")
		}
	})
}

// TestEscaping sends awkward identifiers through path and query templates
// and checks what the legacy service decodes.
func TestEscaping(t *testing.T) {
	svc := legacytest.NewService()
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	base := srv.URL + "/api"
	path := newConnector(t, base, func(c *webauth.Config) {
		c.GetUser = webauth.Endpoint{URL: base + "/users/{identifier}", ResultPath: "data.user"}
	})
	query := newConnector(t, base, func(c *webauth.Config) {
		c.GetUser = webauth.Endpoint{URL: base + "/users?email={identifier}", ResultPath: "users.0"}
	})
	awkward := []string{"a?b=c", "a#frag", "%2F", "%2e%2e", "zoë@exämple.com", "a b+c", "a;b,c", "a&email=alice", "日本", "'\"<>", "a%00b"}
	for _, id := range awkward {
		for name, c := range map[string]*webauth.Connector{"path": path, "query": query} {
			_, _, before := svc.Last()
			_, err := c.GetUser(context.Background(), id)
			if !errors.Is(err, connector.ErrNotFound) {
				t.Errorf("%s GetUser(%q): %v, want not found", name, id, err)
			}
			uri, got, after := svc.Last()
			if after != before+1 {
				t.Errorf("%s GetUser(%q): no request", name, id)
				continue
			}
			if got != strings.ToLower(id) { // identifier_case: lower
				t.Errorf("%s GetUser(%q): the service decoded %q (request %s)", name, id, got, uri)
			}
		}
	}
	// Path separators and dot segments never reach a path template.
	for _, id := range []string{"../alice", "..", ".", "a/b", `a\b`, "/alice", "alice/", "../../etc/passwd"} {
		_, _, before := svc.Last()
		if _, err := path.GetUser(context.Background(), id); !errors.Is(err, connector.ErrNotFound) {
			t.Errorf("path GetUser(%q): %v, want not found", id, err)
		}
		if _, _, after := svc.Last(); after != before {
			t.Errorf("path GetUser(%q) made a request", id)
		}
		// In a query they are ordinary characters.
		if _, err := query.GetUser(context.Background(), id); !errors.Is(err, connector.ErrNotFound) {
			t.Errorf("query GetUser(%q): %v, want not found", id, err)
		}
		if _, got, _ := svc.Last(); got != strings.ToLower(id) {
			t.Errorf("query GetUser(%q): the service decoded %q", id, got)
		}
	}
	// Upper case is lowered before it is sent (identifier_case: lower).
	if p, err := path.GetUser(context.Background(), "Alice@EXAMPLE.com"); err != nil || p.GetLegacyId() != "1001" {
		t.Errorf("GetUser in another case: %v %v", p, err)
	}
}

func TestLoginIdentifierWithColon(t *testing.T) {
	srv, n := answering(t, 200, aliceDoc)
	_, err := newConnector(t, srv.URL, nil).Login(context.Background(), "alice:x", "pw")
	if !errors.Is(err, connector.ErrNotFound) || n.Load() != 0 {
		t.Errorf("Login with ':' in the identifier: %v after %d requests", err, n.Load())
	}
}

func TestRequestShape(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		_, _ = w.Write([]byte(aliceDoc))
	}))
	t.Cleanup(srv.Close)
	c := newConnector(t, srv.URL, func(c *webauth.Config) {
		c.Login.Method = http.MethodPost
		c.Headers = map[string]string{"X-Tenant": "acme", "X-Both": "global"}
		c.Login.Headers = map[string]string{"X-Both": "login"}
	})
	if _, err := c.Login(context.Background(), "alice@example.com", "pässword:with colon"); err != nil {
		t.Fatal(err)
	}
	u, pw, ok := got.BasicAuth()
	if got.Method != http.MethodPost || !ok || u != "alice@example.com" || pw != "pässword:with colon" ||
		got.Header.Get("X-Tenant") != "acme" || got.Header.Get("X-Both") != "login" || got.Header.Get("Accept") != "application/json" {
		t.Errorf("request: %s %v basic=%v", got.Method, got.Header, ok)
	}
}

func TestPing(t *testing.T) {
	srv, _ := answering(t, 503, "")
	if err := newConnector(t, srv.URL, func(c *webauth.Config) { c.Ping.URL = srv.URL + "/health" }).Ping(context.Background()); err == nil {
		t.Error("Ping on a 503 succeeded")
	}
	if err := newConnector(t, srv.URL, nil).Ping(context.Background()); err != nil {
		t.Errorf("Ping without a ping URL: %v", err)
	}
}
