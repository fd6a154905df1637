package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// suite holds what every case needs.
type suite struct {
	b     *bed
	r     *runner
	reg   string // the registry, through the counting proxy
	rekor string // the transparency log's URL, through its counting proxy
	// signingConfig is the bed's signing config naming that proxy.
	signingConfig string
	ctxDir        string
	n             int
	seq           int
	rtt           atomic.Int64 // time.Duration the proxy holds each request back
}

// sample is one side of one run: its processes, in order.
type sample struct{ procs []*proc }

func (s sample) wall() time.Duration {
	var d time.Duration
	for _, p := range s.procs {
		d += p.wall
	}
	return d
}

// logRequests counts the run's requests to the transparency log.
func (s sample) logRequests() int {
	n := 0
	for _, p := range s.procs {
		n += p.logReqs
	}
	return n
}

// logTime is the run's time spent in transparency-log requests.
func (s sample) logTime() time.Duration {
	var d time.Duration
	for _, p := range s.procs {
		d += p.logTime
	}
	return d
}

// requests counts all requests of the run, or those of one step/stage.
func (s sample) requests(stage string) int {
	n := 0
	for _, p := range s.procs {
		for k, v := range p.requests {
			if stage == "" || k == stage || p.step == stage {
				n += v
			}
		}
	}
	return n
}

// releaseCase is one configuration of the release comparison.
type releaseCase struct {
	keyless bool
	mode    string // legacy or oci-1-1 (simple signing), or bundle
	cold    bool
	tlog    bool   // sign into the transparency log and verify it (bundle only)
	file    string // Dockerfile in the context; "" is Dockerfile.test
	// For the pool and cache cases (pool.go, cache.go):
	conn []string // hallmark's buildkitd flags (--addr, --builders); nil: the bed's buildkitd
	addr string   // buildctl's buildkitd; "": the bed's
	// rev: pass build argument REV, the run's revision and rev (each side its
	// own, so that sides on the same buildkitd share no step); "": none.
	rev      string
	progress string // --progress on both sides; "": quiet
	cache    string // buildctl: import and export this registry cache ref (hand-written flags)
	// noCICache: hallmark with --ci-cache=false, for comparisons whose
	// other side has no cache (the release group's CLI job): in a GitLab
	// job's environment hallmark would otherwise import and export its
	// default registry cache, work the other side does not do.
	noCICache bool
	// noProvenance: hallmark with --provenance=false (bundle cases), for
	// comparisons whose other side makes and signs no provenance (the
	// release group's CLI job); the cost of the default is a case of its own.
	noProvenance bool
}

func (c releaseCase) progressMode() string {
	if c.progress == "" {
		return "quiet"
	}
	return c.progress
}

func (c releaseCase) buildkit(bed string) string {
	if c.addr == "" {
		return bed
	}
	return c.addr
}

func (c releaseCase) dockerfile() string {
	if c.file == "" {
		return "Dockerfile.test"
	}
	return c.file
}

func (c releaseCase) String() string {
	s := "keyed"
	if c.keyless {
		s = "keyless"
	}
	cache := "warm"
	if c.cold {
		cache = "cold"
	}
	mode := c.mode
	if c.tlog {
		mode += "+tlog"
	}
	s += " " + mode + " " + cache
	if c.mode == "bundle" && !c.noProvenance {
		s += " +provenance"
	}
	return s
}

func (c releaseCase) slug() string {
	return strings.NewReplacer(" ", "-", "+", "-").Replace(c.String())
}

const sha = "0123456789abcdef0123456789abcdef01234567"

// run is what one run of a case needs on both sides.
type run struct {
	tag, revision string
	token         string
	annotations   []string // -a KEY=VALUE for cosign: the 11 hallmark attaches
}

func (s *suite) newRun(ctx context.Context, keyless bool) (*run, error) {
	s.seq++
	r := &run{tag: fmt.Sprintf("run-%d", s.seq), revision: fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), s.seq)}
	if keyless {
		var err error
		if r.token, err = s.b.token(ctx, sha); err != nil {
			return nil, err
		}
	}
	var err error
	r.annotations, err = s.annotations(ctx, r.tag)
	return r, err
}

