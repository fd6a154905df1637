package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// machine describes where the numbers were taken.
type machine struct {
	cpus                  int
	cpuModel, mem, kernel string
	goVersion             string
	tools                 []string // "name: version"
}

func describe(ctx context.Context, b *bed) machine {
	m := machine{cpus: runtime.NumCPU(), goVersion: runtime.Version()}
	m.cpuModel = procField("/proc/cpuinfo", "model name")
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		var n int64
		fmt.Sscanf(kb, "%d", &n)
		m.mem = fmt.Sprintf("%.1f GiB", float64(n)/1024/1024)
	}
	if k, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(k))
	}
	for _, t := range []struct {
		name string
		argv []string
	}{
		{"hallmark", []string{b.hallmark, "version"}},
		{"buildctl", []string{b.buildctl, "--version"}},
		{"cosign", []string{b.cosign, "version", "--json"}},
		{"cosign", []string{b.cosign3, "version", "--json"}},
	} {
		out, err := exec.CommandContext(ctx, t.argv[0], t.argv[1:]...).Output()
		v := firstLine(string(out))
		if t.name == "cosign" {
			v = jsonField(string(out), "gitVersion")
		}
		if err != nil {
			v = "unknown (" + err.Error() + ")"
		}
		m.tools = append(m.tools, t.name+" "+v)
	}
	if b.buildx != "" {
		m.tools = append(m.tools, "buildx "+buildxVersion(b.buildx)+" (the module built; the binary reports v0.0.0+unknown)")
	}
	m.tools = append(m.tools, "buildkitd v0.34.2 (the bed's; reports v0.0.0+unknown"+buildkitdState(b)+")",
		"registry: Debian's distribution 2.8 (no referrers API)")
	return m
}

