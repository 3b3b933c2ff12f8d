// Package webauth is the Trickle connector for a legacy user API behind
// HTTP Basic auth (Auth0's "web service accessed by Basic Auth" template):
// Login sends the user's identifier and password as Basic credentials and
// maps the JSON answer to a profile; GetUser looks the user up with service
// credentials.
//
// Errors carry the endpoint, the status and what was wrong with the answer,
// never the identifier, the password, a credential or anything from a
// response body, so the kit can log them as they are.
package webauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/trickle-auth/trickle/connectors/kit/connector"
)

// Connector calls the legacy web service. It is safe for concurrent use.
type Connector struct {
	cfg     Config
	client  *http.Client
	login   *template
	profile *template // nil: the login answer is the profile
	getUser *template // nil: GetUser is UNIMPLEMENTED
	ping    *template // nil: always ready
}

var (
	_ connector.PasswordConnector = (*Connector)(nil)
	_ connector.UserLookup        = (*Connector)(nil)
	_ connector.Pinger            = (*Connector)(nil)
)

// New checks cfg, reads the TLS files and the service credentials once (so
// a missing secret fails at start) and builds the HTTP client.
func New(cfg Config) (*Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if _, err := cfg.ServiceAuth.apply(nil); err != nil {
		return nil, err
	}
	tr, err := transport(cfg)
	if err != nil {
		return nil, err
	}
	c := &Connector{
		cfg: cfg,
		client: &http.Client{
			Transport: tr,
			Timeout:   cfg.Timeout,
			// A redirect would carry the user's credentials somewhere the
			// configuration does not name: it is an unexpected answer.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	for _, e := range []struct {
		url string
		dst **template
	}{
		{cfg.Login.URL, &c.login}, {cfg.Profile.URL, &c.profile},
		{cfg.GetUser.URL, &c.getUser}, {cfg.Ping.URL, &c.ping},
	} {
		if e.url == "" {
			continue
		}
		if *e.dst, err = parseTemplate(e.url); err != nil {
			return nil, err // checked by Validate
		}
	}
	return c, nil
}

// Close releases idle connections.
func (c *Connector) Close() { c.client.CloseIdleConnections() }

func transport(cfg Config) (*http.Transport, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TLS.ServerName}
	if cfg.TLS.CAFile != "" {
		pem, err := os.ReadFile(cfg.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("legacy.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("legacy.tls.ca_file: no PEM certificate found")
		}
		tc.RootCAs = pool
	}
	if cfg.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("legacy.tls: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	tr := &http.Transport{
		// Explicitly no proxy unless asked: the environment of a container
		// should not decide where passwords go.
		Proxy:                  nil,
		DialContext:            (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:        tc,
		TLSHandshakeTimeout:    cfg.ConnectTimeout,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    32,
		IdleConnTimeout:        90 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	if cfg.ProxyFromEnvironment {
		tr.Proxy = http.ProxyFromEnvironment
	}
	return tr, nil
}

// apply sets the service credential on r (nil r: only resolve the secrets).
func (a ServiceAuth) apply(r *http.Request) (*http.Request, error) {
	switch {
	case a.Basic != nil:
		pw, err := a.Basic.Password.Value()
		if err != nil {
			return nil, fmt.Errorf("legacy.service_auth.basic.password: %w", err)
		}
		if r != nil {
			r.SetBasicAuth(a.Basic.Username, pw)
		}
	case a.BearerToken.IsSet():
		tok, err := a.BearerToken.Value()
		if err != nil {
			return nil, fmt.Errorf("legacy.service_auth.bearer_token: %w", err)
		}
		if r != nil {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
	case a.Header != nil:
		v, err := a.Header.Value.Value()
		if err != nil {
			return nil, fmt.Errorf("legacy.service_auth.header.value: %w", err)
		}
		if r != nil {
			r.Header.Set(a.Header.Name, v)
		}
	}
	return r, nil
}

func (c *Connector) normalize(id string) string {
	if c.cfg.IdentifierCase == "lower" {
		return strings.ToLower(id)
	}
	return id
}

// Login sends identifier and password as Basic credentials.
func (c *Connector) Login(ctx context.Context, identifier, password string) (*connector.Profile, error) {
	id := c.normalize(identifier)
	if strings.ContainsRune(id, ':') {
		// Basic credentials cannot carry a ':' in the user name, so no
		// legacy user can have one.
		return nil, connector.ErrNotFound
	}
	u, err := c.login.expand(id)
	if err != nil {
		return nil, connector.ErrNotFound
	}
	userAuth := func(r *http.Request) error { r.SetBasicAuth(id, password); return nil }
	reject := c.cfg.Login.RejectStatuses
	if reject == nil {
		reject = []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	}
	a, err := c.do(ctx, "login", &c.cfg.Login, c.login, u, userAuth, c.profile == nil)
	if err != nil {
		return nil, err
	}
	if slices.Contains(reject, a.status) {
		return nil, c.refusal(ctx, identifier)
	}
	if !a.ok() {
		return nil, fmt.Errorf("login %s: unexpected status %d", c.login.display, a.status)
	}
	what, ep, tpl := "login", &c.cfg.Login, c.login
	if c.profile != nil {
		what, ep, tpl = "profile", &c.cfg.Profile.Endpoint, c.profile
		if u, err = c.profile.expand(id); err != nil {
			return nil, fmt.Errorf("profile %s: %w", tpl.display, err)
		}
		auth := userAuth
		if c.cfg.Profile.Credentials == "service" {
			auth = c.serviceAuth
		}
		if a, err = c.do(ctx, what, ep, tpl, u, auth, true); err != nil {
			return nil, err
		}
		if !a.ok() {
			// The password was accepted: a refusal here is the legacy
			// service's inconsistency, not the user's mistake.
			return nil, fmt.Errorf("profile %s: unexpected status %d after a successful login", tpl.display, a.status)
		}
	}
	p, err := c.profileFrom(a, ep.ResultPath, id)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, tpl.display, err)
	}
	return p, nil
}

// refusal tells which account the legacy service refused: a Basic-auth
// 401 says nothing about it, so the user is looked up with the service
// credentials (get_user), for unknown users and wrong passwords alike so
// both cost the same. Without get_user the refusal is anonymous
// (ErrInvalidCredentials). A failed lookup is a store failure: the auth
// service must not count a refusal against the wrong account, nor miss one.
func (c *Connector) refusal(ctx context.Context, identifier string) error {
	if c.getUser == nil {
		return connector.ErrInvalidCredentials
	}
	p, err := c.GetUser(ctx, identifier)
	switch {
	case errors.Is(err, connector.ErrNotFound):
		return connector.ErrNotFound
	case err != nil:
		return fmt.Errorf("login refused, then looking the user up: %w", err)
	case p.GetLegacyId() == "":
		return connector.ErrInvalidCredentials
	}
	return connector.WrongPassword(p.GetLegacyId())
}

// GetUser looks the identifier up with the service credentials.
func (c *Connector) GetUser(ctx context.Context, identifier string) (*connector.Profile, error) {
	if c.getUser == nil {
		return nil, fmt.Errorf("%w: legacy.get_user.url is not set", connector.ErrUnimplemented)
	}
	id := c.normalize(identifier)
	u, err := c.getUser.expand(id)
	if err != nil {
		return nil, connector.ErrNotFound
	}
	a, err := c.do(ctx, "get_user", &c.cfg.GetUser, c.getUser, u, c.serviceAuth, true)
	if err != nil {
		return nil, err
	}
	reject := c.cfg.GetUser.RejectStatuses
	if reject == nil {
		reject = []int{http.StatusNotFound}
	}
	switch {
	case slices.Contains(reject, a.status):
		return nil, connector.ErrNotFound
	case a.status == http.StatusUnauthorized || a.status == http.StatusForbidden:
		return nil, fmt.Errorf("get_user %s: status %d: the legacy service refused the service credentials", c.getUser.display, a.status)
	case !a.ok():
		return nil, fmt.Errorf("get_user %s: unexpected status %d", c.getUser.display, a.status)
	}
	p, err := c.profileFrom(a, c.cfg.GetUser.ResultPath, id)
	if errors.Is(err, errNoResult) {
		return nil, connector.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get_user %s: %w", c.getUser.display, err)
	}
	return p, nil
}

// Ping calls the ping URL when one is configured.
func (c *Connector) Ping(ctx context.Context) error {
	if c.ping == nil {
		return nil
	}
	u, _ := c.ping.expand("")
	a, err := c.do(ctx, "ping", &c.cfg.Ping, c.ping, u, c.serviceAuth, false)
	if err != nil {
		return err
	}
	if !a.ok() {
		return fmt.Errorf("ping %s: status %d", c.ping.display, a.status)
	}
	return nil
}

func (c *Connector) serviceAuth(r *http.Request) error {
	_, err := c.cfg.ServiceAuth.apply(r)
	return err
}

func (c *Connector) profileFrom(a answer, resultPath, id string) (*connector.Profile, error) {
	p, err := parseProfile(a.body, resultPath, &c.cfg.Mapping)
	var bad *badJSON
	if errors.As(err, &bad) {
		return nil, fmt.Errorf("status %d, content-type %q, %d bytes: %w", a.status, a.contentType, len(a.body), err)
	}
	if err != nil {
		return nil, err
	}
	if c.cfg.RequireIdentifierMatch && !strings.EqualFold(p.Email, id) && !strings.EqualFold(p.Username, id) {
		return nil, errors.New("the profile's email and username are not the identifier asked for (require_identifier_match)")
	}
	return p, nil
}

// answer is what do read from the legacy service.
type answer struct {
	status      int
	contentType string
	body        []byte // 2xx and asked for only
}

func (a answer) ok() bool { return a.status >= 200 && a.status <= 299 }

// do makes one call. It returns the status and, when readBody is set and
// the status is 2xx, the whole body (at most max_response_bytes). Transport
// failures come back without the URL, which may hold the identifier.
func (c *Connector) do(ctx context.Context, what string, ep *Endpoint, tpl *template, rawURL string, auth func(*http.Request) error, readBody bool) (answer, error) {
	method := ep.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: cannot build the request", what, tpl.display)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "trickle-webauth")
	for k, v := range c.cfg.Headers {
		req.Header.Set(k, v)
	}
	for k, v := range ep.Headers {
		req.Header.Set(k, v)
	}
	if err := auth(req); err != nil {
		return answer{}, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return answer{}, fmt.Errorf("%s %s %s: %w", what, method, tpl.display, err)
	}
	defer func() {
		// Drain a little so the connection can be reused.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		_ = resp.Body.Close()
	}()
	a := answer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type")}
	if len(a.contentType) > 64 {
		a.contentType = a.contentType[:64] + "..."
	}
	if !readBody || !a.ok() {
		return a, nil
	}
	limit := c.cfg.MaxResponseBytes
	if resp.ContentLength > limit {
		return a, fmt.Errorf("%s %s: status %d: answer of %d bytes is larger than max_response_bytes (%d)", what, tpl.display, a.status, resp.ContentLength, limit)
	}
	if a.body, err = io.ReadAll(io.LimitReader(resp.Body, limit+1)); err != nil {
		return a, fmt.Errorf("%s %s: status %d: reading the answer: %w", what, tpl.display, a.status, err)
	}
	if int64(len(a.body)) > limit {
		return a, fmt.Errorf("%s %s: status %d: answer is larger than max_response_bytes (%d)", what, tpl.display, a.status, limit)
	}
	return a, nil
}