// annotations asks hallmark which annotations it attaches in the job.
func (s *suite) annotations(ctx context.Context, tag string) ([]string, error) {
	p, err := s.r.run(ctx, "annotations", s.hallmarkEnv(nil), []string{s.b.hallmark, "annotations", "--tag", tag}, false)
	if err != nil {
		return nil, err
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(p.stdout), &m); err != nil {
		return nil, err
	}
	var out []string
	for k, v := range m {
		out = append(out, "-a", k+"="+v)
	}
	return out, nil
}

func (s *suite) hallmarkEnv(extra []string) []string {
	return slices.Concat(s.b.baseEnv(), s.b.gitlabEnv(s.reg, sha), extra)
}

// signing is the signing configuration of one side of a case: the format
// (legacy or oci-1-1 simple signing, or bundle), keyed or keyless, with or
// without the transparency log (Rekor v2 and the instance's trusted root:
// every check on, no insecure flag).
type signing struct {
	keyless   bool
	mode      string
	tlog      bool
	recursive bool // cosign sign --recursive: an index and each of its manifests
}

func (s *suite) cosignEnv(mode string) []string {
	env := append(s.b.baseEnv(), "COSIGN_PASSWORD="+s.b.password, "COSIGN_YES=true")
	if mode == "oci-1-1" {
		env = append(env, "COSIGN_EXPERIMENTAL=1")
	}
	return env
}

// signFlags are hallmark's signing flags for the case: the storage
// format, and the bed's Fulcio and TSA, or the key (bundles get a TSA
// timestamp keyed too, as cosign v3 does), and with tlog Rekor v2 and the
// instance's trusted root.
func (s *suite) signFlags(g signing) (flags, env []string) {
	if g.mode != "bundle" {
		flags = []string{"--new-bundle-format=false", "--registry-referrers-mode", g.mode}
	}
	switch {
	case g.keyless:
		flags = append(flags, "--fulcio-url", s.b.fulcio, "--timestamp-server-url", s.b.tsa)
	case g.mode == "bundle":
		flags = append(flags, "--key", s.b.keyPath, "--timestamp-server-url", s.b.tsa)
		env = []string{"COSIGN_PASSWORD=" + s.b.password}
	default:
		flags = append(flags, "--key", s.b.keyPath)
		env = []string{"COSIGN_PASSWORD=" + s.b.password}
	}
	switch {
	case g.tlog:
		flags = append(flags, "--trusted-root", s.b.sigstoreRoot, "--rekor-url", s.rekor, "--rekor-version", "2")
	case g.keyless:
		flags = append(flags, "--trusted-root", s.b.trustedRoot, "--tlog-upload=false", "--insecure-skip-verify")
	default:
		flags = append(flags, "--tlog-upload=false")
	}
	return flags, env
}

// trustFlags are the verification flags (hallmark's and cosign's names):
// with tlog the instance's trusted root and no insecure flag.
func (s *suite) trustFlags(g signing) []string {
	root := s.b.trustedRoot
	if g.tlog {
		root = s.b.sigstoreRoot
	}
	var out []string
	if g.keyless {
		out = []string{"--trusted-root", root, "--certificate-identity", s.b.identity(), "--certificate-oidc-issuer", s.b.issuer}
	} else {
		out = []string{"--key", s.b.pubPath}
		if g.mode == "bundle" {
			out = append(out, "--trusted-root", root) // the TSA's chain
		}
	}
	switch {
	case g.tlog:
	case g.keyless:
		out = append(out, "--insecure-ignore-tlog", "--insecure-ignore-sct")
	default:
		out = append(out, "--insecure-ignore-tlog")
	}
	return out
}

// hallmarkRelease runs `hallmark release` for the case.
func (s *suite) hallmarkRelease(ctx context.Context, c releaseCase, r *run, repo string, extra ...string) (sample, string, error) {
	argv, env := s.hallmarkArgv(c, r, repo, extra...)
	p, err := s.r.run(ctx, "release", s.hallmarkEnv(env), argv, true)
	if err != nil {
		return sample{}, "", err
	}
	var out struct{ Image string }
	if err := json.Unmarshal([]byte(p.stdout), &out); err != nil || out.Image == "" {
		return sample{}, "", fmt.Errorf("release printed no image: %v\n%s", err, p.stdout)
	}
	return sample{procs: []*proc{p}}, out.Image, nil
}

