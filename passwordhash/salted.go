package passwordhash

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// Salted digests: digest(salt+password) or digest(password+salt), with the
// salt in Hash.Salt and the digest stored as hex or base64 (SaltedConfig).

type saltedParams struct {
	prefix       bool   // salt before the password
	base64       bool   // digest stored as base64 (else hex)
	saltEncoding string // "raw", "hex" or "base64"
}

func (c SaltedConfig) params() (saltedParams, error) {
	var p saltedParams
	switch strings.ToLower(c.Position) {
	case "", "suffix":
	case "prefix":
		p.prefix = true
	default:
		return p, fmt.Errorf("passwordhash: salted.position must be \"prefix\" or \"suffix\"")
	}
	switch strings.ToLower(c.Encoding) {
	case "", "hex":
	case "base64":
		p.base64 = true
	default:
		return p, fmt.Errorf("passwordhash: salted.encoding must be \"hex\" or \"base64\"")
	}
	switch p.saltEncoding = strings.ToLower(c.SaltEncoding); p.saltEncoding {
	case "":
		p.saltEncoding = "raw"
	case "raw", "hex", "base64":
	default:
		return p, fmt.Errorf("passwordhash: salted.salt_encoding must be \"raw\", \"hex\" or \"base64\"")
	}
	return p, nil
}

func init() {
	for _, f := range []struct {
		name string
		h    func() hash.Hash
	}{
		{FormatSaltedMD5, md5.New},
		{FormatSaltedSHA1, sha1.New},
		{FormatSaltedSHA256, sha256.New},
		{FormatSaltedSHA512, sha512.New},
	} {
		register(f.name, func(v *Verifier, password string, h Hash) error {
			return v.salted.verify(f.name, f.h, password, h)
		})
	}
}

func (p saltedParams) verify(name string, newHash func() hash.Hash, password string, h Hash) error {
	d := newHash()
	var want []byte
	var err error
	if p.base64 {
		want, err = decodeB64(h.Value)
	} else {
		want, err = hex.DecodeString(h.Value)
	}
	if err != nil || len(want) != d.Size() {
		return malformed(name, errDigest.Error())
	}
	var salt []byte
	switch p.saltEncoding {
	case "hex":
		salt, err = hex.DecodeString(h.Salt)
	case "base64":
		salt, err = base64.StdEncoding.DecodeString(h.Salt)
	default:
		salt = []byte(h.Salt)
	}
	if err != nil {
		return malformed(name, errSalt.Error())
	}
	if p.prefix {
		d.Write(salt)
		d.Write([]byte(password))
	} else {
		d.Write([]byte(password))
		d.Write(salt)
	}
	return equal(d.Sum(nil), want)
}
