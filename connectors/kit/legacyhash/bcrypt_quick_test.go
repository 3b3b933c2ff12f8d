package legacyhash

import (
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestBcryptQuick(t *testing.T) {
	v, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("pässwörd"), 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify("pässwörd", Hash{Value: string(hash)}); err != nil {
		t.Fatalf("right password: %v", err)
	}
	if err := v.Verify("wrong", Hash{Format: FormatBcrypt, Value: string(hash)}); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong password: %v", err)
	}
	info, err := Inspect(string(hash))
	if err != nil || info.Format != FormatBcrypt || info.BcryptCost != 4 {
		t.Fatalf("Inspect = %+v, %v", info, err)
	}
}
