package main

import "strings"

// The pool and cache sections (issue 14): each group's comparisons share
// hallmark's runs (the same runs, against two other sides).

func (r *report) poolTables(p func(string, ...any)) {
	p("Five buildkitd started by the bench for this group (the bed's binary, own state directories and unix\n"+
		"sockets; the bed's own buildkitd are not used), each with `[worker.oci] max-parallelism = 1` (one step at\n"+
		"a time, standing in for a one-CPU builder; the five share the machine's CPUs): four claim one platform each\n"+
		"of %s (`--oci-worker-platform`), the fifth all four. `testdata/bench/Dockerfile.pool`: per\n"+
		"platform two `RUN` steps of about a second (TARGETPLATFORM and a new REV build argument per run and side in\n"+
		"each, so nothing is shared or cached; no QEMU here: the host's busybox runs for every platform). Keyless,\n"+
		"Sigstore bundles, no transparency log, no build cache and no provenance on any side (buildx's\n"+
		"`--provenance=false`; hallmark's `--provenance=false`, its release's default being on); `--progress plain`\n"+
		"on every side, in which the bench checks that each step ran once per platform. The case runs once with the\n"+
		"registry on loopback as it is, and once per `-pool-rtt` delay (default 20ms) added by the bench's proxy to\n"+
		"every registry request, the nodes' pushes included: a registry across a network.\n\n", "`"+strings.Join(poolPlatforms, "`, `")+"`")
	p("- **hallmark release, 4 nodes**: `hallmark release --builders FILE --platform (the 4) --ci-cache=false --provenance=false` in a GitLab\n" +
		"  job's environment, the builder file naming the four nodes with their platform; the bench checks in the\n" +
		"  JSON output that each platform was built on its node. It builds and pushes by digest on the nodes, merges\n" +
		"  the index, signs and verifies the index and each platform (5 signatures, 5 verifications), tags.\n" +
		"- **hallmark release, 1 node**: the same with `--addr` the fifth node and `--recursive` (the same signatures).\n" +
		"- **buildx + cosign**: buildx v0.36.1 with a remote-driver builder of the same four nodes (`buildx create\n" +
		"  --driver remote --platform P unix://...`, created once, untimed), `buildx build --platform (the 4)\n" +
		"  --provenance=false --output type=image,push=true,...` (each node pushes by digest, buildx merges and\n" +
		"  tags), the index digest from `--metadata-file`; then cosign v3.1.3 `sign --recursive` of the index (5\n" +
		"  signatures) and `cosign verify` of the index (1 verification: hallmark verifies 5).\n\n")
	if len(r.pool) < 2 {
		return
	}
	p("| comparison | %s, ms | other side, ms | ratio | target |\n|---|---|---|---|---|\n", r.pool[0].a)
	for _, c := range r.pool {
		a, b := wallOf(c.as), wallOf(c.bs)
		p("| %s | %s | %s: %s | %.2f | %s |\n", c.name, a.ms(), c.b, b.ms(), ratio(a, b), target(ratio(a, b), c.target))
	}
	// The comparisons come in pairs, one pair per delay (poolRuns).
	for i := 0; i+1 < len(r.pool); i += 2 {
		poolDetails(p, r.pool[i], r.pool[i+1])
	}
}

// poolDetails prints where the time went, the registry requests and the
// peak memory of one pair of pool comparisons (4 nodes vs 1; vs buildx).
func poolDetails(p func(string, ...any), nodes, bx *comparison) {
	label := "The registry on loopback, as it is"
	if _, delay, ok := strings.Cut(nodes.name, " (+"); ok {
		label = "Each registry request held back " + strings.TrimSuffix(delay, " per registry request)") +
			" by the bench's proxy (a registry across a network; the nodes' pushes too)"
	}
	p("\n**%s.**\n", label)
	p("\nWhere the time goes (medians, ms; hallmark's stages are the sections it prints; *build* includes the merge).\n\n")
	p("| side | steps | CPU |\n|---|---|---|\n")
	for _, side := range []struct {
		name string
		ss   []sample
	}{{nodes.a, nodes.as}, {nodes.b, nodes.bs}} {
		p("| %s | setup %.0f / build %.0f / sign %.0f / verify %.0f / tag %.0f | %.0f |\n", side.name,
			stepOf(side.ss, "setup").med, stepOf(side.ss, "build").med, stepOf(side.ss, "sign").med, stepOf(side.ss, "verify").med, stepOf(side.ss, "tag").med, cpuOf(side.ss).med)
	}
	p("| buildx + cosign | buildx build %.0f / cosign sign %.0f / cosign verify %.0f | %.0f |\n",
		stepOf(bx.bs, "build").med, stepOf(bx.bs, "sign").med, stepOf(bx.bs, "verify").med, cpuOf(bx.bs).med)
	h, b := requestsOf(bx.as, ""), requestsOf(bx.bs, "")
	mark := "met"
	if h.med >= b.med {
		mark = "**missed**"
	}
	p("\nRegistry requests (build = the nodes' pushes, and buildx's or hallmark's merge; target: hallmark fewer than\n" +
		"buildx + cosign).\n\n")
	p("| side | build + sign + verify + tag = total | target |\n|---|---|---|\n")
	p("| %s | %s + %s + %s + %s = %s | fewer — %s |\n", nodes.a, requestsOf(nodes.as, "build").count(), requestsOf(nodes.as, "sign").count(),
		requestsOf(nodes.as, "verify").count(), requestsOf(nodes.as, "tag").count(), h.count(), mark)
	p("| %s | %s + %s + %s + %s = %s | |\n", nodes.b, requestsOf(nodes.bs, "build").count(), requestsOf(nodes.bs, "sign").count(),
		requestsOf(nodes.bs, "verify").count(), requestsOf(nodes.bs, "tag").count(), requestsOf(nodes.bs, "").count())
	p("| buildx + cosign | %s + %s + %s + – = %s | |\n", requestsOf(bx.bs, "build").count(), requestsOf(bx.bs, "sign").count(),
		requestsOf(bx.bs, "verify").count(), b.count())
	p("\nPeak memory (max RSS, MiB): hallmark 4 nodes %s, 1 node %s; buildx %s, cosign sign %s, cosign verify %s.\n\n",
		rssOf(nodes.as, "").count(), rssOf(nodes.bs, "").count(), rssOf(bx.bs, "build").count(), rssOf(bx.bs, "sign").count(), rssOf(bx.bs, "verify").count())
}

