package webauth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/trickle-auth/trickle/connectors/kit/config"
)

// Config is the `legacy:` section of the connector's file: where the
// legacy web service is and how to read its answers.
type Config struct {
	// Login is called with the user's identifier and password as HTTP Basic
	// credentials. Required.
	Login Endpoint `yaml:"login"`
	// Profile, when its url is set, is called after a successful login and
	// its answer is the profile (the login answer's body is then ignored).
	Profile ProfileEndpoint `yaml:"profile"`
	// GetUser looks a user up without a password, with the service
	// credentials; its url must contain {identifier}. Without it GetUser is
	// UNIMPLEMENTED.
	GetUser Endpoint `yaml:"get_user"`
	// Ping, when its url is set, is called with the service credentials for
	// readiness (/readyz and the gRPC health status); any 2xx is ready.
	Ping Endpoint `yaml:"ping"`
	// ServiceAuth are the credentials of GetUser, Ping and (if asked) the
	// profile call.
	ServiceAuth ServiceAuth `yaml:"service_auth"`
	// Headers are sent with every call; an endpoint's own headers win.
	Headers map[string]string `yaml:"headers"`
	// IdentifierCase is "lower" (default): the identifier is lower-cased
	// before it is sent, so that the legacy service sees one spelling; or
	// "preserve" when the legacy service matches case-insensitively itself.
	IdentifierCase string `yaml:"identifier_case"`
	// RequireIdentifierMatch (default true) refuses a profile whose email
	// or username is not the identifier asked for (case-insensitively), so
	// that a legacy service answering for someone else is an error, never
	// an imported user. Turn it off when users log in with something else.
	RequireIdentifierMatch bool `yaml:"require_identifier_match"`
	// Mapping says where each profile field is in the JSON answers.
	Mapping Mapping `yaml:"mapping"`
	// TLS towards the legacy service.
	TLS TLSConfig `yaml:"tls"`
	// ConnectTimeout bounds the TCP connect and the TLS handshake. Default 2s.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// Timeout bounds each HTTP call, body included. Default 5s. The
	// server's call_timeout bounds the whole gRPC call on top of it.
	Timeout time.Duration `yaml:"timeout"`
	// MaxResponseBytes refuses larger answers (UNAVAILABLE). Default 1 MiB.
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
	// ProxyFromEnvironment uses HTTPS_PROXY/HTTP_PROXY/NO_PROXY. Off by
	// default: passwords go straight to the legacy service.
	ProxyFromEnvironment bool `yaml:"proxy_from_environment"`
}

// Endpoint is one HTTP call to the legacy service.
type Endpoint struct {
	// URL, http or https, may contain {identifier}: in the path it is one
	// escaped path segment, in the query one escaped value.
	URL string `yaml:"url"`
	// Method, default GET.
	Method string `yaml:"method"`
	// Headers added to this call.
	Headers map[string]string `yaml:"headers"`
	// ResultPath is the JSON path of the profile object in the answer;
	// empty means the whole body. A missing or null result is "not found"
	// for GetUser (for APIs that answer 200 with an empty list).
	ResultPath string `yaml:"result_path"`
	// RejectStatuses are the statuses that mean "wrong password or unknown
	// user" (login; default 401, 403, 404) or "no such user" (get_user;
	// default 404). Any other non-2xx status is UNAVAILABLE.
	RejectStatuses []int `yaml:"reject_statuses"`
}

// ProfileEndpoint is the optional call after a successful login.
type ProfileEndpoint struct {
	Endpoint `yaml:",inline"`
	// Credentials: "user" (default) sends the user's Basic credentials
	// again, "service" sends the service credentials.
	Credentials string `yaml:"credentials"`
}

// ServiceAuth holds at most one kind of service credential.
type ServiceAuth struct {
	Basic       *BasicAuth    `yaml:"basic"`
	BearerToken config.Secret `yaml:"bearer_token"`
	Header      *HeaderAuth   `yaml:"header"`
}

// BasicAuth is a service account sent as HTTP Basic credentials.
type BasicAuth struct {
	Username string        `yaml:"username"`
	Password config.Secret `yaml:"password"`
}

// HeaderAuth is a secret sent in a custom header, e.g. X-Api-Key.
type HeaderAuth struct {
	Name  string        `yaml:"name"`
	Value config.Secret `yaml:"value"`
}

// TLSConfig holds PEM file paths for calls to an https legacy service.
type TLSConfig struct {
	// CAFile replaces the system roots when set.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a client certificate (mTLS).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name the certificate is checked against.
	ServerName string `yaml:"server_name"`
}

// Mapping holds a JSON path (github.com/tidwall/gjson syntax: dotted keys,
// array indexes such as roles.0, \. for a literal dot) per profile field,
// relative to the result object. An empty path leaves the field unset.
type Mapping struct {
	LegacyID      string `yaml:"legacy_id"` // string or number; required in every answer
	Email         string `yaml:"email"`
	EmailVerified string `yaml:"email_verified"` // boolean
	Username      string `yaml:"username"`
	Name          string `yaml:"name"`
	GivenName     string `yaml:"given_name"`
	FamilyName    string `yaml:"family_name"`
	Nickname      string `yaml:"nickname"`
	Picture       string `yaml:"picture"`
	PhoneNumber   string `yaml:"phone_number"`
	// UserMetadata and AppMetadata are paths of JSON objects.
	UserMetadata string `yaml:"user_metadata"`
	AppMetadata  string `yaml:"app_metadata"`
	// UserMetadataFields and AppMetadataFields add single values (any JSON)
	// under the given keys, e.g. {locale: prefs.lang}.
	UserMetadataFields map[string]string `yaml:"user_metadata_fields"`
	AppMetadataFields  map[string]string `yaml:"app_metadata_fields"`
}

