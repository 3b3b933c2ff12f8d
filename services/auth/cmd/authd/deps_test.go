package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// authd is the production binary: the embedded FerretDB and the SQLite
// driver of the local runner (cmd/trickle-local) must stay out of it.
func TestAuthdDoesNotLinkDevelopmentStores(t *testing.T) {
	// The go command that runs this test is the one to ask; PATH may lack it.
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Fatal("go command not found:", err)
		}
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		l := strings.ToLower(pkg)
		if strings.Contains(l, "ferret") || strings.HasPrefix(l, "modernc.org/sqlite") || strings.Contains(l, "deploy/testenv") {
			t.Errorf("authd links %s", pkg)
		}
	}
}
