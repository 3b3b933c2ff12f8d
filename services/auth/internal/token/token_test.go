package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// writePEM writes one PEM block to dir/name and returns the path.
func writePEM(t testing.TB, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newEd25519File(t testing.TB, dir, name string) (string, ed25519.PrivateKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name, "PRIVATE KEY", der), priv
}

func newECFile(t testing.TB, dir, name string, curve elliptic.Curve) (string, *ecdsa.PrivateKey) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name, "PRIVATE KEY", der), priv
}

func publicFile(t testing.TB, dir, name string, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name, "PUBLIC KEY", der)
}

func newIssuer(t testing.TB, cfg Config) *Issuer {
	t.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = "https://auth.example.test"
	}
	if cfg.Audience == "" {
		cfg.Audience = "trickle-api"
	}
	i, err := NewIssuer(cfg)
	if err != nil {
		t.Fatalf("NewIssuer: %v", err)
	}
	return i
}

var testClaims = Claims{Subject: "user-123", Email: "ada@example.com", Connection: "legacy-mysql"}

// segments splits a compact JWT and decodes its header.
func segments(t testing.TB, token string) (header map[string]any, parts []string) {
	t.Helper()
	parts = strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &header); err != nil {
		t.Fatal(err)
	}
	return header, parts
}

func b64json(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestIssueVerify(t *testing.T) {
	dir := t.TempDir()
	path, _ := newEd25519File(t, dir, "k.pem")
	iss := newIssuer(t, Config{SigningKeyFile: path, TTL: 10 * time.Minute})

	tok, expiresIn, err := iss.Issue(testClaims)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if expiresIn != 10*time.Minute {
		t.Fatalf("expiresIn = %v, want 10m", expiresIn)
	}
	header, _ := segments(t, tok)
	if header["alg"] != "EdDSA" || header["kid"] != iss.KeyID() || header["typ"] != "JWT" {
		t.Fatalf("header = %v", header)
	}

	got, err := iss.Verify(tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.Claims != testClaims {
		t.Fatalf("claims = %+v, want %+v", got.Claims, testClaims)
	}
	if got.Issuer != "https://auth.example.test" || len(got.Audience) != 1 || got.Audience[0] != "trickle-api" {
		t.Fatalf("iss/aud = %q/%q", got.Issuer, got.Audience)
	}
	if d := got.ExpiresAt.Sub(got.IssuedAt); d != 10*time.Minute {
		t.Fatalf("exp - iat = %v", d)
	}
	if got.ID == "" || got.KeyID != iss.KeyID() {
		t.Fatalf("jti %q, kid %q", got.ID, got.KeyID)
	}

	tok2, _, err := iss.Issue(testClaims)
	if err != nil {
		t.Fatal(err)
	}
	if got2, err := iss.Verify(tok2); err != nil || got2.ID == got.ID {
		t.Fatalf("second token: %v, jti repeated: %v", err, got2 != nil && got2.ID == got.ID)
	}

	if _, _, err := iss.Issue(Claims{Email: "x@example.com"}); err == nil {
		t.Fatal("Issue without subject succeeded")
	}
}

func TestES256(t *testing.T) {
	dir := t.TempDir()
	path, _ := newECFile(t, dir, "ec.pem", elliptic.P256())
	iss := newIssuer(t, Config{SigningKeyFile: path})
	tok, expiresIn, err := iss.Issue(testClaims)
	if err != nil {
		t.Fatal(err)
	}
	if expiresIn != DefaultTTL {
		t.Fatalf("expiresIn = %v, want DefaultTTL", expiresIn)
	}
	if h, _ := segments(t, tok); h["alg"] != "ES256" {
		t.Fatalf("alg = %v", h["alg"])
	}
	if _, err := iss.Verify(tok); err != nil {
		t.Fatalf("Verify: %v", err)
	}

	// SEC1 "EC PRIVATE KEY" (openssl ecparam -genkey) with its EC PARAMETERS block.
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(priv)
	params := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}})
	sec1 := filepath.Join(dir, "sec1.pem")
	if err := os.WriteFile(sec1, append(params, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})...), 0o600); err != nil {
		t.Fatal(err)
	}
	iss2 := newIssuer(t, Config{SigningKeyFile: sec1})
	tok2, _, err := iss2.Issue(testClaims)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss2.Verify(tok2); err != nil {
		t.Fatalf("Verify SEC1-signed: %v", err)
	}
}

