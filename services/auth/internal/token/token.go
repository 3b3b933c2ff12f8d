// Package token issues and verifies the auth service's access tokens: JWTs
// signed with Ed25519 (EdDSA) or ECDSA P-256 (ES256), and publishes the
// public keys as a JWK Set.
//
// Keys come from PEM files. Exactly one key signs (signing_key_file); any
// number of further keys (verification_key_files, public or private PEMs)
// are only published and accepted for verification. Every key's kid is its
// RFC 7638 JWK thumbprint (SHA-256, base64url), so it does not depend on
// file names or order.
//
// Rotating the signing key without rejecting live tokens:
//
//  1. add the new key to verification_key_files and deploy; wait at least
//     JWKSMaxAge so that clients caching the JWKS have seen it;
//  2. make the new key signing_key_file and move the old one to
//     verification_key_files; deploy;
//  3. after the token TTL (plus clock leeway) has passed, remove the old key.
//
// In development, with no signing_key_file, a key is generated once into
// dev_key_dir (LoadOrGenerate) and reused on later starts.
package token

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	// DefaultTTL is the access token lifetime when Config.TTL is zero.
	DefaultTTL = time.Hour
	// JWKSPath is where JWKSHandler is meant to be mounted.
	JWKSPath = "/.well-known/jwks.json"
	// JWKSMaxAge is how long clients may cache the JWKS (Cache-Control).
	JWKSMaxAge = 5 * time.Minute
	// Leeway is the clock skew allowed when checking exp and iat.
	Leeway = 30 * time.Second
	// maxTokenLen bounds the input Verify parses.
	maxTokenLen = 8 << 10
)

// allowedAlgs is the alg allow-list: anything else ("none", HS256, RS256...)
// is refused before any key is looked at.
var allowedAlgs = []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256}

var (
	// ErrInvalidToken is wrapped by every Verify error.
	ErrInvalidToken = errors.New("token: invalid token")
	// ErrExpired is wrapped (together with ErrInvalidToken) when the token
	// has expired.
	ErrExpired = errors.New("token: expired")
)

// Config configures an Issuer.
type Config struct {
	// Issuer is the iss claim; required.
	Issuer string `yaml:"issuer"`
	// Audience is the aud claim; required.
	Audience string `yaml:"audience"`
	// TTL is the token lifetime; DefaultTTL when zero.
	TTL time.Duration `yaml:"ttl"`
	// SigningKeyFile is the PEM private key (PKCS#8 Ed25519 or ECDSA P-256,
	// or SEC1 P-256) that signs new tokens.
	SigningKeyFile string `yaml:"signing_key_file"`
	// VerificationKeyFiles are further keys (public or private PEMs) that
	// are published and accepted, but never sign: old keys after a rotation,
	// or the next key before it.
	VerificationKeyFiles []string `yaml:"verification_key_files"`
	// DevKeyDir is used only when SigningKeyFile is empty: a development
	// key is generated there on first start and reused later.
	DevKeyDir string `yaml:"dev_key_dir"`
}

// Claims are what the auth service puts in a token.
type Claims struct {
	Subject string // sub: the user id
	Email   string
	// EmailVerified is always in the token, false included: anyone can
	// sign up with any free address, so an app that links accounts by
	// email must see that the address was never proven (OIDC's
	// email_verified).
	EmailVerified bool
	Connection    string
}

// VerifiedClaims are the claims of a token that passed Verify.
type VerifiedClaims struct {
	Claims
	Issuer    string
	Audience  []string
	IssuedAt  time.Time
	ExpiresAt time.Time
	ID        string // jti
	KeyID     string // kid of the key that signed it
}

// privateClaims are the non-registered claims in the token.
type privateClaims struct {
	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified"`
	Connection    string `json:"connection,omitempty"`
}

// Issuer signs and verifies tokens. It is safe for concurrent use.
type Issuer struct {
	issuer, audience string
	ttl              time.Duration
	signer           jose.Signer
	signingKID       string
	keys             map[string]*key
	jwks             []byte
	now              func() time.Time
}

