package passwordhash

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"

	"golang.org/x/crypto/scrypt"
)

// Firebase Authentication's modified scrypt (github.com/firebase/scrypt):
// key = scrypt(password, salt+salt_separator, N=2^mem_cost, r=rounds, p=1,
// 32 bytes); hash = AES-256-CTR(key, iv=0) over the project's signer key.
// Hash.Value is the exported passwordHash, Hash.Salt the exported salt,
// both base64.

type firebaseParams struct {
	signerKey     []byte
	saltSeparator []byte
	rounds        int
	memCost       uint
}

func (c FirebaseConfig) params() (*firebaseParams, error) {
	if c == (FirebaseConfig{}) {
		return nil, nil
	}
	signer, err := base64.StdEncoding.DecodeString(c.SignerKey)
	if err != nil || len(signer) == 0 {
		return nil, errors.New("passwordhash: firebase.signer_key must be non-empty base64")
	}
	sep, err := base64.StdEncoding.DecodeString(c.SaltSeparator)
	if err != nil {
		return nil, errors.New("passwordhash: firebase.salt_separator must be base64")
	}
	if c.Rounds < 1 || c.Rounds > 8 {
		return nil, fmt.Errorf("passwordhash: firebase.rounds must be 1..8")
	}
	if c.MemCost < 1 || c.MemCost > 14 {
		return nil, fmt.Errorf("passwordhash: firebase.mem_cost must be 1..14")
	}
	return &firebaseParams{signerKey: signer, saltSeparator: sep, rounds: c.Rounds, memCost: uint(c.MemCost)}, nil
}

func init() {
	register(FormatFirebaseScrypt, func(v *Verifier, password string, h Hash) error {
		if v.firebase == nil {
			return fmt.Errorf("%w: firebase-scrypt needs the firebase section of the config", ErrUnknownFormat)
		}
		return v.firebase.verify(password, h)
	})
}

func (p *firebaseParams) verify(password string, h Hash) error {
	want, err := base64.StdEncoding.DecodeString(h.Value)
	if err != nil || len(want) == 0 {
		return malformed(FormatFirebaseScrypt, errDigest.Error())
	}
	salt, err := base64.StdEncoding.DecodeString(h.Salt)
	if err != nil || len(salt) == 0 {
		return malformed(FormatFirebaseScrypt, errSalt.Error())
	}
	fullSalt := append(append(make([]byte, 0, len(salt)+len(p.saltSeparator)), salt...), p.saltSeparator...)
	key, err := scrypt.Key([]byte(password), fullSalt, 1<<p.memCost, p.rounds, 1, 32)
	if err != nil {
		return malformed(FormatFirebaseScrypt, "scrypt rejected the parameters")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return malformed(FormatFirebaseScrypt, "aes rejected the key")
	}
	got := make([]byte, len(p.signerKey))
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(got, p.signerKey)
	return equal(got, want)
}