// hallmarkArgv is the `hallmark release` command line of the case, with
// the environment it adds to the GitLab job's.
func (s *suite) hallmarkArgv(c releaseCase, r *run, repo string, extra ...string) (argv, env []string) {
	g := c.signing()
	sign, env := s.signFlags(g)
	if c.keyless {
		env = append(env, "SIGSTORE_ID_TOKEN="+r.token)
	}
	conn := c.conn
	if conn == nil {
		conn = []string{"--addr", s.b.buildkit}
	}
	argv = slices.Concat([]string{s.b.hallmark, "release"}, conn, []string{"--insecure-registry", s.reg,
		"--context", s.ctxDir, "-f", filepath.Join(s.ctxDir, c.dockerfile()), "--progress", c.progressMode(),
		"--image", repo, "--tag", r.tag, "--label", "org.opencontainers.image.revision=" + r.revision})
	if c.rev != "" {
		argv = append(argv, "--build-arg", "REV="+r.revision+"-"+c.rev)
	}
	if !g.tlog {
		argv = append(argv, "--insecure-ignore-tlog")
		if c.keyless {
			argv = append(argv, "--insecure-ignore-sct")
		}
	}
	if c.cold {
		argv = append(argv, "--no-cache")
	}
	if c.noCICache {
		argv = append(argv, "--ci-cache=false")
	}
	if c.noProvenance && c.mode == "bundle" {
		argv = append(argv, "--provenance=false")
	}
	return slices.Concat(argv, sign, extra), env
}

// cliJob runs the CI script hallmark replaces: buildctl build --push,
// the digest look-up, cosign sign with the same annotations, cosign
// verify.
func (s *suite) cliJob(ctx context.Context, c releaseCase, r *run, repo string) (sample, error) {
	var out sample
	md := filepath.Join(s.b.dir, "metadata.json")
	build := []string{s.b.buildctl, "--addr", c.buildkit(s.b.buildkit), "build", "--frontend", "dockerfile.v0",
		"--local", "context=" + s.ctxDir, "--local", "dockerfile=" + s.ctxDir, "--opt", "filename=" + c.dockerfile(),
		"--opt", "label:org.opencontainers.image.revision=" + r.revision, "--progress", c.progressMode(), "--metadata-file", md,
		"--output", "type=image,name=" + repo + ":" + r.tag + ",push=true,registry.insecure=true,oci-mediatypes=true"}
	if c.cold {
		build = append(build, "--no-cache")
	}
	if c.rev != "" {
		build = append(build, "--opt", "build-arg:REV="+r.revision+"-"+c.rev)
	}
	if c.cache != "" {
		build = append(build, "--import-cache", "type=registry,ref="+c.cache+",registry.insecure=true",
			"--export-cache", "type=registry,ref="+c.cache+",mode=max,ignore-error=true,registry.insecure=true")
	}
	p, err := s.r.run(ctx, "build", s.b.baseEnv(), build, false)
	if err != nil {
		return out, err
	}
	out.procs = append(out.procs, p)
	if p, err = s.r.run(ctx, "digest", s.b.baseEnv(), []string{s.b.digest, "--insecure", repo + ":" + r.tag}, false); err != nil {
		return out, err
	}
	out.procs = append(out.procs, p)
	image := strings.TrimSpace(p.stdout)
	if err := checkMetadata(md, image); err != nil {
		return out, err
	}
	sv, err := s.cosignSignVerify(ctx, c.signing(), r, []string{image})
	out.procs = append(out.procs, sv.procs...)
	return out, err
}

// checkMetadata checks that buildctl's metadata file names the digest the
// look-up found.
func checkMetadata(path, image string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var md map[string]any
	if err := json.Unmarshal(b, &md); err != nil {
		return err
	}
	if d, _ := md["containerimage.digest"].(string); d == "" || !strings.HasSuffix(image, "@"+d) {
		return fmt.Errorf("buildctl metadata digest %q, look-up %s", d, image)
	}
	return nil
}

func (c releaseCase) signing() signing {
	return signing{keyless: c.keyless, mode: c.mode, tlog: c.tlog}
}

