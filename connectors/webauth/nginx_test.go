package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trickle-auth/trickle/connectors/webauth/internal/legacytest"
	"github.com/trickle-auth/trickle/deploy/testenv"
)

// nginxServer is a real nginx on 127.0.0.1 playing the legacy web service:
//
//	GET /login                 auth_basic against users.htpasswd; answers the
//	                           user's static JSON document (by $remote_user)
//	GET /users/<id>.json       auth_basic against service.htpasswd
type nginxServer struct {
	Addr                string
	ServiceUser         string
	ServicePasswordFile string
	HtpasswdFile        string
}

const (
	nginxServiceUser     = "trickle"
	nginxServicePassword = "nginx-service-pw-for-tests"
)

// nginxBinary finds nginx, or installs it (and htpasswd) once with
// deploy/testenv/nginx.sh.
var nginxBinary = sync.OnceValues(func() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx", nil
	}
	var out, stderr bytes.Buffer
	cmd := exec.Command("../../deploy/testenv/nginx.sh")
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("deploy/testenv/nginx.sh: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(out.String()), nil
})

// startNginx serves users from a temporary prefix until the test ends. The
// htpasswd files are made by the real htpasswd (bcrypt for the first user,
// apr1 for the others); without it, by the committed testdata/*.htpasswd
// fixtures, which htpasswd made from the same users (see testdata/README.md).
func startNginx(t *testing.T, users []legacytest.User) *nginxServer {
	return startNginxWith(t, users, false)
}

// startNginxWith is startNginx; fixtures forces the committed htpasswd files.
func startNginxWith(t *testing.T, users []legacytest.User, fixtures bool) *nginxServer {
	t.Helper()
	bin, err := nginxBinary()
	if err != nil {
		testenv.Unavailable(t, "nginx", err)
	}
	dir := t.TempDir()
	for _, d := range []string{"www/profiles", "www/users", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	usersFile := filepath.Join(dir, "users.htpasswd")
	service := filepath.Join(dir, "service.htpasswd")
	if fixtures {
		copyFile(t, "testdata/users.htpasswd", usersFile)
		copyFile(t, "testdata/service.htpasswd", service)
	} else {
		writeHtpasswd(t, users, usersFile, service)
	}
	for _, u := range users {
		doc, err := json.Marshal(u.Doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{u.Email, u.Username} {
			for _, sub := range []string{"profiles", "users"} {
				if err := os.WriteFile(filepath.Join(dir, "www", sub, id+".json"), doc, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	pwFile := filepath.Join(dir, "service.password")
	if err := os.WriteFile(pwFile, []byte(nginxServicePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for range 3 { // the free port may be taken between Close and nginx's bind
		addr, err := runNginx(t, bin, dir)
		if err == nil {
			return &nginxServer{Addr: addr, ServiceUser: nginxServiceUser, ServicePasswordFile: pwFile, HtpasswdFile: usersFile}
		}
		lastErr = err
	}
	t.Fatalf("nginx did not start: %v", lastErr)
	return nil
}

const nginxConf = `# written by connectors/webauth tests
%s
daemon off;
master_process on;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 128; }
http {
	access_log off;
	client_body_temp_path %[2]s/tmp/body;
	proxy_temp_path %[2]s/tmp/proxy;
	fastcgi_temp_path %[2]s/tmp/fastcgi;
	uwsgi_temp_path %[2]s/tmp/uwsgi;
	scgi_temp_path %[2]s/tmp/scgi;
	types { application/json json; }
	default_type application/octet-stream;
	server_tokens off;
	server {
		listen %[3]s;
		root %[2]s/www;
		location = /login {
			auth_basic "legacy users";
			auth_basic_user_file %[2]s/users.htpasswd;
			# Authenticated users without a document are a broken store.
			try_files /profiles/$remote_user.json =500;
		}
		location /users/ {
			auth_basic "legacy service";
			auth_basic_user_file %[2]s/service.htpasswd;
		}
		location / { return 404; }
	}
}
`

func runNginx(t *testing.T, bin, dir string) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	user := ""
	if os.Geteuid() == 0 {
		// As root, nginx would run its worker as nobody, who cannot read
		// the test's private directory.
		user = "user root root;"
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConf, user, dir, addr), 0o600); err != nil {
		t.Fatal(err)
	}
	errLog := filepath.Join(dir, "error.log")
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-e", errLog)
	killWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			msg, _ := os.ReadFile(errLog)
			return "", fmt.Errorf("nginx exited (%v): %s", err, strings.TrimSpace(string(msg)))
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return "", errors.New("nginx did not answer within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // fast shutdown
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	return addr, nil
}

// writeHtpasswd writes the user and service files with the real htpasswd:
// bcrypt (-B, cost 5 to keep the suite fast) for the first user and the
// service account, apr1 (-m) for the others, one line per identifier.
func writeHtpasswd(t *testing.T, users []legacytest.User, usersFile, serviceFile string) {
	t.Helper()
	htpasswd, err := exec.LookPath("htpasswd")
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("htpasswd is required under CI: run deploy/testenv/nginx.sh (%v)", err)
		}
		t.Logf("htpasswd not found: using the committed testdata fixtures")
		copyFile(t, "testdata/users.htpasswd", usersFile)
		copyFile(t, "testdata/service.htpasswd", serviceFile)
		return
	}
	add := func(file, algo, user, pw string) {
		args := []string{"-i", algo}
		if algo == "-B" {
			args = append(args, "-C", "5")
		}
		if _, err := os.Stat(file); err != nil {
			args = append(args, "-c")
		}
		cmd := exec.Command(htpasswd, append(args, file, user)...)
		cmd.Stdin = strings.NewReader(pw)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("htpasswd %s: %v: %s", user, err, out)
		}
	}
	for i, u := range users {
		algo := "-m"
		if i == 0 {
			algo = "-B"
		}
		for _, id := range []string{u.Email, u.Username} {
			add(usersFile, algo, id, u.Password)
		}
	}
	add(serviceFile, "-B", nginxServiceUser, nginxServicePassword)
}

func copyFile(t *testing.T, from, to string) {
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
