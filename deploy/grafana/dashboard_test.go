// Package grafana holds the Grafana dashboard for migration progress
// (trickle-migration.json). Its test checks the JSON and that every PromQL
// expression reads metrics the Go code registers.
package grafana

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

type target struct {
	RefID      string         `json:"refId"`
	Expr       string         `json:"expr"`
	Datasource map[string]any `json:"datasource"`
}

type panel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource map[string]any `json:"datasource"`
	GridPos    *struct {
		X, Y, W, H int
	} `json:"gridPos"`
	Targets []target `json:"targets"`
}

type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

func load(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile("trickle-migration.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("trickle-migration.json: %v", err)
	}
	return d
}

func TestDashboardShape(t *testing.T) {
	d := load(t)
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 36 {
		t.Errorf("uid %q, title %q, schemaVersion %d", d.UID, d.Title, d.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" || vars["connection"] != "query" {
		t.Errorf("template variables %v: want a datasource variable and a connection query", vars)
	}
	ids := map[int]bool{}
	queries := 0
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos == nil || p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: bad gridPos", p.Title)
		}
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			queries++
			if tg.Expr == "" || tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %q: target %+v", p.Title, tg)
			}
			refs[tg.RefID] = true
			if tg.Datasource["uid"] != "${datasource}" {
				t.Errorf("panel %q: target datasource %v, want the ${datasource} variable", p.Title, tg.Datasource)
			}
			if strings.Count(tg.Expr, "(") != strings.Count(tg.Expr, ")") || strings.Count(tg.Expr, "{") != strings.Count(tg.Expr, "}") {
				t.Errorf("panel %q: unbalanced expression %s", p.Title, tg.Expr)
			}
		}
	}
	if queries < 10 {
		t.Errorf("%d queries", queries)
	}
}

// The dashboard covers what migration progress needs.
func TestDashboardCoversMigration(t *testing.T) {
	used := strings.Join(exprs(load(t)), "\n")
	for _, m := range []string{
		"trickle_migration_users", "trickle_migration_legacy_users", "trickle_logins_total",
		"trickle_connector_call_seconds_bucket", "trickle_migration_lock_waits_total",
		"trickle_migration_lock_unavailable_total", "trickle_password_rehashes_total",
	} {
		if !strings.Contains(used, m) {
			t.Errorf("no panel reads %s", m)
		}
	}
	for _, q := range []string{"histogram_quantile(0.5,", "histogram_quantile(0.99,"} {
		if !strings.Contains(used, q) {
			t.Errorf("no %s latency", q)
		}
	}
}

func exprs(d dashboard) []string {
	var out []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			out = append(out, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			if s, ok := q["query"].(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// Every trickle_* metric an expression reads is registered by the code
// (services/auth and connectors/kit). services/auth/cmd/trickle-local's
// test also scrapes a running auth service for the main ones.
func TestDashboardMetricsExist(t *testing.T) {
	known := registeredMetrics(t, "../../services/auth", "../../connectors/kit")
	if len(known) < 10 {
		t.Fatalf("found only %v in the Go sources: has the registration style changed?", known)
	}
	metric := regexp.MustCompile(`\btrickle_[a-z0-9_]+`)
	for _, e := range exprs(load(t)) {
		for _, m := range metric.FindAllString(e, -1) {
			base := m
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(m, suffix); ok && known[b] {
					base = b
				}
			}
			if !known[base] {
				t.Errorf("%s is not registered by the code (expr %s); known: %v", m, e, keys(known))
			}
		}
	}
}

var (
	nsName    = regexp.MustCompile(`Namespace:\s*"(\w+)",\s*(?:Subsystem:\s*"(\w+)",\s*)?Name:\s*"(\w+)"`)
	fullName  = regexp.MustCompile(`Name:\s*"(trickle_\w+)"`)
	descName  = regexp.MustCompile(`NewDesc\(\s*"(trickle_\w+)"\s*,`)
	descMaker = regexp.MustCompile(`NewDesc\(\s*"(trickle_\w*_)"\s*\+\s*(\w+)`)
)

// registeredMetrics greps the non-test Go sources for metric names:
// prometheus Opts (Namespace/Subsystem/Name or a full Name), NewDesc with a
// literal name, and NewDesc("prefix_"+name) inside a helper d(name, ...)
// as the migration status collector does.
func registeredMetrics(t *testing.T, dirs ...string) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			src := string(b)
			for _, m := range nsName.FindAllStringSubmatch(src, -1) {
				parts := []string{m[1]}
				if m[2] != "" {
					parts = append(parts, m[2])
				}
				known[strings.Join(append(parts, m[3]), "_")] = true
			}
			for _, re := range []*regexp.Regexp{fullName, descName} {
				for _, m := range re.FindAllStringSubmatch(src, -1) {
					known[m[1]] = true
				}
			}
			for _, m := range descMaker.FindAllStringSubmatch(src, -1) {
				// The helper is called as d("suffix", ...) in the same file.
				calls := regexp.MustCompile(`\bd\(\s*"(\w+)"`)
				for _, c := range calls.FindAllStringSubmatch(src, -1) {
					known[m[1]+c[1]] = true
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return known
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
