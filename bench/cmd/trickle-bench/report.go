package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

type results struct {
	Date         string      `json:"date"`
	Elapsed      string      `json:"elapsed"`
	Machine      machine     `json:"machine"`
	LoadAvgStart string      `json:"loadavg_start"`
	LoadAvgEnd   string      `json:"loadavg_end"`
	Store        string      `json:"store"`
	Runs         int         `json:"runs"`
	Duration     string      `json:"duration"`
	SeedUsers    int         `json:"seed_users"`
	Params       argonParams `json:"argon2id"`
	OutDir       string      `json:"out_dir"`

	HashMs         float64   `json:"hash_ms"`
	FloorPerSec    float64   `json:"floor_per_sec"`
	HashCPUms      float64   `json:"hash_cpu_ms"`
	FloorRuns      []float64 `json:"floor_runs"`
	LegacyBcryptMs float64   `json:"legacy_bcrypt10_verify_ms"`
	LegacyArgon2Ms float64   `json:"legacy_argon2id_verify_ms"`
	StoreFindMs    float64   `json:"store_find_miss_ms"`
	StoreInsertMs  float64   `json:"store_insert_ms"`

	Migrations []migration   `json:"migrations"`
	Transport  transport     `json:"transport"`
	Load       []loadResult  `json:"load"`
	Profile    profile       `json:"profile"`
	Storm      []storm       `json:"storm"`
	RSS        []rssRun      `json:"rss"`
	Summary    []summaryLine `json:"summary"`
}

// summaryLine is one (tool, concurrency) with the medians over the runs.
type summaryLine struct {
	Tool        string    `json:"tool"`
	Concurrency int       `json:"concurrency"`
	RPS         float64   `json:"rps"`
	RPSRuns     []float64 `json:"rps_runs"`
	P50ms       float64   `json:"p50_ms"`
	P99ms       float64   `json:"p99_ms"`
	CPUms       float64   `json:"authd_cpu_ms_per_login"`
	Errors      int       `json:"errors"`
	OfFloor     float64   `json:"of_floor"`
}

func (r *results) summarize() {
	type key struct {
		tool string
		c    int
	}
	var order []key
	by := map[key][]loadResult{}
	for _, l := range r.Load {
		k := key{l.Tool, l.Concurrency}
		if _, ok := by[k]; !ok {
			order = append(order, k)
		}
		by[k] = append(by[k], l)
	}
	r.Summary = nil
	for _, k := range order {
		var rps, p50, p99, cpu []float64
		errs := 0
		for _, l := range by[k] {
			rps, p50, p99, cpu = append(rps, l.RPS), append(p50, l.P50ms), append(p99, l.P99ms), append(cpu, l.AuthdCPUms)
			errs += l.Errors
		}
		s := summaryLine{Tool: k.tool, Concurrency: k.c, RPS: median(rps), RPSRuns: rps, P50ms: median(p50),
			P99ms: median(p99), CPUms: median(cpu), Errors: errs}
		if r.FloorPerSec > 0 {
			s.OfFloor = s.RPS / r.FloorPerSec
		}
		r.Summary = append(r.Summary, s)
	}
}

func (r *results) line(tool string, c int) summaryLine {
	for _, s := range r.Summary {
		if s.Tool == tool && s.Concurrency == c {
			return s
		}
	}
	return summaryLine{}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func (r *results) markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := r.Machine
	w("# Trickle benchmark results, %s\n\n", r.Date)
	w("Machine: %d CPUs (%s), %s RAM, Linux %s, %s. Load average %s at start, %s at the end (the machine is shared).\n",
		m.CPUs, m.Model, m.MemTotal, m.Kernel, m.GoVersion, r.LoadAvgStart, r.LoadAvgEnd)
	w("User store: %s. Lock: Redis. Legacy connector: gRPC on loopback, real passwordhash verification.\n", r.Store)
	w("argon2id m=%d KiB t=%d p=%d (authd defaults), hashing pool = CPUs. %d runs of each measurement, %s each; medians. %d migrated users in the store. Total time %s.\n\n",
		r.Params.MemoryKiB, r.Params.Time, r.Params.Threads, r.Runs, r.Duration, r.SeedUsers, r.Elapsed)

	r.mdTargets(w)
	r.mdFloorAndLogins(w)
	r.mdStormAndMemory(w)
	return b.String()
}

// mdWriter appends formatted text to the report.
type mdWriter func(format string, args ...any)