// cosignSignVerify runs cosign sign on the images, then cosign verify:
// cosign v3.1.3 for bundles, cosign 2.6.5 for simple signing.
func (s *suite) cosignSignVerify(ctx context.Context, g signing, r *run, images []string) (sample, error) {
	if g.mode == "bundle" {
		return s.cosign3SignVerify(ctx, g, r, images)
	}
	keyless, mode := g.keyless, g.mode
	reg := []string{"--allow-insecure-registry", "--allow-http-registry"}
	sign := []string{s.b.cosign, "sign", "--tlog-upload=false"}
	verify := []string{s.b.cosign, "verify"}
	if keyless {
		sign = append(sign, "--identity-token", r.token, "--fulcio-url", s.b.fulcio, "--timestamp-server-url", s.b.tsa,
			"--insecure-skip-verify", "--trusted-root", s.b.trustedRoot)
		verify = append(verify, "--use-signed-timestamps")
	} else {
		// The trusted root keeps cosign from reaching for the public TUF
		// repository (cosign verify --key does without it).
		sign = append(sign, "--key", s.b.keyPath, "--trusted-root", s.b.trustedRoot)
		verify = append(verify, "--trusted-root", s.b.trustedRoot)
	}
	if g.recursive {
		sign = append(sign, "--recursive")
	}
	if mode == "oci-1-1" {
		sign = append(sign, "--registry-referrers-mode", mode)
		verify = append(verify, "--experimental-oci11")
	}
	sign = slices.Concat(sign, r.annotations, reg, images)
	verify = slices.Concat(verify, s.trustFlags(g), r.annotations, reg, images[:1])
	return s.runSignVerify(ctx, s.cosignEnv(mode), sign, verify)
}

// cosign3SignVerify runs cosign v3.1.3's default sign (a bundle) and its
// verify: with tlog through the instance's signing config (the proxied
// Rekor v2), else with the bed's Fulcio and TSA and no log.
func (s *suite) cosign3SignVerify(ctx context.Context, g signing, r *run, images []string) (sample, error) {
	sign := []string{s.b.cosign3, "sign"}
	if g.tlog {
		sign = append(sign, "--signing-config", s.signingConfig, "--trusted-root", s.b.sigstoreRoot)
	} else {
		sign = append(sign, "--use-signing-config=false", "--tlog-upload=false", "--timestamp-server-url", s.b.tsa,
			"--trusted-root", s.b.trustedRoot)
	}
	if g.keyless {
		sign = append(sign, "--identity-token", r.token)
		if !g.tlog {
			sign = append(sign, "--fulcio-url", s.b.fulcio, "--insecure-skip-verify")
		}
	} else {
		sign = append(sign, "--key", s.b.keyPath)
	}
	if g.recursive {
		sign = append(sign, "--recursive")
	}
	reg := []string{"--allow-insecure-registry", "--allow-http-registry"}
	sign = slices.Concat(sign, r.annotations, reg, images)
	verify := slices.Concat([]string{s.b.cosign3, "verify"}, s.trustFlags(g), r.annotations, reg, images[:1])
	return s.runSignVerify(ctx, s.cosignEnv(g.mode), sign, verify)
}

// runSignVerify runs a sign process, then a verify process.
func (s *suite) runSignVerify(ctx context.Context, env, sign, verify []string) (sample, error) {
	var out sample
	p, err := s.r.run(ctx, "sign", env, sign, false)
	if err != nil {
		return out, err
	}
	out.procs = append(out.procs, p)
	if p, err = s.r.run(ctx, "verify", env, verify, false); err != nil {
		return out, err
	}
	out.procs = append(out.procs, p)
	return out, nil
}

// releaseCases compares hallmark release with the CLI job, alternating
// which side goes first; one untimed warm-up run per side fills the build
// cache and the repository.
func (s *suite) releaseCases(ctx context.Context, cases []releaseCase) ([]*comparison, error) {
	var out []*comparison
	for _, c := range cases {
		cmp := &comparison{name: c.String(), a: "hallmark release", b: "CLI job"}
		hRepo := s.reg + "/bench/release-" + c.slug() + "-hallmark"
		cRepo := s.reg + "/bench/release-" + c.slug() + "-cli"
		fmt.Fprintf(os.Stderr, "bench: release %s (%d runs)\n", c, s.n)
		for i := -1; i < s.n; i++ {
			r, err := s.newRun(ctx, c.keyless)
			if err != nil {
				return nil, err
			}
			sides := []func() error{
				func() error {
					smp, _, err := s.hallmarkRelease(ctx, c, r, hRepo)
					if i >= 0 {
						cmp.as = append(cmp.as, smp)
					}
					return err
				},
				func() error {
					smp, err := s.cliJob(ctx, c, r, cRepo)
					if i >= 0 {
						cmp.bs = append(cmp.bs, smp)
					}
					return err
				},
			}
			if err := alternate(i, sides); err != nil {
				return nil, fmt.Errorf("release %s: %w", c, err)
			}
		}
		out = append(out, cmp)
	}
	return out, nil
}