// buildkitdState says how long the bed's buildkitd has run and its RSS at
// the start: one that has served many builds (the test suite) builds
// slower, on both sides.
func buildkitdState(b *bed) string {
	dir := filepath.Dir(strings.TrimPrefix(b.buildkit, "unix://"))
	raw, err := os.ReadFile(filepath.Join(dir, "run", "buildkitd.pid"))
	if err != nil || len(strings.Fields(string(raw))) == 0 {
		return ""
	}
	pid := strings.Fields(string(raw))[0]
	stat, err1 := os.ReadFile("/proc/" + pid + "/stat")
	up, err2 := os.ReadFile("/proc/uptime")
	_, after, ok := strings.Cut(string(stat), ") ")
	f := strings.Fields(after)
	if err1 != nil || err2 != nil || !ok || len(f) < 20 {
		return ""
	}
	var startTicks, uptime float64
	fmt.Sscanf(f[19], "%f", &startTicks) // field 22 of stat: start time in clock ticks (100/s)
	fmt.Sscanf(string(up), "%f", &uptime)
	return fmt.Sprintf("; up %s, RSS %s at the start", time.Duration((uptime-startTicks/100)*float64(time.Second)).Round(time.Minute),
		procField("/proc/"+pid+"/status", "VmRSS"))
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

func jsonField(s, key string) string {
	i := strings.Index(s, `"`+key+`"`)
	if i < 0 {
		return firstLine(s)
	}
	rest := s[i+len(key)+2:]
	_, v, _ := strings.Cut(rest, `"`)
	v, _, _ = strings.Cut(v, `"`)
	return v
}

// report is everything the markdown shows.
type report struct {
	m                       machine
	command                 string
	n                       int
	started                 time.Time
	release, signs, scaling []*comparison
	pool, cache             []*comparison
	runs                    map[string]groupRun // by group
	notes                   string              // docs/benchmarks.md's hand-written part, kept
	old                     map[string]string   // the previous file's sections, kept for groups not run
	offLoopback             int64               // connections to the guard proxy
}

// groupRun is when and under what load one group ran.
type groupRun struct {
	started            time.Time
	elapsed            time.Duration
	loadStart, loadEnd string
}

// section is one generated section: a group's tables under its heading.
type section struct {
	name, title string
	ran         bool // the group ran in this run; if not, the old section is kept
	tables      func(p func(string, ...any))
}

// sections are the generated sections in the file's order.
func (r *report) sections() []section {
	return []section{
		{"release", "`hallmark release` against the CLI job", len(r.release) > 0, r.releaseTables},
		{"sign", "`hallmark sign` + `hallmark verify` against `cosign sign` + `cosign verify`", len(r.signs) > 0, r.signTables},
		{"scale", "Scale: how the time grows with the number of signatures", len(r.scaling) > 0, r.scaleTables},
		{"pool", "A release over a pool of buildkitd (issue 14)", len(r.pool) > 0, r.poolTables},
		{"cache", "The cache that follows the build: the next pipeline on a fresh buildkitd (issue 14)", len(r.cache) > 0, r.cacheTables},
	}
}

const (
	sectionMarker = "<!-- section: "
	notesMarker   = "<!-- notes: kept when the benchmark regenerates this file -->"
)

// target is a ratio goal and whether the measured value meets it.
func target(v, max float64) string {
	mark := "met"
	if v > max {
		mark = "**missed**"
	}
	return fmt.Sprintf("≤ %.1f× — %s", max, mark)
}

func (r *report) markdown() string {
	var w strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&w, format, a...) }
	p("# Benchmarks\n\n")
	p("Generated by `hack/bench.sh` (hack/bench). Each section says which command measured it, when, and under\n" +
		"what load: a run of some groups (`-cases pool,cache`) rewrites their sections and keeps the others.\n" +
		"Medians, min–max in parentheses; the sides of a case alternate. Do not edit the generated part by hand:\n" +
		"run the command again. The notes at the end are kept.\n\n")
	p("Machine: %d CPUs (%s), %s memory, Linux %s, %s.\n\n", r.m.cpus, r.m.cpuModel, r.m.mem, r.m.kernel, r.m.goVersion)
	p("Tools (at the last run, %s): %s.\n\n", r.started.UTC().Format("2006-01-02 15:04 UTC"), strings.Join(r.m.tools, "; "))
	p("Every registry request goes through a counting proxy (`internal/faultproxy`, no faults) in front of the\n" +
		"bed's distribution 2.8, buildkitd's pushes included. Times are wall clock from fork to exit, summed over\n" +
		"the CLI job's processes; peak memory is each process's max RSS from wait4 (buildkitd's own work is not in\n" +
		"either side's figure). Everything runs on 127.0.0.1; cosign gets `--trusted-root`/keys, `--tlog-upload=false`.\n" +
		"Every process gets as HTTP(S) proxy one that refuses everything: the attempts to reach anything but\n" +
		"127.0.0.1 are counted in each section's first line.\n\n" +
		"Formats: the legacy and oci-1-1 cases are simple signing (hallmark `--new-bundle-format=false`) against\n" +
		"cosign 2.6.5; the bundle cases are Sigstore bundles (hallmark's default) against cosign v3.1.3's default\n" +
		"`cosign sign` (a TSA timestamp keyed too, on both sides). The `+tlog` cases sign into the bed's Rekor v2 on\n" +
		"both sides (hallmark `--rekor-url --rekor-version 2`, cosign v3.1.3 `--signing-config`, both through a second\n" +
		"counting proxy in front of Rekor) and verify with the instance's trusted root (Fulcio, CT log, Rekor v2, TSA):\n" +
		"SCT, inclusion proof and signed timestamp checked, no insecure flag on either side.\n\n")
	for _, sec := range r.sections() {
		switch {
		case sec.ran:
			p("%s%s -->\n## %s\n\n", sectionMarker, sec.name, sec.title)
			r.runLine(p, sec.name)
			sec.tables(p)
		case r.old[sec.name] != "":
			p("%s", r.old[sec.name])
		}
	}
	p("%s\n", notesMarker)
	p("%s", r.notes)
	return w.String()
}

// runLine says how a section was measured.
func (r *report) runLine(p func(string, ...any), group string) {
	g := r.runs[group]
	p("_Measured by `%s` on %s: %d runs per side after one untimed warm-up run; this group took %s. Load average\n"+
		"(1, 5, 15 min) %s at its start, %s at its end. Attempts to reach anything but 127.0.0.1 (whole run): %d._\n\n",
		r.command, g.started.UTC().Format("2006-01-02 15:04 UTC"), r.n, g.elapsed.Round(time.Second), g.loadStart, g.loadEnd, r.offLoopback)
}

// oldSections splits a generated part into its sections by their markers.
func oldSections(generated string) map[string]string {
	out := map[string]string{}
	parts := strings.Split(generated, sectionMarker)
	for _, part := range parts[1:] {
		name, _, ok := strings.Cut(part, " -->\n")
		if ok {
			out[name] = sectionMarker + part
		}
	}
	return out
}

