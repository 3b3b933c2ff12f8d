package passwordhash

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// vector is one entry of testdata/vectors_*.json. See testdata/README.md
// for where each file comes from.
type vector struct {
	Format   string `json:"format"`
	Value    string `json:"value"`
	Salt     string `json:"salt"`
	Password string `json:"password"`
	Wrong    string `json:"wrong"`
	Source   string `json:"source"`
	Detect   bool   `json:"detect"`
	Config   struct {
		Salted struct {
			Position     string `json:"position"`
			Encoding     string `json:"encoding"`
			SaltEncoding string `json:"salt_encoding"`
		} `json:"salted"`
		Firebase struct {
			SignerKey     string `json:"signer_key"`
			SaltSeparator string `json:"salt_separator"`
			Rounds        int    `json:"rounds"`
			MemCost       int    `json:"mem_cost"`
		} `json:"firebase"`
	} `json:"config"`
}

func (v vector) config() Config {
	return Config{
		Salted: SaltedConfig{
			Position:     v.Config.Salted.Position,
			Encoding:     v.Config.Salted.Encoding,
			SaltEncoding: v.Config.Salted.SaltEncoding,
		},
		Firebase: FirebaseConfig{
			SignerKey:     v.Config.Firebase.SignerKey,
			SaltSeparator: v.Config.Firebase.SaltSeparator,
			Rounds:        v.Config.Firebase.Rounds,
			MemCost:       v.Config.Firebase.MemCost,
		},
	}
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	files, err := filepath.Glob("testdata/vectors_*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test vectors: %v", err)
	}
	var all []vector
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var vs []vector
		if err := json.Unmarshal(b, &vs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i := range vs {
			vs[i].Source = filepath.Base(f) + ": " + vs[i].Source
		}
		all = append(all, vs...)
	}
	return all
}

func TestVectors(t *testing.T) {
	for i, vec := range loadVectors(t) {
		t.Run(vec.Format, func(t *testing.T) {
			t.Parallel()
			t.Logf("vector %d from %s", i, vec.Source)
			v, err := New(vec.config())
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			h := Hash{Format: vec.Format, Value: vec.Value, Salt: vec.Salt}
			if err := v.Verify(vec.Password, h); err != nil {
				t.Errorf("right password: %v", err)
			}
			if err := v.Verify(vec.Wrong, h); !errors.Is(err, ErrMismatch) {
				t.Errorf("wrong password: got %v, want ErrMismatch", err)
			}
			if !vec.Detect {
				return
			}
			if vec.Salt == "" {
				if got, err := Detect(vec.Value); err != nil || got != vec.Format {
					t.Errorf("Detect = %q, %v; want %q", got, err, vec.Format)
				}
			}
			h.Format = ""
			if err := v.Verify(vec.Password, h); err != nil {
				t.Errorf("right password, detected format: %v", err)
			}
		})
	}
}

// TestEveryFormatHasVectors keeps Formats() and the test data in step.
func TestEveryFormatHasVectors(t *testing.T) {
	seen := map[string]int{}
	for _, v := range loadVectors(t) {
		seen[v.Format]++
	}
	for _, f := range Formats() {
		if seen[f] == 0 {
			t.Errorf("format %q has no test vector", f)
		}
	}
	for f := range seen {
		if _, ok := registry[f]; !ok {
			t.Errorf("test vector for unregistered format %q", f)
		}
	}
}
