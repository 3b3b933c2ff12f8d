// Package compose holds the seed data and configuration files of
// deploy/compose.yaml; its test checks the compose file without a Docker
// engine: it loads it with the Compose specification's own loader
// (compose-go, schema-validated) and checks what the loader cannot know.
package compose

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore"
	"github.com/trickle-auth/trickle/deploy/testenv/sqltest"
	"github.com/trickle-auth/trickle/passwordhash"
)

const deployDir = ".."

// envExample reads the names in .env.example; it must hold names only.
func envExample(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(deployDir, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || !regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`).MatchString(name) {
			t.Errorf(".env.example: bad line %q", line)
			continue
		}
		if value != "" {
			t.Errorf(".env.example: %s has a value; commit names only", name)
		}
		names = append(names, name)
	}
	return names
}

// testEnv gives every name a URL-safe value, as .env.example asks.
func testEnv(names []string) map[string]string {
	env := map[string]string{}
	for _, n := range names {
		env[n] = "Aa1-" + strings.ToLower(strings.ReplaceAll(n, "_", "-"))
	}
	return env
}

func load(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	abs, err := filepath.Abs(deployDir)
	if err != nil {
		t.Fatal(err)
	}
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  abs,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(abs, "compose.yaml")}},
		Environment: env,
	}, func(o *loader.Options) {
		o.SetProjectName("trickle", true)
		o.ResolvePaths = true
	})
}

func project(t *testing.T) *types.Project {
	t.Helper()
	p, err := load(t, testEnv(envExample(t)))
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return p
}

// Every variable compose.yaml interpolates is listed in .env.example and
// required (${NAME:?...}); every listed name is used; a missing one stops
// compose with its name.
func TestSecretsComeFromEnvFile(t *testing.T) {
	names := envExample(t)
	raw, err := os.ReadFile(filepath.Join(deployDir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`(^|[^$])\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}`).FindAllStringSubmatch(string(raw), -1) {
		used[m[2]] = true
		if !slices.Contains(names, m[2]) {
			t.Errorf("compose.yaml uses ${%s}, which .env.example does not list", m[2])
		}
		if !strings.HasPrefix(m[3], ":?") {
			t.Errorf("${%s%s}: make it required (${%s:?...}) so a missing secret stops compose", m[2], m[3], m[2])
		}
	}
	for _, n := range names {
		if !used[n] {
			t.Errorf(".env.example lists %s, which compose.yaml does not use", n)
		}
	}
	env := testEnv(names)
	delete(env, "REDIS_PASSWORD")
	if _, err := load(t, env); err == nil || !strings.Contains(err.Error(), "REDIS_PASSWORD") {
		t.Errorf("without REDIS_PASSWORD: %v, want an error naming it", err)
	}
}

func TestBuildsUseTheDockerfile(t *testing.T) {
	p := project(t)
	built := 0
	for name, s := range p.Services {
		if s.Build == nil {
			continue
		}
		built++
		ctxDir := s.Build.Context
		if fi, err := os.Stat(ctxDir); err != nil || !fi.IsDir() {
			t.Errorf("%s: build context %s: %v", name, ctxDir, err)
			continue
		}
		if _, err := os.Stat(filepath.Join(ctxDir, "go.work")); err != nil {
			t.Errorf("%s: the build context must be the repository root (go.work): %v", name, err)
		}
		df := s.Build.Dockerfile
		if !filepath.IsAbs(df) {
			df = filepath.Join(ctxDir, df)
		}
		if _, err := os.Stat(df); err != nil {
			t.Errorf("%s: dockerfile: %v", name, err)
		}
		cmd := s.Build.Args["CMD"]
		if cmd == nil || *cmd == "" {
			t.Errorf("%s: build arg CMD (the package to build) is missing", name)
			continue
		}
		main, err := os.ReadFile(filepath.Join(ctxDir, *cmd, "main.go"))
		if err != nil || !regexp.MustCompile(`(?m)^package main$`).Match(main) {
			t.Errorf("%s: CMD %s is not a main package: %v", name, *cmd, err)
		}
		if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") {
			t.Errorf("%s: our images run read-only with every capability dropped", name)
		}
	}
	if built != 4 {
		t.Errorf("%d services built from the repository, want authd and three connectors", built)
	}
}

func TestMountedFilesExist(t *testing.T) {
	p := project(t)
	for name, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			fi, err := os.Stat(v.Source)
			if err != nil {
				t.Errorf("%s: bind mount %s: %v", name, v.Source, err)
				continue
			}
			if !v.ReadOnly {
				t.Errorf("%s: mount %s read-only", name, v.Target)
			}
			if strings.HasSuffix(v.Target, ".sh") && fi.Mode()&0o111 == 0 {
				t.Errorf("%s: %s must be executable", name, v.Source)
			}
		}
	}
}

// configFile is the file a service mounts at /etc/trickle/config.yaml.
func configFile(t *testing.T, s types.ServiceConfig) string {
	t.Helper()
	for _, v := range s.Volumes {
		if v.Target == "/etc/trickle/config.yaml" {
			return v.Source
		}
	}
	t.Fatalf("%s mounts no /etc/trickle/config.yaml", s.Name)
	return ""
}

// envRefs are the {env: NAME} secrets of a config file.
func envRefs(raw []byte) []string {
	var out []string
	for _, m := range regexp.MustCompile(`\{env:\s*([A-Za-z_][A-Za-z0-9_]*)\}`).FindAllSubmatch(raw, -1) {
		out = append(out, string(m[1]))
	}
	return out
}

func TestOneConnectorPerLegacyDatabase(t *testing.T) {
	p := project(t)
	dialects := map[string]sqlcore.Dialect{"postgres": sqlcore.Postgres{}, "mysql": sqlcore.MySQL{}, "mssql": sqlcore.MSSQL{}}
	for db, d := range dialects {
		name := "connector-" + db
		s, ok := p.Services[name]
		if !ok {
			t.Errorf("no service %s", name)
			continue
		}
		if _, ok := p.Services[db]; !ok {
			t.Errorf("no legacy database service %s", db)
		}
		if *s.Build.Args["CMD"] != "./connectors/"+db {
			t.Errorf("%s builds %s", name, *s.Build.Args["CMD"])
		}
		path := configFile(t, s)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var f sqlcore.File
		if err := kitconfig.Load(path, &f); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, err := sqlcore.BuildQueries(d, f.Legacy.Preset); err != nil {
			t.Errorf("%s: preset %q in %s: %v", name, f.Legacy.Preset, d.Name(), err)
		}
		if _, port, _ := net.SplitHostPort(f.Server.Listen); !strings.Contains(strings.Join(s.HealthCheck.Test, " "), "127.0.0.1:"+port) {
			t.Errorf("%s: health check %v does not probe the listen port %s", name, s.HealthCheck.Test, port)
		}
		if host, _, _ := net.SplitHostPort(f.Server.Listen); host != "0.0.0.0" {
			t.Errorf("%s: listen %s is unreachable from other containers", name, f.Server.Listen)
		}
		for _, ref := range envRefs(raw) {
			if v := s.Environment[ref]; v == nil || *v == "" {
				t.Errorf("%s: config reads {env: %s}, which the service does not set", name, ref)
			}
		}
		if _, ok := s.DependsOn[db]; !ok {
			t.Errorf("%s does not wait for %s", name, db)
		}
	}
}

// authConfig is the part of authd's file this test needs; the file is
// loaded with authd's own config type by services/auth/cmd/authd's tests.
type authConfig struct {
	Connections []struct {
		Name      string `yaml:"name"`
		Connector struct {
			Address string `yaml:"address"`
		} `yaml:"connector"`
	} `yaml:"connections"`
}

func TestAuthReachesEveryConnectorButNoLegacyDatabase(t *testing.T) {
	p := project(t)
	authd := p.Services["authd"]
	raw, err := os.ReadFile(configFile(t, authd))
	if err != nil {
		t.Fatal(err)
	}
	var cfg authConfig
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, ref := range envRefs(raw) {
		if v := authd.Environment[ref]; v == nil || *v == "" {
			t.Errorf("authd: config reads {env: %s}, which the service does not set", ref)
		}
	}
	seen := map[string]bool{}
	for _, c := range cfg.Connections {
		host, _, err := net.SplitHostPort(c.Connector.Address)
		if err != nil {
			t.Errorf("connection %s: %v", c.Name, err)
			continue
		}
		seen[host] = true
		target, ok := p.Services[host]
		if !ok {
			t.Errorf("connection %s: no service %s", c.Name, host)
			continue
		}
		if !shareNetwork(authd, target) {
			t.Errorf("connection %s: authd and %s share no network", c.Name, host)
		}
		if _, ok := authd.DependsOn[host]; !ok {
			t.Errorf("authd does not wait for %s", host)
		}
	}
	for name := range p.Services {
		if strings.HasPrefix(name, "connector-") && !seen[name] {
			t.Errorf("%s serves no connection of authd", name)
		}
	}
	for _, db := range []string{"postgres", "mysql", "mssql"} {
		if shareNetwork(authd, p.Services[db]) {
			t.Errorf("authd can reach the legacy database %s directly; only its connector should", db)
		}
	}
	for _, store := range []string{"mongodb", "redis"} {
		if !shareNetwork(authd, p.Services[store]) {
			t.Errorf("authd cannot reach %s", store)
		}
	}
}

func shareNetwork(a, b types.ServiceConfig) bool {
	for n := range a.Networks {
		if _, ok := b.Networks[n]; ok {
			return true
		}
	}
	return false
}

func TestPortsHealthAndDependencies(t *testing.T) {
	p := project(t)
	published := map[string]string{}
	for name, s := range p.Services {
		for _, port := range s.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("%s: port %s published on %q; publish on 127.0.0.1 only", name, port.Published, port.HostIP)
			}
			key := fmt.Sprintf("%s:%s/%s", port.HostIP, port.Published, port.Protocol)
			if other, dup := published[key]; dup {
				t.Errorf("%s and %s both publish %s", name, other, key)
			}
			published[key] = name
		}
		oneShot := s.Restart == "no"
		if !oneShot && (s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0) {
			t.Errorf("%s has no health check", name)
		}
		for dep, d := range s.DependsOn {
			target, ok := p.Services[dep]
			if !ok {
				t.Errorf("%s depends on %s, which does not exist", name, dep)
				continue
			}
			switch d.Condition {
			case types.ServiceConditionHealthy:
				if target.HealthCheck == nil || len(target.HealthCheck.Test) == 0 {
					t.Errorf("%s waits for %s to be healthy, which has no health check", name, dep)
				}
			case types.ServiceConditionCompletedSuccessfully:
				if target.Restart != "no" {
					t.Errorf("%s waits for %s to complete, which restarts", name, dep)
				}
			default:
				t.Errorf("%s depends on %s with condition %q; wait for health or completion", name, dep, d.Condition)
			}
			if !shareNetwork(s, target) {
				t.Errorf("%s depends on %s but shares no network with it", name, dep)
			}
		}
	}
	if published["127.0.0.1:7401/tcp"] != "authd" {
		t.Errorf("authd's REST port 7401 is not published: %v", published)
	}
	// The management API has its own port, published on loopback only.
	if published["127.0.0.1:7403/tcp"] != "authd" {
		t.Errorf("authd's admin port 7403 is not published on 127.0.0.1: %v", published)
	}

}

// demoUsers are in every seed, with hashes that verify.
var demoUsers = []struct{ email, password, hash string }{
	{"ada@example.com", "correct horse battery staple", "$2y$05$.8yI5Y2/lzfA.GUagMhEsev/x7F0hrwIIEVrzvRNBXzJa7dykTLOe"},
	{"grace@example.com", "password", "$P$BuFg6jvKsPfsqrzicMnMiExSuO1uUk."},
	{"linus@example.com", "pässwörd €", "pbkdf2_sha256$1000$6aAwGzHFZ5cmkceVY0WudI$wGinNziAhysW+NvSffvX1OSoMMrNzen3EKfhOeRLDPI="},
	{"margaret@example.com", "my password", "AQAAAAEAACcQAAAAEAABAgMEBQYHCAkKCwwNDg+yWU7rLgUwPZb1Itsmra7cbxw2EFpwpVFIEtP+JIuUEw=="},
}

var seeds = map[string]string{"postgres": "postgres/01-seed.sql", "mysql": "mysql/01-seed.sql", "mssql": "mssql/seed.sql"}

func TestSeedsHoldTheDemoUsers(t *testing.T) {
	v, err := passwordhash.New(passwordhash.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range demoUsers {
		if err := v.Verify(u.password, passwordhash.Hash{Value: u.hash}); err != nil {
			t.Errorf("%s: the documented password does not verify: %v", u.email, err)
		}
	}
	for db, file := range seeds {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range demoUsers {
			if !strings.Contains(string(raw), "'"+u.email+"'") || !strings.Contains(string(raw), "'"+u.hash+"'") {
				t.Errorf("%s seed lacks %s or its hash", db, u.email)
			}
			if !strings.Contains(string(raw), u.password) {
				t.Errorf("%s seed does not document %s's password", db, u.email)
			}
		}
	}
}

// The PostgreSQL and MySQL seeds run on the real servers of the test
// environment, and the connector logs every demo user in over them (the
// grants at the end need the images' accounts and are left out).
func TestSeedsWorkWithTheConnector(t *testing.T) {
	for _, tc := range []struct {
		db, driver string
		d          sqlcore.Dialect
		open       func(testing.TB) (string, *sql.DB)
		cut        string
	}{
		{"postgres", "pgx", sqlcore.Postgres{}, sqltest.Postgres, "-- The connector only reads."},
		{"mysql", "mysql", sqlcore.MySQL{}, sqltest.MySQL, "-- The image gave"},
	} {
		t.Run(tc.db, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(seeds[tc.db])
			if err != nil {
				t.Fatal(err)
			}
			body, _, ok := strings.Cut(string(raw), tc.cut)
			if !ok {
				t.Fatalf("%s seed: marker %q not found", tc.db, tc.cut)
			}
			dsn, db := tc.open(t)
			ctx := context.Background()
			for _, stmt := range splitSQL(body) {
				if _, err := db.ExecContext(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			var cfg sqlcore.Config
			cfg.SetDefaults()
			cfg.DSN = kitconfig.SecretLiteral(dsn)
			cfg.Preset = "generic"
			c, err := sqlcore.Open(cfg, tc.driver, tc.d, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for _, u := range demoUsers {
				p, err := c.Login(ctx, strings.ToUpper(u.email[:1])+u.email[1:], u.password)
				if err != nil {
					t.Errorf("login %s: %v", u.email, err)
					continue
				}
				if p.Email != u.email || p.AppMetadata == nil {
					t.Errorf("%s: profile %v", u.email, p)
				}
			}
			if n, err := c.CountUsers(ctx); err != nil || n != int64(len(demoUsers)) {
				t.Errorf("CountUsers = %d, %v", n, err)
			}
		})
	}
}

// splitSQL splits a seed at semicolons ending a line, dropping comments.
func splitSQL(s string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line + "\n")
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	return out
}
