package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	jose "github.com/go-jose/go-jose/v4"
)

// DevKeyFileName is the file LoadOrGenerate keeps its key in.
const DevKeyFileName = "jwt-signing-key.pem"

// ErrKeyFile is wrapped by every error about reading or parsing a key file.
var ErrKeyFile = errors.New("token: key file")

// key is one key of the set: always a public key, and the private key when
// the file held one.
type key struct {
	kid     string
	alg     jose.SignatureAlgorithm
	public  crypto.PublicKey // ed25519.PublicKey or *ecdsa.PublicKey (P-256)
	private crypto.Signer    // nil for public-only keys
}

// loadKeyFile reads one key from a PEM file: a PKCS#8 private key
// ("PRIVATE KEY"), a SEC1 EC private key ("EC PRIVATE KEY") or a PKIX public
// key ("PUBLIC KEY"), either Ed25519 or ECDSA P-256. Errors name the file and
// never contain key material.
func loadKeyFile(path string) (*key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrKeyFile, path, err)
	}
	k, err := parseKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrKeyFile, path, err)
	}
	return k, nil
}

func parseKeyPEM(data []byte) (*key, error) {
	var found *pem.Block
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "EC PARAMETERS" { // openssl ecparam -genkey writes this first
			continue
		}
		if found != nil {
			return nil, errors.New("more than one key in the file; use one key per file")
		}
		found = block
	}
	if found == nil {
		return nil, errors.New("no PEM block found; expected a PEM-encoded Ed25519 or ECDSA P-256 key")
	}

	var (
		parsed any
		err    error
	)
	switch found.Type {
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(found.Bytes)
	case "EC PRIVATE KEY":
		parsed, err = x509.ParseECPrivateKey(found.Bytes)
	case "PUBLIC KEY":
		parsed, err = x509.ParsePKIXPublicKey(found.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("encrypted private keys are not supported; store the key unencrypted with file mode 0600")
	case "RSA PRIVATE KEY", "RSA PUBLIC KEY":
		return nil, errors.New("RSA keys are not supported; use Ed25519 (openssl genpkey -algorithm ed25519) or ECDSA P-256")
	default:
		return nil, fmt.Errorf("unexpected PEM block type %q; expected PRIVATE KEY, EC PRIVATE KEY or PUBLIC KEY", found.Type)
	}
	if err != nil {
		// x509 errors describe the structure, not the key bytes.
		return nil, fmt.Errorf("parsing %s block: %w", found.Type, err)
	}
	return newKey(parsed)
}

// newKey classifies a parsed private or public key and computes its kid.
func newKey(parsed any) (*key, error) {
	k := &key{}
	switch v := parsed.(type) {
	case ed25519.PrivateKey:
		k.alg, k.public, k.private = jose.EdDSA, v.Public(), v
	case ed25519.PublicKey:
		k.alg, k.public = jose.EdDSA, v
	case *ecdsa.PrivateKey:
		if v.Curve != elliptic.P256() {
			return nil, fmt.Errorf("ECDSA curve %s is not supported; use P-256 (ES256)", v.Curve.Params().Name)
		}
		k.alg, k.public, k.private = jose.ES256, v.Public(), v
	case *ecdsa.PublicKey:
		if v.Curve != elliptic.P256() {
			return nil, fmt.Errorf("ECDSA curve %s is not supported; use P-256 (ES256)", v.Curve.Params().Name)
		}
		k.alg, k.public = jose.ES256, v
	default:
		return nil, fmt.Errorf("key type %T is not supported; use Ed25519 or ECDSA P-256", parsed)
	}
	jwk := jose.JSONWebKey{Key: k.public}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("computing the key's JWK thumbprint: %w", err)
	}
	k.kid = base64.RawURLEncoding.EncodeToString(thumb)
	return k, nil
}

// publicJWK is the key as published in the JWKS.
func (k *key) publicJWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.public, KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// LoadOrGenerate returns the path of the development signing key in dir
// (DevKeyFileName), first generating an Ed25519 key there (PKCS#8 PEM, file
// mode 0600, directory created with 0700) if there is none. Later calls, and
// other processes sharing dir, reuse the same key. For development only:
// production configures signing_key_file.
func LoadOrGenerate(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("token: dev key directory is empty")
	}
	path := filepath.Join(dir, DevKeyFileName)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w %s: %w", ErrKeyFile, path, err)
	}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("token: creating dev key directory: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("token: generating dev key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("token: encoding dev key: %w", err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})

	// Write a temporary file, then hard-link it into place: the link fails
	// if another process got there first, and then its key is used.
	tmp, err := os.CreateTemp(dir, ".jwt-signing-key-*.pem")
	if err != nil {
		return "", fmt.Errorf("token: writing dev key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", fmt.Errorf("token: writing dev key: %w", err)
	}
	if _, err := tmp.Write(pemBytes); err != nil {
		tmp.Close()
		return "", fmt.Errorf("token: writing dev key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("token: writing dev key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("token: writing dev key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("token: installing dev key: %w", err)
	}
	return path, nil
}
