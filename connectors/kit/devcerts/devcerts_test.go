package devcerts_test

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/trickle-auth/trickle/connectors/kit/devcerts"
)

func TestIssuedCertificatesVerifyAgainstTheCA(t *testing.T) {
	ca, err := devcerts.NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Server("connector", []string{"localhost", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := ca.Client("authd", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	for name, c := range map[string]struct {
		pair  devcerts.Pair
		usage x509.ExtKeyUsage
		host  string
	}{"server": {srv, x509.ExtKeyUsageServerAuth, "127.0.0.1"}, "client": {cli, x509.ExtKeyUsageClientAuth, ""}} {
		kp, err := tls.X509KeyPair(c.pair.CertPEM, c.pair.KeyPEM)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		leaf, _ := x509.ParseCertificate(kp.Certificate[0])
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: c.host, KeyUsages: []x509.ExtKeyUsage{c.usage}}); err != nil {
			t.Fatalf("%s does not verify: %v", name, err)
		}
	}
	other, _ := devcerts.NewCA("other", time.Hour)
	otherPool := x509.NewCertPool()
	otherPool.AppendCertsFromPEM(other.CertPEM)
	kp, _ := tls.X509KeyPair(srv.CertPEM, srv.KeyPEM)
	leaf, _ := x509.ParseCertificate(kp.Certificate[0])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: otherPool}); err == nil {
		t.Fatal("a certificate verified against a foreign CA")
	}
}