// TestJWKSVerifiesIndependently fetches the JWKS over HTTP and verifies a
// token the way a resource server would, without the Issuer: parse the JWK
// Set, pick the key by kid, check the kid is the RFC 7638 thumbprint, and
// verify the signature both with go-jose and with crypto/ed25519 directly.
func TestJWKSVerifiesIndependently(t *testing.T) {
	dir := t.TempDir()
	path, priv := newEd25519File(t, dir, "k.pem")
	iss := newIssuer(t, Config{SigningKeyFile: path})
	tok, _, err := iss.Issue(testClaims)
	if err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET "+JWKSPath, iss.JWKSHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + JWKSPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=300") {
		t.Fatalf("Cache-Control = %q", cc)
	}

	// Only public material is published.
	var raw struct{ Keys []map[string]any }
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Keys) != 1 {
		t.Fatalf("%d keys published, want 1", len(raw.Keys))
	}
	k0 := raw.Keys[0]
	if _, hasD := k0["d"]; hasD {
		t.Fatal("JWKS contains a private key")
	}
	if k0["kty"] != "OKP" || k0["crv"] != "Ed25519" || k0["use"] != "sig" || k0["alg"] != "EdDSA" {
		t.Fatalf("JWK = %v", k0)
	}

	// kid is the RFC 7638 thumbprint, computed by hand.
	pub := priv.Public().(ed25519.PublicKey)
	x := base64.RawURLEncoding.EncodeToString(pub)
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`))
	if want := base64.RawURLEncoding.EncodeToString(sum[:]); k0["kid"] != want || k0["x"] != x {
		t.Fatalf("kid = %v, want thumbprint %s", k0["kid"], want)
	}

	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	header, parts := segments(t, tok)
	keys := set.Key(header["kid"].(string))
	if len(keys) != 1 {
		t.Fatalf("kid %v not found in JWKS", header["kid"])
	}
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := jws.Verify(keys[0].Key)
	if err != nil {
		t.Fatalf("go-jose verification with the JWKS key: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"sub": "user-123", "email": "ada@example.com", "connection": "legacy-mysql", "email_verified": false,
		"iss": "https://auth.example.test", "aud": "trickle-api",
	} {
		if claims[k] != want {
			t.Errorf("claim %s = %v, want %v", k, claims[k], want)
		}
	}
	for _, k := range []string{"iat", "exp", "jti"} {
		if _, ok := claims[k]; !ok {
			t.Errorf("claim %s missing", k)
		}
	}

	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	jwkPub := keys[0].Key.(ed25519.PublicKey)
	if !ed25519.Verify(jwkPub, []byte(parts[0]+"."+parts[1]), sig) {
		t.Fatal("crypto/ed25519 does not verify the token with the JWKS key")
	}

	// Other methods are refused.
	resp, err = http.Post(srv.URL+JWKSPath, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST status %d", resp.StatusCode)
	}
	rec := httptest.NewRecorder()
	iss.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodDelete, JWKSPath, nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" {
		t.Fatalf("DELETE: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	oldPath, oldPriv := newEd25519File(t, dir, "old.pem")
	newPath, _ := newECFile(t, dir, "new.pem", elliptic.P256())
	oldPub := publicFile(t, dir, "old.pub.pem", oldPriv.Public())

	before := newIssuer(t, Config{SigningKeyFile: oldPath})
	oldTok, _, err := before.Issue(testClaims)
	if err != nil {
		t.Fatal(err)
	}

	// The old key listed as a verification key, as a private or public PEM.
	for _, verif := range []string{oldPath, oldPub} {
		after := newIssuer(t, Config{SigningKeyFile: newPath, VerificationKeyFiles: []string{verif, newPath}})
		if after.KeyID() == before.KeyID() {
			t.Fatal("signing kid did not change")
		}
		got, err := after.Verify(oldTok)
		if err != nil {
			t.Fatalf("old token after rotation (%s): %v", filepath.Base(verif), err)
		}
		if got.KeyID != before.KeyID() {
			t.Fatalf("verified with kid %s, want %s", got.KeyID, before.KeyID())
		}
		newTok, _, err := after.Issue(testClaims)
		if err != nil {
			t.Fatal(err)
		}
		if h, _ := segments(t, newTok); h["kid"] != after.KeyID() || h["alg"] != "ES256" {
			t.Fatalf("new token header %v", h)
		}
		if _, err := after.Verify(newTok); err != nil {
			t.Fatal(err)
		}

		var set jose.JSONWebKeySet
		if err := json.Unmarshal(after.JWKS(), &set); err != nil {
			t.Fatal(err)
		}
		if len(set.Keys) != 2 || set.Keys[0].KeyID != after.KeyID() || set.Keys[1].KeyID != before.KeyID() {
			t.Fatalf("JWKS kids = %v, want [signing, old] without duplicates", kids(set))
		}
		// The old key never signs.
		for range 3 {
			tok, _, _ := after.Issue(testClaims)
			if h, _ := segments(t, tok); h["kid"] != after.KeyID() {
				t.Fatal("a verification key signed a token")
			}
		}
	}

	// Once the old key is removed, its tokens are refused.
	removed := newIssuer(t, Config{SigningKeyFile: newPath})
	if _, err := removed.Verify(oldTok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("old token after removing the old key: err = %v", err)
	}
}

func kids(set jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

func TestForeignKeysRefused(t *testing.T) {
	dir := t.TempDir()
	path, _ := newEd25519File(t, dir, "ours.pem")
	foreignPath, foreignPriv := newEd25519File(t, dir, "foreign.pem")
	iss := newIssuer(t, Config{SigningKeyFile: path})
	foreign := newIssuer(t, Config{SigningKeyFile: foreignPath})

	tok, _, err := foreign.Issue(testClaims)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Verify(tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token from an unknown key: err = %v", err)
	}

	// A foreign key claiming our kid fails the signature check.
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA,
		Key: jose.JSONWebKey{Key: foreignPriv, KeyID: iss.KeyID()}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	foreign.signer = signer
	forged, _, err := foreign.Issue(testClaims)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := segments(t, forged); h["kid"] != iss.KeyID() {
		t.Fatal("forged token does not carry our kid")
	}
	if _, err := iss.Verify(forged); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("forged kid: err = %v", err)
	}
}

func TestClaimChecks(t *testing.T) {
	dir := t.TempDir()
	path, _ := newEd25519File(t, dir, "k.pem")
	iss := newIssuer(t, Config{SigningKeyFile: path, TTL: time.Hour})
	otherAud := newIssuer(t, Config{SigningKeyFile: path, Audience: "someone-else"})
	otherIss := newIssuer(t, Config{SigningKeyFile: path, Issuer: "https://evil.example"})

	mustIssue := func(i *Issuer) string {
		tok, _, err := i.Issue(testClaims)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	// Expired: issued two hours ago with a one-hour TTL.
	iss.now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	expired := mustIssue(iss)
	// Just expired but within the leeway.
	iss.now = func() time.Time { return time.Now().Add(-time.Hour - Leeway/3) }
	withinLeeway := mustIssue(iss)
	// Issued in the future (clock far ahead).
	iss.now = func() time.Time { return time.Now().Add(10 * time.Minute) }
	future := mustIssue(iss)
	iss.now = time.Now

	if _, err := iss.Verify(withinLeeway); err != nil {
		t.Fatalf("token expired within the leeway: %v", err)
	}
	_, err := iss.Verify(expired)
	if !errors.Is(err, ErrExpired) || !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("expired: err = %v, want ErrExpired and ErrInvalidToken", err)
	}
	for name, tok := range map[string]string{
		"wrong audience": mustIssue(otherAud),
		"wrong issuer":   mustIssue(otherIss),
		"iat in future":  future,
		"empty":          "",
		"garbage":        "not.a.jwt",
		"too long":       strings.Repeat("a", maxTokenLen+1),
	} {
		if _, err := iss.Verify(tok); !errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrExpired) {
			t.Errorf("%s: err = %v, want ErrInvalidToken", name, err)
		}
	}
}

// TestAlgorithmAttacks crafts tokens by hand: alg "none", HS256 keyed with
// the public key in several encodings, a tampered payload, and an alg that
// does not match the kid's key.
func TestAlgorithmAttacks(t *testing.T) {
	dir := t.TempDir()
	path, priv := newEd25519File(t, dir, "k.pem")
	ecPath, _ := newECFile(t, dir, "ec.pem", elliptic.P256())
	iss := newIssuer(t, Config{SigningKeyFile: path, VerificationKeyFiles: []string{ecPath}})
	ecIss := newIssuer(t, Config{SigningKeyFile: ecPath})

	good, _, err := iss.Issue(testClaims)
	if err != nil {
		t.Fatal(err)
	}
	_, parts := segments(t, good)
	payload := parts[1]
	pub := priv.Public().(ed25519.PublicKey)
	pubDER, _ := x509.MarshalPKIXPublicKey(pub)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	hs256 := func(secret []byte, kid string) string {
		h := b64json(t, map[string]string{"alg": "HS256", "typ": "JWT", "kid": kid})
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(h + "." + payload))
		return h + "." + payload + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	none := b64json(t, map[string]string{"alg": "none", "typ": "JWT", "kid": iss.KeyID()}) + "." + payload + "."

	tampered := b64json(t, map[string]any{"sub": "admin", "iss": "https://auth.example.test",
		"aud": "trickle-api", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})

	// EdDSA header pointing at the ES256 key's kid.
	ecKID := ecIss.KeyID()
	mismatchHeader := b64json(t, map[string]string{"alg": "EdDSA", "typ": "JWT", "kid": ecKID})
	mismatchSig := ed25519.Sign(priv, []byte(mismatchHeader+"."+payload))

	cases := map[string]string{
		"alg none":                none,
		"alg none with signature": none + parts[2],
		"HS256 raw public key":    hs256(pub, iss.KeyID()),
		"HS256 PEM public key":    hs256(pubPEM, iss.KeyID()),
		"HS256 JWKS":              hs256(iss.JWKS(), iss.KeyID()),
		"HS256 no kid":            hs256(pub, ""),
		"tampered payload":        parts[0] + "." + tampered + "." + parts[2],
		"alg does not match kid":  mismatchHeader + "." + payload + "." + base64.RawURLEncoding.EncodeToString(mismatchSig),
		"signature stripped":      parts[0] + "." + parts[1] + ".",
		"JSON serialization":      `{"payload":"` + payload + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`,
		"header without kid":      b64json(t, map[string]string{"alg": "EdDSA"}) + "." + payload + "." + parts[2],
	}
	for name, tok := range cases {
		_, err := iss.Verify(tok)
		if !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: err = %v, want ErrInvalidToken", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	if _, err := iss.Verify(good); err != nil {
		t.Fatalf("the genuine token: %v", err)
	}
}

