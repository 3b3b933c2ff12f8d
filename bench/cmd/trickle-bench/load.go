package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// loadResult is one run of a load tool.
type loadResult struct {
	Tool        string `json:"tool"`
	Concurrency int    `json:"concurrency"`
	OK          int    `json:"ok"`
	Errors      int    `json:"errors"`
	// Cut is requests the tool cancelled when a timed run ended.
	Cut     int     `json:"cut_at_end"`
	Seconds float64 `json:"seconds"`
	RPS     float64 `json:"rps"` // successful logins per second
	P50ms   float64 `json:"p50_ms"`
	P99ms   float64 `json:"p99_ms"`
	// AuthdCPUms is authd's CPU time per successful login.
	AuthdCPUms float64 `json:"authd_cpu_ms_per_login"`
	// StoreCPUms is the harness process's CPU time per login: the embedded
	// FerretDB (the PostgreSQL behind it is not counted).
	StoreCPUms float64 `json:"harness_cpu_ms_per_login"`
}

type loginBody struct {
	Connection string `json:"connection"`
	Identifier string `json:"identifier"`
	Password   string `json:"password"`
}

// runGhz runs ghz against authd's gRPC Login, by reflection. With n > 0 it
// sends n requests, otherwise it runs for d.
func runGhz(ghz, raw, addr string, body loginBody, c, n int, d time.Duration) (loadResult, error) {
	data, _ := json.Marshal(body)
	args := []string{"--insecure", "--call", "trickle.auth.v1.AuthService/Login", "-d", string(data),
		"-c", strconv.Itoa(c), "--timeout", "120s", "-O", "json", "--connections", "1"}
	if n > 0 {
		args = append(args, "-n", strconv.Itoa(n))
	} else {
		args = append(args, "-z", d.String())
	}
	out, err := exec.Command(ghz, append(args, addr)...).Output()
	if err != nil {
		return loadResult{}, fmt.Errorf("ghz: %w", err)
	}
	_ = os.WriteFile(raw, out, 0o644)
	var rep struct {
		Count   int   `json:"count"`
		Total   int64 `json:"total"`
		Latency []struct {
			Percentage int   `json:"percentage"`
			Latency    int64 `json:"latency"`
		} `json:"latencyDistribution"`
		Status map[string]int `json:"statusCodeDistribution"`
		Errors map[string]int `json:"errorDistribution"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return loadResult{}, fmt.Errorf("ghz output: %w", err)
	}
	r := loadResult{Tool: "ghz", Concurrency: c, OK: rep.Status["OK"], Seconds: float64(rep.Total) / 1e9}
	// A timed run ends by closing the connection under the calls in flight.
	for msg, k := range rep.Errors {
		if strings.Contains(msg, "use of closed network connection") || strings.Contains(msg, "Canceled") {
			r.Cut += k
		}
	}
	r.Errors = rep.Count - r.OK - r.Cut
	for _, l := range rep.Latency {
		switch l.Percentage {
		case 50:
			r.P50ms = float64(l.Latency) / 1e6
		case 99:
			r.P99ms = float64(l.Latency) / 1e6
		}
	}
	if r.Seconds > 0 {
		r.RPS = float64(r.OK) / r.Seconds
	}
	return r, nil
}

var (
	heyPct    = regexp.MustCompile(`^\s*(\d+)%+ in ([0-9.]+) secs`)
	heyStatus = regexp.MustCompile(`^\s*\[(\d+)\]\s+(\d+) responses`)
	heyTotal  = regexp.MustCompile(`^\s*Total:\s+([0-9.]+) secs`)
	heyErr    = regexp.MustCompile(`^\s*\[(\d+)\]\s`)
	heySlow   = regexp.MustCompile(`^\s*Slowest:\s+([0-9.]+) secs`)
)

// runHey runs hey against authd's REST /v1/login (grpc-gateway).
func runHey(hey, raw, dir, addr string, body loginBody, c, n int, d time.Duration) (loadResult, error) {
	data, _ := json.Marshal(body)
	bodyFile := filepath.Join(dir, "hey-body.json")
	if err := os.WriteFile(bodyFile, data, 0o600); err != nil {
		return loadResult{}, err
	}
	args := []string{"-c", strconv.Itoa(c), "-m", "POST", "-T", "application/json", "-D", bodyFile, "-t", "120"}
	if n > 0 {
		args = append(args, "-n", strconv.Itoa(n))
	} else {
		args = append(args, "-z", d.String())
	}
	out, err := exec.Command(hey, append(args, "http://"+addr+"/v1/login")...).Output()
	if err != nil {
		return loadResult{}, fmt.Errorf("hey: %w", err)
	}
	_ = os.WriteFile(raw, out, 0o644)
	r := loadResult{Tool: "hey", Concurrency: c}
	sc := bufio.NewScanner(bytes.NewReader(out))
	inErrors := false
	var slowest float64
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Error distribution:") {
			inErrors = true
			continue
		}
		if m := heyErr.FindStringSubmatch(line); inErrors && m != nil {
			k, _ := strconv.Atoi(m[1])
			r.Errors += k
			continue
		}
		if m := heyPct.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			switch m[1] {
			case "50":
				r.P50ms = v * 1e3
			case "99":
				r.P99ms = v * 1e3
			}
		}
		if m := heyStatus.FindStringSubmatch(line); m != nil {
			k, _ := strconv.Atoi(m[2])
			if m[1] == "200" {
				r.OK += k
			} else {
				r.Errors += k
			}
		}
		if m := heySlow.FindStringSubmatch(line); m != nil {
			slowest, _ = strconv.ParseFloat(m[1], 64)
		}
		if m := heyTotal.FindStringSubmatch(line); m != nil {
			r.Seconds, _ = strconv.ParseFloat(m[1], 64)
		}
	}
	if r.P99ms == 0 {
		// hey prints "0%% in 0.0000 secs" for p99 when a run has under
		// 100 samples; the slowest request is then the p99.
		r.P99ms = slowest * 1e3
	}
	if r.Seconds > 0 {
		r.RPS = float64(r.OK) / r.Seconds
	}
	return r, nil
}