// SetDefaults fills the defaults: Auth0's profile field names at the top
// level of the answer.
func (c *Config) SetDefaults() {
	c.IdentifierCase = "lower"
	c.RequireIdentifierMatch = true
	c.ConnectTimeout = 2 * time.Second
	c.Timeout = 5 * time.Second
	c.MaxResponseBytes = 1 << 20
	c.Mapping = Mapping{
		LegacyID: "user_id", Email: "email", EmailVerified: "email_verified", Username: "username",
		Name: "name", GivenName: "given_name", FamilyName: "family_name", Nickname: "nickname",
		Picture: "picture", PhoneNumber: "phone_number",
		UserMetadata: "user_metadata", AppMetadata: "app_metadata",
	}
}

// Validate reports configuration that cannot work.
func (c *Config) Validate() error {
	var errs []error
	if c.Login.URL == "" {
		errs = append(errs, errors.New("legacy.login.url is required"))
	}
	errs = append(errs, c.validateEndpoints()...)
	for k := range c.Headers {
		if !validHeaderName(k) {
			errs = append(errs, fmt.Errorf("legacy.headers: %q is not a header name", k))
		}
	}
	switch c.Profile.Credentials {
	case "", "user":
	case "service":
		if !c.ServiceAuth.isSet() {
			errs = append(errs, errors.New("legacy.profile.credentials is service but legacy.service_auth is empty"))
		}
	default:
		errs = append(errs, fmt.Errorf("legacy.profile.credentials %q: want user or service", c.Profile.Credentials))
	}
	errs = append(errs, c.validateServiceAuth()...)
	if c.IdentifierCase != "lower" && c.IdentifierCase != "preserve" {
		errs = append(errs, fmt.Errorf("legacy.identifier_case %q: want lower or preserve", c.IdentifierCase))
	}
	if c.Mapping.LegacyID == "" {
		errs = append(errs, errors.New("legacy.mapping.legacy_id is required"))
	}
	if c.RequireIdentifierMatch && c.Mapping.Email == "" && c.Mapping.Username == "" {
		errs = append(errs, errors.New("legacy.require_identifier_match needs mapping.email or mapping.username"))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("legacy.tls: set both cert_file and key_file"))
	}
	if c.ConnectTimeout <= 0 || c.Timeout <= 0 {
		errs = append(errs, errors.New("legacy.connect_timeout and legacy.timeout must be positive"))
	}
	if c.MaxResponseBytes <= 0 {
		errs = append(errs, errors.New("legacy.max_response_bytes must be positive"))
	}
	return errors.Join(errs...)
}

// validateEndpoints checks each configured endpoint's URL template,
// method, reject statuses and headers.
func (c *Config) validateEndpoints() []error {
	var errs []error
	for _, e := range []struct {
		name string
		ep   Endpoint
		need bool // must contain {identifier}
	}{
		{"login", c.Login, false},
		{"profile", c.Profile.Endpoint, false},
		{"get_user", c.GetUser, true},
		{"ping", c.Ping, false},
	} {
		if e.ep.URL == "" {
			continue
		}
		t, err := parseTemplate(e.ep.URL)
		if err != nil {
			errs = append(errs, fmt.Errorf("legacy.%s.url: %w", e.name, err))
		} else if e.need && !t.hasIdentifier() {
			errs = append(errs, fmt.Errorf("legacy.%s.url must contain {identifier}", e.name))
		}
		if e.ep.Method != "" && !validMethod(e.ep.Method) {
			errs = append(errs, fmt.Errorf("legacy.%s.method %q is not an HTTP method", e.name, e.ep.Method))
		}
		for _, s := range e.ep.RejectStatuses {
			if s < 300 || s > 499 {
				errs = append(errs, fmt.Errorf("legacy.%s.reject_statuses: %d is not a 3xx or 4xx status", e.name, s))
			}
		}
		for k := range e.ep.Headers {
			if !validHeaderName(k) {
				errs = append(errs, fmt.Errorf("legacy.%s.headers: %q is not a header name", e.name, k))
			}
		}
	}
	return errs
}

// validateServiceAuth checks that at most one service credential is set,
// each whole, and that get_user has one.
func (c *Config) validateServiceAuth() []error {
	var errs []error
	n := 0
	if a := c.ServiceAuth.Basic; a != nil {
		n++
		if a.Username == "" || strings.Contains(a.Username, ":") || !a.Password.IsSet() {
			errs = append(errs, errors.New("legacy.service_auth.basic needs a username without ':' and a password"))
		}
	}
	if c.ServiceAuth.BearerToken.IsSet() {
		n++
	}
	if h := c.ServiceAuth.Header; h != nil {
		n++
		if !validHeaderName(h.Name) || !h.Value.IsSet() {
			errs = append(errs, errors.New("legacy.service_auth.header needs a valid name and a value"))
		}
	}
	if n > 1 {
		errs = append(errs, errors.New("legacy.service_auth: set one of basic, bearer_token or header"))
	}
	if c.GetUser.URL != "" && n == 0 {
		errs = append(errs, errors.New("legacy.get_user needs legacy.service_auth (basic, bearer_token or header)"))
	}
	return errs
}

func (a ServiceAuth) isSet() bool {
	return a.Basic != nil || a.BearerToken.IsSet() || a.Header != nil
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch:
		return true
	}
	return false
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}

// Kind names the configured service credential (for logs): basic, bearer,
// header or none.
func (a ServiceAuth) Kind() string {
	switch {
	case a.Basic != nil:
		return "basic"
	case a.BearerToken.IsSet():
		return "bearer"
	case a.Header != nil:
		return "header"
	}
	return "none"
}