// mdTargets is the table of targets with their verdicts.
func (r *results) mdTargets(w mdWriter) {
	m := r.Machine
	w("## Targets\n\n| target | measured | ratio / margin | |\n|---|---|---|---|\n")
	ncpu := m.CPUs
	for _, c := range []int{2 * ncpu, 50} {
		g := r.line("ghz", c)
		w("| gRPC logins/s ≥ 0.95 × floor (c=%d) | %.1f/s vs floor %.1f/s | %.3f × floor | %s |\n", c, g.RPS, r.FloorPerSec, g.OfFloor, verdict(g.OfFloor >= 0.95))
		h := r.line("hey", c)
		w("| REST logins/s ≥ 0.95 × floor (c=%d) | %.1f/s | %.3f × floor | %s |\n", c, h.RPS, h.OfFloor, verdict(h.OfFloor >= 0.95))
	}
	for _, c := range []int{2 * ncpu, 50} {
		for _, t := range []string{"ghz", "hey"} {
			l := r.line(t, c)
			if l.CPUms > 0 {
				w("| authd CPU per login ≤ hash CPU / 0.95 (%s, c=%d; contention-proof) | %.2f ms vs hash %.2f ms | %.3f × floor | %s |\n",
					t, c, l.CPUms, r.HashCPUms, r.HashCPUms/l.CPUms, verdict(r.HashCPUms/l.CPUms >= 0.95))
			}
		}
	}
	g1, h1 := r.line("ghz", 1), r.line("hey", 1)
	w("| p50 ≤ one hash + 1 ms (gRPC, c=1) | %.2f ms vs hash %.2f ms | +%.2f ms | %s |\n", g1.P50ms, r.HashMs, g1.P50ms-r.HashMs, verdict(g1.P50ms <= r.HashMs+1))
	w("| p50 ≤ one hash + 1 ms (REST, c=1) | %.2f ms | +%.2f ms | %s |\n", h1.P50ms, h1.P50ms-r.HashMs, verdict(h1.P50ms <= r.HashMs+1))
	w("| REST adds ≤ 0.3 ms p50 over gRPC (no-hash call) | %.3f ms vs %.3f ms | +%.3f ms | %s |\n", r.Transport.RESTp50ms, r.Transport.GRPCp50ms, r.Transport.RESTOverMs, verdict(r.Transport.RESTOverMs <= 0.3))
	w("| REST adds ≤ 0.3 ms p50 over gRPC (login, c=1; hash noise) | %.2f ms vs %.2f ms | %+.2f ms | %s |\n", h1.P50ms, g1.P50ms, h1.P50ms-g1.P50ms, verdict(h1.P50ms-g1.P50ms <= 0.3))
	for _, mg := range r.Migrations {
		what := "legacy verify + one hash + 3 ms"
		if mg.Adopted {
			what = "legacy verify + 3 ms (hash adopted)"
		}
		w("| migration ≤ %s: %s | %.2f ms vs legacy %.2f + hash %.2f ms | %+.2f ms | %s |\n", what, mg.Variant, mg.Ms, mg.LegacyMs, mg.HashMs, mg.OverMs, verdict(mg.OverMs <= 3))
	}
	for _, s := range r.Storm {
		w("| storm run %d: legacy calls = 50, duplicates = 0 | %d calls, %d users, %d duplicates, %d errors, %.1f s | | %s |\n",
			s.Run, s.LegacyCalls, s.UsersCreated, s.Duplicates, s.Errors, s.Seconds, verdict(s.LegacyCalls == 50 && s.Duplicates == 0 && s.Errors == 0))
	}
	if len(r.RSS) == 3 {
		bound := float64(ncpu) * float64(r.Params.MemoryKiB) / 1024
		w("| peak RSS bounded by the pool, not concurrency | %.0f MiB at c=50, %.0f MiB at c=1000 gRPC, %.0f MiB at c=1000 REST (pool: %d × %.0f MiB) | %.2f × (c=1000 / c=50) | %s |\n",
			r.RSS[0].PeakRSSMiB, r.RSS[1].PeakRSSMiB, r.RSS[2].PeakRSSMiB, ncpu, float64(r.Params.MemoryKiB)/1024,
			r.RSS[1].PeakRSSMiB/r.RSS[0].PeakRSSMiB, verdict(r.RSS[1].PeakRSSMiB < r.RSS[0].PeakRSSMiB+bound))
	}

}

