// Package legacytest is a legacy user web service for the connector's
// tests, served by net/http/httptest: Basic-auth login, service-credential
// lookups and a profile endpoint, answering nested JSON. It also makes the
// certificates for the TLS tests. Only tests import it.
package legacytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// User is one user of the fake service.
type User struct {
	Email, Username, Password string
	// Doc is the user's JSON document (see Users).
	Doc map[string]any
}

// Users are the seeded users: a numeric and a string id, nested objects,
// an array and a non-ASCII password.
func Users() []User {
	return []User{
		{
			Email: "alice@example.com", Username: "alice", Password: "correct horse ☃ battery",
			Doc: map[string]any{
				"id":           1001,
				"contact":      map[string]any{"email": "alice@example.com", "verified": true, "phone": "+15555550100"},
				"login":        "alice",
				"display_name": "Alice Liddell",
				"first":        "Alice",
				"last":         "Liddell",
				"avatar":       "https://example.com/alice.png",
				"prefs":        map[string]any{"lang": "en", "theme": map[string]any{"dark": true}},
				"roles":        []any{"admin", "editor"},
				"plan":         "gold",
			},
		},
		{
			Email: "bob.o'neill@example.org", Username: "bob_2", Password: "p@ss:wörd 2",
			Doc: map[string]any{
				"id":           "u-2",
				"contact":      map[string]any{"email": "bob.o'neill@example.org", "verified": false},
				"login":        "bob_2",
				"display_name": "Bób O'Neill",
				"prefs":        map[string]any{"lang": "fr"},
				"plan":         "free",
			},
		},
	}
}

// Service is the fake legacy service's handler. Identifiers match
// case-sensitively, as stored (lower case): the connector must lower-case.
type Service struct {
	users []User
	// ServiceToken is the bearer token, X-Api-Key value and Basic password
	// (user "trickle") accepted on lookups.
	ServiceToken string

	mu       sync.Mutex
	lastURI  string
	lastID   string
	requests int
}

// ServiceToken is the default service credential.
const ServiceToken = "svc-token-0123456789"

// NewService returns the service with Users.
func NewService() *Service { return &Service{users: Users(), ServiceToken: ServiceToken} }

// Last returns the request URI and the decoded identifier of the last
// lookup, and how many requests were served.
func (s *Service) Last() (uri, id string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastURI, s.lastID, s.requests
}

func (s *Service) find(id string) *User {
	for i := range s.users {
		if s.users[i].Email == id || s.users[i].Username == id {
			return &s.users[i]
		}
	}
	return nil
}

func (s *Service) userFromBasic(r *http.Request) *User {
	id, pw, ok := r.BasicAuth()
	if !ok {
		return nil
	}
	u := s.find(id)
	if u == nil || subtle.ConstantTimeCompare([]byte(pw), []byte(u.Password)) != 1 {
		return nil
	}
	return u
}

func (s *Service) serviceOK(r *http.Request) bool {
	tok := []byte(s.ServiceToken)
	eq := func(v string) bool { return v != "" && subtle.ConstantTimeCompare([]byte(v), tok) == 1 }
	if u, pw, ok := r.BasicAuth(); ok && u == "trickle" && eq(pw) {
		return true
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && a[:7] == "Bearer " && eq(a[7:]) {
		return true
	}
	return eq(r.Header.Get("X-Api-Key"))
}

func (s *Service) record(r *http.Request, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastURI, s.lastID = r.RequestURI, id
	s.requests++
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Handler serves:
//
//	GET|POST /api/login          Basic user credentials → {"data":{"user":{...}}}; 401 otherwise
//	POST     /api/session        Basic user credentials → 204 (use with a profile call)
//	GET      /api/me             Basic user credentials → {"data":{"user":{...}}}
//	GET      /api/users/{id}     service credential → {"data":{"user":{...}}} or 404
//	GET      /api/users?email=   service credential → {"users":[...]} (empty when unknown)
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	login := func(w http.ResponseWriter, r *http.Request) {
		s.record(r, "")
		u := s.userFromBasic(r)
		if u == nil {
			w.Header().Set("WWW-Authenticate", `Basic realm="legacy"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		writeJSON(w, map[string]any{"data": map[string]any{"user": u.Doc}})
	}
	mux.HandleFunc("GET /api/login", login)
	mux.HandleFunc("POST /api/login", login)
	mux.HandleFunc("GET /api/me", login)
	mux.HandleFunc("POST /api/session", func(w http.ResponseWriter, r *http.Request) {
		s.record(r, "")
		if s.userFromBasic(r) == nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /api/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		s.record(r, id)
		if !s.serviceOK(r) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		u := s.find(id)
		if u == nil {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, map[string]any{"data": map[string]any{"user": u.Doc}})
	})
	mux.HandleFunc("GET /api/users", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("email")
		s.record(r, id)
		if !s.serviceOK(r) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		list := []any{}
		if u := s.find(id); u != nil {
			list = append(list, u.Doc)
		}
		writeJSON(w, map[string]any{"users": list})
	})
	return mux
}

// PKI is a throw-away CA with a server certificate for 127.0.0.1 and a
// client certificate, written as PEM files into a test directory.
type PKI struct {
	CAFile, ServerCertFile, ServerKeyFile, ClientCertFile, ClientKeyFile string
	Pool                                                                 *x509.CertPool
	Server                                                               tls.Certificate
}

// NewPKI makes the CA and both certificates (ECDSA P-256: fast).
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	dir := t.TempDir()
	caKey := mustKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "legacytest CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := &PKI{Pool: x509.NewCertPool()}
	p.Pool.AddCert(ca)
	p.CAFile = writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (certFile, keyFile string, c tls.Certificate) {
		key := mustKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		certFile = writePEM(t, dir, name+".pem", "CERTIFICATE", der)
		keyFile = writePEM(t, dir, name+"-key.pem", "EC PRIVATE KEY", kder)
		c, err = tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		return certFile, keyFile, c
	}
	p.ServerCertFile, p.ServerKeyFile, p.Server = leaf("server", 2, x509.ExtKeyUsageServerAuth)
	p.ClientCertFile, p.ClientKeyFile, _ = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	return p
}

func mustKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writePEM(t testing.TB, dir, name, typ string, der []byte) string {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