func (r *report) releaseTables(p func(string, ...any)) {
	p("The CLI job: `buildctl build` pushing with `--metadata-file`, a digest look-up (`hack/bench/digest`: one HEAD,\n" +
		"as `crane digest`), `cosign sign` with the same 11 GitLab annotations (`-a`), `cosign verify` with them.\n" +
		"`hallmark release` does the same in one process, in a GitLab job's environment, with `--ci-cache=false`: the\n" +
		"CLI job has no cache, and hallmark's default registry cache in CI would add its import and export to one side\n" +
		"only (the cache group below measures that cache). In the bundle cases hallmark also runs with\n" +
		"`--provenance=false`: the CLI job neither attests nor signs BuildKit's provenance; the last case, marked\n" +
		"`+provenance`, is hallmark's default (a single-platform index, its attestation manifest and the provenance\n" +
		"attestation signed too) to show what that costs. Warm: build cache and\n" +
		"repository warm, a new revision label per run (a new digest); cold: `--no-cache` on both sides.\n" +
		"Keyless: a fresh token from the bed's OIDC issuer, Fulcio certificate, TSA timestamp; keyed: an\n" +
		"encrypted cosign.key (scrypt).\n\n")
	p("| case | hallmark release, ms | CLI job, ms | ratio | target |\n|---|---|---|---|---|\n")
	for _, c := range r.release {
		a, b := wallOf(c.as), wallOf(c.bs)
		max := 0.8
		if strings.HasPrefix(c.name, "keyless") {
			max = 0.5
		}
		p("| %s | %s | %s | %.2f | %s |\n", c.name, a.ms(), b.ms(), ratio(a, b), target(ratio(a, b), max))
	}
	p("\nWhere the time goes (medians, ms). hallmark's stages are the sections it prints (as the bench saw them on\n" +
		"stderr); *setup* is process start, flag parsing and key loading or token checks before the build. A release\n" +
		"verifies each digest as soon as its signature is stored, while the signer reads it back: the verification's\n" +
		"time and requests fall in the sign stage, and the verify section only reports.\n\n")
	p("| case | hallmark: setup / build / sign / verify / tag | CPU | CLI: buildctl / digest / cosign sign / cosign verify | CPU |\n|---|---|---|---|---|\n")
	for _, c := range r.release {
		p("| %s | %.0f / %.0f / %.0f / %.0f / %.0f | %.0f | %.0f / %.0f / %.0f / %.0f | %.0f |\n", c.name,
			stepOf(c.as, "setup").med, stepOf(c.as, "build").med, stepOf(c.as, "sign").med, stepOf(c.as, "verify").med, stepOf(c.as, "tag").med, cpuOf(c.as).med,
			stepOf(c.bs, "build").med, stepOf(c.bs, "digest").med, stepOf(c.bs, "sign").med, stepOf(c.bs, "verify").med, cpuOf(c.bs).med)
	}
	p("\nRegistry requests per stage (build = buildkitd's push; targets for the whole release: ≤ 15 legacy, ≤ 18 oci-1-1).\n\n")
	p("| case | hallmark: build + sign + verify + tag = total | target | CLI: build + digest + sign + verify = total |\n|---|---|---|---|\n")
	for _, c := range r.release {
		max := 15.0
		if strings.Contains(c.name, "oci-1-1") {
			max = 18
		}
		total := requestsOf(c.as, "")
		mark := "met"
		if total.med > max {
			mark = "**missed**"
		}
		p("| %s | %s + %s + %s + %s = %s | ≤ %.0f — %s | %s + %s + %s + %s = %s |\n", c.name,
			requestsOf(c.as, "build").count(), requestsOf(c.as, "sign").count(), requestsOf(c.as, "verify").count(), requestsOf(c.as, "tag").count(),
			total.count(), max, mark,
			requestsOf(c.bs, "build").count(), requestsOf(c.bs, "digest").count(), requestsOf(c.bs, "sign").count(), requestsOf(c.bs, "verify").count(),
			requestsOf(c.bs, "").count())
	}
	r.tlogTable(p)
	p("\nPeak memory (max RSS, MiB; target for `hallmark release` ≤ 100).\n\n")
	p("| case | hallmark release | target | buildctl | digest | cosign sign | cosign verify |\n|---|---|---|---|---|---|---|\n")
	for _, c := range r.release {
		h := rssOf(c.as, "")
		mark := "met"
		if h.med > 100 {
			mark = "**missed**"
		}
		p("| %s | %s | ≤ 100 — %s | %s | %s | %s | %s |\n", c.name, h.count(), mark,
			rssOf(c.bs, "build").count(), rssOf(c.bs, "digest").count(), rssOf(c.bs, "sign").count(), rssOf(c.bs, "verify").count())
	}
	p("\n")
}

func (r *report) signTables(p func(string, ...any)) {
	p("On a digest pushed beforehand (untimed), with the 11 annotations; each process separately.\n\n")
	p("| case | hallmark, ms: sign / verify = total | cosign, ms: sign / verify = total | ratio | requests: hallmark sign / verify | cosign sign / verify | peak RSS MiB: hallmark sign / verify | cosign sign / verify |\n|---|---|---|---|---|---|---|---|\n")
	for _, c := range r.signs {
		a, b := wallOf(c.as), wallOf(c.bs)
		p("| %s | %.0f / %.0f = %s | %.0f / %.0f = %s | %.2f | %s / %s | %s / %s | %s / %s | %s / %s |\n", c.name,
			stepOf(c.as, "sign").med, stepOf(c.as, "verify").med, a.ms(), stepOf(c.bs, "sign").med, stepOf(c.bs, "verify").med, b.ms(), ratio(a, b),
			requestsOf(c.as, "sign").count(), requestsOf(c.as, "verify").count(), requestsOf(c.bs, "sign").count(), requestsOf(c.bs, "verify").count(),
			rssOf(c.as, "sign").count(), rssOf(c.as, "verify").count(), rssOf(c.bs, "sign").count(), rssOf(c.bs, "verify").count())
	}
	p("\n")
}

