package main

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/conformance"
	"github.com/trickle-auth/trickle/connectors/webauth/internal/legacytest"
	"github.com/trickle-auth/trickle/connectors/webauth/internal/webauth"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

// mapping reads the legacytest user document (relative to result_path).
func mapping() webauth.Mapping {
	return webauth.Mapping{
		LegacyID: "id", Email: "contact.email", EmailVerified: "contact.verified", Username: "login",
		Name: "display_name", GivenName: "first", FamilyName: "last", Picture: "avatar",
		PhoneNumber: "contact.phone", UserMetadata: "prefs",
		AppMetadataFields: map[string]string{"roles": "roles", "plan": "plan"},
	}
}

// wantProfiles are the legacytest users as mapping() reads them.
func wantProfiles(t *testing.T) []*connectorv1.LegacyProfile {
	st := func(m map[string]any) *structpb.Struct {
		s, err := structpb.NewStruct(m)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return []*connectorv1.LegacyProfile{
		{
			LegacyId: "1001", Email: "alice@example.com", EmailVerified: true, Username: "alice",
			Name: "Alice Liddell", GivenName: "Alice", FamilyName: "Liddell",
			Picture: "https://example.com/alice.png", PhoneNumber: "+15555550100",
			UserMetadata: st(map[string]any{"lang": "en", "theme": map[string]any{"dark": true}}),
			AppMetadata:  st(map[string]any{"roles": []any{"admin", "editor"}, "plan": "gold"}),
		},
		{
			LegacyId: "u-2", Email: "bob.o'neill@example.org", Username: "bob_2", Name: "Bób O'Neill",
			UserMetadata: st(map[string]any{"lang": "fr"}),
			AppMetadata:  st(map[string]any{"plan": "free"}),
		},
	}
}

func fixtureUsers(t *testing.T) []conformance.User {
	want := wantProfiles(t)
	var out []conformance.User
	for i, u := range legacytest.Users() {
		out = append(out, conformance.User{Identifiers: []string{u.Email, u.Username}, Password: u.Password, Profile: want[i]})
	}
	return out
}

func newConnector(t *testing.T, cfg webauth.Config) *webauth.Connector {
	t.Helper()
	c, err := webauth.New(cfg)
	if err != nil {
		t.Fatalf("webauth.New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func defaults() webauth.Config {
	var c webauth.Config
	c.SetDefaults()
	c.Mapping = mapping()
	return c
}

// TestConformance runs the connector suite over real gRPC against real HTTP
// legacy services: Go's httptest (plain HTTP, and HTTPS with a client
// certificate and a second profile call) and nginx with auth_basic.
func TestConformance(t *testing.T) {
	t.Run("httptest", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(legacytest.NewService().Handler())
		t.Cleanup(srv.Close)
		conformance.Run(t, func(t *testing.T) conformance.Fixture {
			proxy := conformance.NewProxy(t, srv.Listener.Addr().String())
			base := "http://" + proxy.Addr()
			cfg := defaults()
			cfg.Login = webauth.Endpoint{URL: base + "/api/login", Method: http.MethodPost, ResultPath: "data.user"}
			cfg.GetUser = webauth.Endpoint{URL: base + "/api/users/{identifier}", ResultPath: "data.user"}
			cfg.ServiceAuth.BearerToken = config.SecretLiteral(legacytest.ServiceToken)
			return conformance.Fixture{
				Connector: newConnector(t, cfg), Users: fixtureUsers(t),
				Unreachable: proxy.Cut, Slow: proxy.SetDelay,
			}
		})
	})
	t.Run("httptest-mtls-profile-call", func(t *testing.T) {
		t.Parallel()
		pki := legacytest.NewPKI(t)
		srv := httptest.NewUnstartedServer(legacytest.NewService().Handler())
		srv.TLS = &tls.Config{
			Certificates: []tls.Certificate{pki.Server}, ClientCAs: pki.Pool,
			ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
		}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		conformance.Run(t, func(t *testing.T) conformance.Fixture {
			proxy := conformance.NewProxy(t, srv.Listener.Addr().String())
			base := "https://" + proxy.Addr()
			cfg := defaults()
			cfg.TLS = webauth.TLSConfig{CAFile: pki.CAFile, CertFile: pki.ClientCertFile, KeyFile: pki.ClientKeyFile}
			cfg.Login = webauth.Endpoint{URL: base + "/api/session", Method: http.MethodPost}
			cfg.Profile.Endpoint = webauth.Endpoint{URL: base + "/api/me", ResultPath: "data.user"}
			cfg.GetUser = webauth.Endpoint{URL: base + "/api/users?email={identifier}", ResultPath: "users.0"}
			cfg.ServiceAuth.Header = &webauth.HeaderAuth{Name: "X-Api-Key", Value: config.SecretLiteral(legacytest.ServiceToken)}
			return conformance.Fixture{
				Connector: newConnector(t, cfg), Users: fixtureUsers(t),
				Unreachable: proxy.Cut, Slow: proxy.SetDelay,
			}
		})
	})
	t.Run("nginx", func(t *testing.T) {
		t.Parallel()
		ngx := startNginx(t, legacytest.Users())
		conformance.Run(t, func(t *testing.T) conformance.Fixture {
			proxy := conformance.NewProxy(t, ngx.Addr)
			base := (&url.URL{Scheme: "http", Host: proxy.Addr()}).String()
			cfg := defaults()
			cfg.Login = webauth.Endpoint{URL: base + "/login"}
			cfg.GetUser = webauth.Endpoint{URL: base + "/users/{identifier}.json"}
			cfg.ServiceAuth.Basic = &webauth.BasicAuth{Username: ngx.ServiceUser, Password: config.SecretFile(ngx.ServicePasswordFile)}
			return conformance.Fixture{
				Connector: newConnector(t, cfg), Users: fixtureUsers(t),
				Unreachable: proxy.Cut, Slow: proxy.SetDelay,
			}
		})
	})
}
