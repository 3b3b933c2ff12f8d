package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/connector"
	"github.com/trickle-auth/trickle/connectors/webauth/internal/legacytest"
	"github.com/trickle-auth/trickle/connectors/webauth/internal/webauth"
)

// TestNginxHtpasswd checks, against the real nginx, that bcrypt ($2y$,
// htpasswd -B) and apr1 ($apr1$, htpasswd -m) entries both log in and a
// wrong password is refused, for the files generated now and for the
// committed fixtures.
func TestNginxHtpasswd(t *testing.T) {
	for _, fixtures := range []bool{false, true} {
		name := "generated"
		if fixtures {
			name = "committed-fixtures"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			users := legacytest.Users()
			ngx := startNginxWith(t, users, fixtures)
			htp, err := os.ReadFile(ngx.HtpasswdFile)
			if err != nil {
				t.Fatal(err)
			}
			schemes := map[string]string{users[0].Username: "$2y$", users[1].Username: "$apr1$"}
			for user, prefix := range schemes {
				if !strings.Contains(string(htp), "\n"+user+":"+prefix) && !strings.HasPrefix(string(htp), user+":"+prefix) {
					t.Errorf("htpasswd has no %s entry for %s", prefix, user)
				}
			}
			cfg := defaults()
			cfg.Login = webauth.Endpoint{URL: "http://" + ngx.Addr + "/login"}
			cfg.GetUser = webauth.Endpoint{URL: "http://" + ngx.Addr + "/users/{identifier}.json"}
			cfg.ServiceAuth.Basic = &webauth.BasicAuth{Username: ngx.ServiceUser, Password: config.SecretFile(ngx.ServicePasswordFile)}
			c := newConnector(t, cfg)
			ctx := context.Background()
			for _, u := range users {
				for _, id := range []string{u.Email, u.Username} {
					p, err := c.Login(ctx, id, u.Password)
					if err != nil {
						t.Errorf("Login(%q) with %s: %v", id, schemes[u.Username], err)
						continue
					}
					if p.GetEmail() != u.Email {
						t.Errorf("Login(%q): email %q", id, p.GetEmail())
					}
					if _, err := c.Login(ctx, id, u.Password+"!"); !errors.Is(err, connector.ErrInvalidCredentials) {
						t.Errorf("Login(%q) with a wrong password: %v, want invalid credentials", id, err)
					}
				}
			}
			// A wrong service password is an outage, not an unknown user.
			cfg.ServiceAuth.Basic.Password = config.SecretLiteral("wrong")
			if _, err := newConnector(t, cfg).GetUser(ctx, users[0].Email); err == nil || errors.Is(err, connector.ErrNotFound) {
				t.Errorf("GetUser with a wrong service password: %v, want a failure", err)
			}
			// Straight HTTP: nginx itself refuses, with 401.
			req, _ := http.NewRequest(http.MethodGet, "http://"+ngx.Addr+"/login", nil)
			req.SetBasicAuth(users[1].Username, "not-"+users[1].Password)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("nginx answered %d to a wrong apr1 password, want 401", resp.StatusCode)
			}
		})
	}
}