func (r *report) cacheTables(p func(string, ...any)) {
	p("`testdata/bench/Dockerfile.cache`: a multi-stage build, a dependency step (8 MiB written, 3 s) and a compile\n" +
		"step (4 MiB binary, 3 s), then a late cheap step that a new revision changes (REV build argument). Every\n" +
		"run of every side is on a **fresh buildkitd** the bench starts for it (new state directory, the bed's binary,\n" +
		"default settings; start and stop untimed), as a pipeline on an ephemeral runner; the untimed warm-up run is\n" +
		"each side's first pipeline, every timed run a next one. Keyless, Sigstore bundles, no transparency log,\n" +
		"`--progress plain` on every side: the bench checks in it that the two expensive steps were `CACHED` on the\n" +
		"cached sides and ran on the tutorial's, in every timed run.\n\n")
	p("- **hallmark release**: in a GitLab job's environment, no cache flag: its default registry cache\n" +
		"  (`IMAGE/buildcache:default`, mode=max, imported and exported); `--provenance=false`, as no other side\n" +
		"  attests provenance (hallmark's default would add an attestation manifest, its signature and the attestation).\n" +
		"- **tutorial's job**: `buildctl build --output type=image,push=true --metadata-file`, the digest look-up,\n" +
		"  cosign v3.1.3 `sign` and `verify` (as the release group's CLI job), no cache.\n" +
		"- **buildctl job with cache flags**: the same with hand-written `--import-cache type=registry,ref=REPO/buildcache:default`\n" +
		"  `--export-cache type=registry,ref=...,mode=max,ignore-error=true` (the cache hallmark sets up itself).\n\n")
	if len(r.cache) < 2 {
		return
	}
	p("| comparison | hallmark release, ms | other side, ms | ratio | target |\n|---|---|---|---|---|\n")
	for _, c := range r.cache {
		a, b := wallOf(c.as), wallOf(c.bs)
		t := target(ratio(a, b), c.target)
		if c.target == 1 {
			t = strings.Replace(t, "≤ 1.0×", "≤ 1.0× (no slower)", 1)
		}
		p("| %s | %s | %s: %s | %.2f | %s |\n", c.name, a.ms(), c.b, b.ms(), ratio(a, b), t)
	}
	tut, man := r.cache[0], r.cache[1]
	p("\nWhere the time goes (medians, ms), registry requests per step and peak memory (MiB).\n\n")
	p("| side | steps, ms | CPU, ms | requests | peak RSS |\n|---|---|---|---|---|\n")
	p("| hallmark release | setup %.0f / build %.0f / sign %.0f / verify %.0f / tag %.0f | %.0f | %s + %s + %s + %s = %s | %s |\n",
		stepOf(tut.as, "setup").med, stepOf(tut.as, "build").med, stepOf(tut.as, "sign").med, stepOf(tut.as, "verify").med, stepOf(tut.as, "tag").med,
		cpuOf(tut.as).med, requestsOf(tut.as, "build").count(), requestsOf(tut.as, "sign").count(), requestsOf(tut.as, "verify").count(),
		requestsOf(tut.as, "tag").count(), requestsOf(tut.as, "").count(), rssOf(tut.as, "").count())
	for _, c := range []*comparison{tut, man} {
		p("| %s | buildctl %.0f / digest %.0f / cosign sign %.0f / cosign verify %.0f | %.0f | %s + %s + %s + %s = %s | %s |\n", c.b,
			stepOf(c.bs, "build").med, stepOf(c.bs, "digest").med, stepOf(c.bs, "sign").med, stepOf(c.bs, "verify").med, cpuOf(c.bs).med,
			requestsOf(c.bs, "build").count(), requestsOf(c.bs, "digest").count(), requestsOf(c.bs, "sign").count(), requestsOf(c.bs, "verify").count(),
			requestsOf(c.bs, "").count(), rssOf(c.bs, "").count())
	}
	p("\n")
}