func TestDevKeyGeneratedOnceAndReused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "keys")

	first := newIssuer(t, Config{DevKeyDir: dir})
	path := filepath.Join(dir, DevKeyFileName)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("dev key not written: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("dev key mode %v, want 0600", st.Mode().Perm())
	}
	if dst, _ := os.Stat(dir); dst.Mode().Perm() != 0o700 {
		t.Fatalf("dev key dir mode %v, want 0700", dst.Mode().Perm())
	}
	content, _ := os.ReadFile(path)

	tok, _, err := first.Issue(testClaims)
	if err != nil {
		t.Fatal(err)
	}
	second := newIssuer(t, Config{DevKeyDir: dir})
	if second.KeyID() != first.KeyID() {
		t.Fatal("a second start generated a new key")
	}
	if _, err := second.Verify(tok); err != nil {
		t.Fatalf("token from the first start: %v", err)
	}
	if again, _ := os.ReadFile(path); string(again) != string(content) {
		t.Fatal("dev key file rewritten")
	}

	// signing_key_file wins over dev_key_dir.
	other, _ := newEd25519File(t, t.TempDir(), "k.pem")
	if newIssuer(t, Config{SigningKeyFile: other, DevKeyDir: dir}).KeyID() == first.KeyID() {
		t.Fatal("dev key used although signing_key_file is set")
	}
}