func (r *report) scaleTables(p func(string, ...any)) {
	p("Keyless, legacy layout. The multi-platform case is `hallmark release` of a COPY-only Dockerfile\n" +
		"(`testdata/bench/Dockerfile.copy`) for 8 platforms with `--recursive` (9 signatures and verifications)\n" +
		"against the same for one platform (the target is for the signing, the sign and verify stages); the digests\n" +
		"case is one `hallmark sign` (or `cosign sign`) process. Rows marked \"+N ms per request\" repeat them with\n" +
		"the proxy holding every registry request back that long, as a registry across a network would.\n\n")
	p("| case | smaller, ms | larger, ms | ratio | target | requests (smaller / larger) | peak RSS MiB (smaller / larger) |\n|---|---|---|---|---|---|---|\n")
	row := func(name string, c *comparison, a, b dist, t string) {
		p("| %s | %s: %s | %s: %s | %.2f | %s | %s / %s | %s / %s |\n", name, c.a, a.ms(), c.b, b.ms(), ratio(b, a), t,
			requestsOf(c.as, "").count(), requestsOf(c.bs, "").count(), rssOf(c.as, "").count(), rssOf(c.bs, "").count())
	}
	for _, c := range r.scaling {
		a, b := wallOf(c.as), wallOf(c.bs)
		t := "reference"
		if c.target > 0 {
			t = target(ratio(b, a), c.target)
		}
		if !c.stages {
			row(c.name, c, a, b, t)
			continue
		}
		row(c.name+": whole release", c, a, b, "")
		sa, sb := stepOf(c.as, "sign", "verify"), stepOf(c.bs, "sign", "verify")
		row(c.name+": signing (sign + verify stages)", c, sa, sb, target(ratio(sb, sa), c.target))
	}
	for _, c := range r.scaling {
		if c.stages && len(c.as) > 0 {
			p("\n%s — stages (ms, medians): 1 platform — build %.0f, sign %.0f, verify %.0f; 8 platforms — build %.0f, sign %.0f, verify %.0f.\n", c.name,
				stepOf(c.as, "build").med, stepOf(c.as, "sign").med, stepOf(c.as, "verify").med,
				stepOf(c.bs, "build").med, stepOf(c.bs, "sign").med, stepOf(c.bs, "verify").med)
		}
	}
	p("\n")
}

// tlogTable shows what the transparency log adds to each release case
// with it, against the same case without it: Rekor requests, registry
// requests and time, on both sides.
func (r *report) tlogTable(p func(string, ...any)) {
	without := map[string]*comparison{}
	for _, c := range r.release {
		without[c.name] = c
	}
	header := false
	for _, c := range r.release {
		base := without[strings.Replace(c.name, "+tlog", "", 1)]
		if !strings.Contains(c.name, "+tlog") || base == nil {
			continue
		}
		if !header {
			p("\nWhat the transparency log adds: each `+tlog` case against the same case without the log (medians;\n" +
				"Rekor requests and the time spent in them counted by the proxy in front of Rekor v2; registry requests\n" +
				"and wall time of the whole run).\n\n")
			p("| case | hallmark: Rekor requests | Rekor ms | registry requests | ms | CLI: Rekor requests | Rekor ms | registry requests | ms |\n|---|---|---|---|---|---|---|---|---|\n")
			header = true
		}
		logs := func(ss []sample) dist { return each(ss, func(s sample) float64 { return float64(s.logRequests()) }) }
		logMS := func(ss []sample) dist { return each(ss, func(s sample) float64 { return ms(s.logTime()) }) }
		p("| %s vs without | %s | %s | %.0f vs %.0f | %.0f vs %.0f (%+.0f) | %s | %s | %.0f vs %.0f | %.0f vs %.0f (%+.0f) |\n", c.name,
			logs(c.as).count(), logMS(c.as).ms(), requestsOf(c.as, "").med, requestsOf(base.as, "").med,
			wallOf(c.as).med, wallOf(base.as).med, wallOf(c.as).med-wallOf(base.as).med,
			logs(c.bs).count(), logMS(c.bs).ms(), requestsOf(c.bs, "").med, requestsOf(base.bs, "").med,
			wallOf(c.bs).med, wallOf(base.bs).med, wallOf(c.bs).med-wallOf(base.bs).med)
	}
}