// NewIssuer loads the keys named by cfg and returns an Issuer. Errors about
// key files wrap ErrKeyFile and name the file.
func NewIssuer(cfg Config) (*Issuer, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("token: issuer is required")
	}
	if cfg.Audience == "" {
		return nil, errors.New("token: audience is required")
	}
	if cfg.TTL < 0 {
		return nil, errors.New("token: ttl must not be negative")
	}
	ttl := cfg.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}

	signingFile := cfg.SigningKeyFile
	if signingFile == "" {
		if cfg.DevKeyDir == "" {
			return nil, errors.New("token: set signing_key_file (or dev_key_dir in development)")
		}
		var err error
		if signingFile, err = LoadOrGenerate(cfg.DevKeyDir); err != nil {
			return nil, err
		}
	}
	signing, err := loadKeyFile(signingFile)
	if err != nil {
		return nil, err
	}
	if signing.private == nil {
		return nil, fmt.Errorf("%w %s: the signing key must be a private key", ErrKeyFile, signingFile)
	}

	i := &Issuer{
		issuer:     cfg.Issuer,
		audience:   cfg.Audience,
		ttl:        ttl,
		signingKID: signing.kid,
		keys:       map[string]*key{signing.kid: signing},
		now:        time.Now,
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{signing.publicJWK()}}
	for _, path := range cfg.VerificationKeyFiles {
		k, err := loadKeyFile(path)
		if err != nil {
			return nil, err
		}
		if _, dup := i.keys[k.kid]; dup {
			continue
		}
		i.keys[k.kid] = k
		set.Keys = append(set.Keys, k.publicJWK())
	}
	if i.jwks, err = json.Marshal(set); err != nil {
		return nil, fmt.Errorf("token: encoding JWKS: %w", err)
	}

	i.signer, err = jose.NewSigner(
		jose.SigningKey{Algorithm: signing.alg, Key: jose.JSONWebKey{Key: signing.private, KeyID: signing.kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, fmt.Errorf("token: creating signer: %w", err)
	}
	return i, nil
}

// KeyID returns the kid of the signing key.
func (i *Issuer) KeyID() string { return i.signingKID }

// Issue signs a token for c, returning it and its lifetime (expires_in).
func (i *Issuer) Issue(c Claims) (token string, expiresIn time.Duration, err error) {
	if c.Subject == "" {
		return "", 0, errors.New("token: subject is required")
	}
	var jti [16]byte
	_, _ = rand.Read(jti[:]) // crypto/rand.Read never fails (Go 1.24+)
	now := i.now()
	registered := jwt.Claims{
		Issuer:   i.issuer,
		Subject:  c.Subject,
		Audience: jwt.Audience{i.audience},
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(i.ttl)),
		ID:       base64.RawURLEncoding.EncodeToString(jti[:]),
	}
	token, err = jwt.Signed(i.signer).
		Claims(registered).
		Claims(privateClaims{Email: c.Email, EmailVerified: c.EmailVerified, Connection: c.Connection}).
		Serialize()
	if err != nil {
		return "", 0, fmt.Errorf("token: signing: %w", err)
	}
	return token, i.ttl, nil
}

// Verify checks a token's signature against the published keys (by kid, with
// the alg allow-list and the alg bound to the key), then exp, iat, iss and
// aud. Every error wraps ErrInvalidToken; expiry also wraps ErrExpired.
func (i *Issuer) Verify(token string) (*VerifiedClaims, error) {
	if len(token) > maxTokenLen {
		return nil, invalid("too long")
	}
	tok, err := jwt.ParseSigned(token, allowedAlgs)
	if err != nil {
		return nil, invalid("malformed or algorithm not allowed")
	}
	if len(tok.Headers) != 1 {
		return nil, invalid("expected exactly one signature")
	}
	h := tok.Headers[0]
	k, ok := i.keys[h.KeyID]
	if !ok {
		return nil, invalid("unknown key id")
	}
	if jose.SignatureAlgorithm(h.Algorithm) != k.alg {
		return nil, invalid("algorithm does not match the key")
	}

	var (
		registered jwt.Claims
		private    privateClaims
	)
	if err := tok.Claims(k.public, &registered, &private); err != nil {
		return nil, invalid("bad signature or claims")
	}
	if registered.Expiry == nil || registered.IssuedAt == nil || registered.Subject == "" {
		return nil, invalid("missing exp, iat or sub")
	}
	err = registered.ValidateWithLeeway(jwt.Expected{
		Issuer:      i.issuer,
		AnyAudience: jwt.Audience{i.audience},
		Time:        i.now(),
	}, Leeway)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, ErrExpired)
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return nil, invalid("wrong issuer")
	case errors.Is(err, jwt.ErrInvalidAudience):
		return nil, invalid("wrong audience")
	case err != nil:
		return nil, invalid("claims not valid now")
	}

	return &VerifiedClaims{
		Claims: Claims{
			Subject:       registered.Subject,
			Email:         private.Email,
			EmailVerified: private.EmailVerified,
			Connection:    private.Connection,
		},
		Issuer:    registered.Issuer,
		Audience:  []string(registered.Audience),
		IssuedAt:  registered.IssuedAt.Time(),
		ExpiresAt: registered.Expiry.Time(),
		ID:        registered.ID,
		KeyID:     k.kid,
	}, nil
}

func invalid(reason string) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, reason)
}

// JWKS returns the JSON Web Key Set of all published public keys, the
// signing key first. The caller must not modify it.
func (i *Issuer) JWKS() []byte { return i.jwks }

// JWKSHandler serves JWKS() to GET and HEAD requests, as application/json
// with Cache-Control max-age JWKSMaxAge. Mount it at JWKSPath.
func (i *Issuer) JWKSHandler() http.Handler {
	cacheControl := "public, max-age=" + strconv.Itoa(int(JWKSMaxAge/time.Second))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", cacheControl)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Length", strconv.Itoa(len(i.jwks)))
		_, _ = w.Write(i.jwks)
	})
}