func TestDevKeyConcurrentFirstStart(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	paths := make([]string, 8)
	errs := make([]error, 8)
	for n := range paths {
		wg.Go(func() { paths[n], errs[n] = LoadOrGenerate(dir) })
	}
	wg.Wait()
	var kid string
	for n := range paths {
		if errs[n] != nil {
			t.Fatal(errs[n])
		}
		k, err := loadKeyFile(paths[n])
		if err != nil {
			t.Fatal(err)
		}
		if kid == "" {
			kid = k.kid
		} else if k.kid != kid {
			t.Fatal("concurrent first starts produced different keys")
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("dir holds %d entries, want only %s", len(entries), DevKeyFileName)
	}
}

func TestKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	edPath, edPriv := newEd25519File(t, dir, "ed.pem")
	edBytes, _ := os.ReadFile(edPath)
	p384, _ := newECFile(t, dir, "p384.pem", elliptic.P384())

	cases := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope.pem"), "no such file"},
		{"empty", write("empty.pem", ""), "no PEM block"},
		{"not PEM", write("text.pem", "hello"), "no PEM block"},
		{"RSA", write("rsa.pem", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"), "RSA keys are not supported"},
		{"encrypted", write("enc.pem", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), "encrypted"},
		{"certificate", write("cert.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), `"CERTIFICATE"`},
		{"corrupt DER", write("bad.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "parsing PRIVATE KEY"},
		{"two keys", write("two.pem", string(edBytes)+string(edBytes)), "more than one key"},
		{"P-384", p384, "P-384 is not supported"},
		{"public signing key", publicFile(t, dir, "pub.pem", edPriv.Public()), "must be a private key"},
	}
	secret := base64.StdEncoding.EncodeToString(edPriv.Seed())[:16]
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewIssuer(Config{Issuer: "i", Audience: "a", SigningKeyFile: c.path})
			if err == nil {
				t.Fatal("NewIssuer succeeded")
			}
			msg := err.Error()
			if !errors.Is(err, ErrKeyFile) || !strings.Contains(msg, c.path) || !strings.Contains(msg, c.want) {
				t.Fatalf("err = %q; want ErrKeyFile naming the file and saying %q", msg, c.want)
			}
			if strings.Contains(msg, secret) || strings.Contains(msg, "AAAA") {
				t.Fatalf("err %q contains key material", msg)
			}
		})
	}
	if _, err := NewIssuer(Config{Issuer: "i", Audience: "a", SigningKeyFile: filepath.Join(dir, "nope.pem")}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file err = %v, want fs.ErrNotExist", err)
	}

	// A bad verification key file is an error too, naming that file.
	bad := write("verif.pem", "junk")
	if _, err := NewIssuer(Config{Issuer: "i", Audience: "a", SigningKeyFile: edPath, VerificationKeyFiles: []string{bad}}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("bad verification key: err = %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	path, _ := newEd25519File(t, t.TempDir(), "k.pem")
	for name, cfg := range map[string]Config{
		"no issuer":    {Audience: "a", SigningKeyFile: path},
		"no audience":  {Issuer: "i", SigningKeyFile: path},
		"no key":       {Issuer: "i", Audience: "a"},
		"negative ttl": {Issuer: "i", Audience: "a", SigningKeyFile: path, TTL: -time.Second},
	} {
		if _, err := NewIssuer(cfg); err == nil {
			t.Errorf("%s: NewIssuer succeeded", name)
		}
	}
}

// email_verified is in every token, false included (an absent claim would
// let a consumer guess), and survives Verify.
func TestEmailVerifiedClaim(t *testing.T) {
	path, _ := newEd25519File(t, t.TempDir(), "k.pem")
	iss := newIssuer(t, Config{SigningKeyFile: path})
	for _, verified := range []bool{false, true} {
		c := Claims{Subject: "u", Email: "ada@example.com", EmailVerified: verified, Connection: "c"}
		tok, _, err := iss.Issue(c)
		if err != nil {
			t.Fatal(err)
		}
		_, parts := segments(t, tok)
		raw, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var payload map[string]any
		if err := json.Unmarshal(raw, &payload); err != nil {
			t.Fatal(err)
		}
		if got, ok := payload["email_verified"]; !ok || got != verified {
			t.Fatalf("payload email_verified = %v (present %v), want %v", got, ok, verified)
		}
		got, err := iss.Verify(tok)
		if err != nil || got.Claims != c {
			t.Fatalf("verified claims %+v, %v; want %+v", got, err, c)
		}
	}
}