// mdFloorAndLogins reports the hashing floor, migrated-user logins and
// first logins.
func (r *results) mdFloorAndLogins(w mdWriter) {
	ncpu := r.Machine.CPUs
	w("\n## Floor\n\nOne argon2id hash on one core: %.2f ms wall (median of 9). All %d cores: %.1f verifications/s (median; runs: %s), %.2f ms of CPU each.\n",
		r.HashMs, ncpu, r.FloorPerSec, floats(r.FloorRuns, "%.1f"), r.HashCPUms)
	w("Legacy verify as authd sees it (connector gRPC round trip + verification): bcrypt cost 10 %.2f ms, argon2id at policy %.2f ms.\n\n", r.LegacyBcryptMs, r.LegacyArgon2Ms)

	w("## Migrated-user logins\n\n| protocol (tool) | concurrency | logins/s (runs) | × floor | p50 ms | p99 ms | authd CPU ms/login | errors |\n|---|---|---|---|---|---|---|---|\n")
	for _, s := range r.Summary {
		proto := "gRPC (ghz)"
		if s.Tool == "hey" {
			proto = "REST (hey)"
		}
		w("| %s | %d | %.1f (%s) | %.3f | %.2f | %.2f | %.2f | %d |\n", proto, s.Concurrency, s.RPS, floats(s.RPSRuns, "%.1f"), s.OfFloor, s.P50ms, s.P99ms, s.CPUms, s.Errors)
	}
	w("\nTransport: %s, %d each: gRPC p50 %.3f ms, REST p50 %.3f ms.\n\n", r.Transport.Description, r.Transport.N, r.Transport.GRPCp50ms, r.Transport.RESTp50ms)

	w("## First login (migration), concurrency 1\n\n| variant | legacy hash | n | median ms | legacy verify ms | new hash ms | overhead ms | all ms |\n|---|---|---|---|---|---|---|---|\n")
	for _, mg := range r.Migrations {
		w("| %s | %s | %d | %.2f | %.2f | %.2f | %+.2f | %s |\n", mg.Variant, mg.Legacy, mg.N, mg.Ms, mg.LegacyMs, mg.HashMs, mg.OverMs, floats(mg.All, "%.1f"))
	}
	w("\nOne user-store round trip from the harness: indexed lookup that finds nothing %.2f ms, insert %.2f ms. A first login makes about nine (lookups before and after the lock, tombstone checks, legacy-id lookup, insert, legacy-login record).\n",
		r.StoreFindMs, r.StoreInsertMs)
}

// mdStormAndMemory reports the storm, peak memory and the profile.
func (r *results) mdStormAndMemory(w mdWriter) {
	w("\n## Storm: 500 concurrent first logins of 50 users over 3 instances\n\n| run | ok | errors | migrated:true | legacy calls | max calls one user | users created | duplicates | seconds |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range r.Storm {
		w("| %d | %d | %d | %d | %d | %d | %d | %d | %.2f |\n", s.Run, s.OK, s.Errors, s.MigratedTrue, s.LegacyCalls, s.MaxCallsOne, s.UsersCreated, s.Duplicates, s.Seconds)
	}
	w("\n## Peak RSS (fresh authd process each, VmHWM)\n\n| tool | concurrent logins | idle RSS MiB | peak RSS MiB | ok | errors | seconds |\n|---|---|---|---|---|---|---|\n")
	for _, x := range r.RSS {
		w("| %s | %d | %.1f | %.1f | %d | %d | %.1f |\n", x.Tool, x.Concurrency, x.IdleRSSMiB, x.PeakRSSMiB, x.OK, x.Errors, x.Seconds)
	}
	for _, x := range r.RSS {
		if x.Concurrency >= 1000 && x.HeapTop != "" {
			w("\nIn-use heap of authd 4 s into %s with %d logins in flight (%s):\n\n```\n%s```\n", x.Tool, x.Concurrency, x.HeapFile, x.HeapTop)
		}
	}
	if r.Profile.CPUTop != "" {
		w("\n## Profile of authd (%s)\n\nFiles: %s\n\nCPU:\n\n```\n%s```\n\nAllocations (alloc_space):\n\n```\n%s```\n", r.Profile.During, r.Profile.Files, r.Profile.CPUTop, r.Profile.AllocTop)
	}
}

func floats(xs []float64, f string) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf(f, x)
	}
	return strings.Join(s, ", ")
}

func (r *results) write(dir, stamp string) error {
	r.summarize()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(r, "", "  ")
	base := filepath.Join(dir, "results-"+stamp)
	if err := os.WriteFile(base+".json", append(js, '\n'), 0o644); err != nil {
		return err
	}
	md := r.markdown()
	if err := os.WriteFile(base+".md", []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	logf("wrote %s.md and .json", base)
	return nil
}
