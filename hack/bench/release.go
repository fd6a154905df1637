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
	b      *bed
	r      *runner
	reg    string // the registry, through the counting proxy
	ctxDir string
	n      int
	seq    int
	rtt    atomic.Int64 // time.Duration the proxy holds each request back
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
	mode    string // legacy or oci-1-1
	cold    bool
	file    string // Dockerfile in the context; "" is Dockerfile.test
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
	return s + " " + c.mode + " " + cache
}

func (c releaseCase) slug() string { return strings.ReplaceAll(c.String(), " ", "-") }

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

func (s *suite) cosignEnv(mode string) []string {
	env := append(s.b.baseEnv(), "COSIGN_PASSWORD="+s.b.password, "COSIGN_YES=true")
	if mode == "oci-1-1" {
		env = append(env, "COSIGN_EXPERIMENTAL=1")
	}
	return env
}

// signFlags are hallmark's signing flags for the case.
func (s *suite) signFlags(keyless bool) (flags, env []string) {
	if keyless {
		return []string{"--fulcio-url", s.b.fulcio, "--timestamp-server-url", s.b.tsa, "--trusted-root", s.b.trustedRoot,
			"--tlog-upload=false", "--insecure-skip-verify"}, nil
	}
	return []string{"--key", s.b.keyPath, "--tlog-upload=false"}, []string{"COSIGN_PASSWORD=" + s.b.password}
}

// trustFlags are the verification flags (hallmark's and cosign's names).
func (s *suite) trustFlags(keyless bool) []string {
	if keyless {
		return []string{"--trusted-root", s.b.trustedRoot, "--insecure-ignore-tlog", "--insecure-ignore-sct",
			"--certificate-identity", s.b.identity(), "--certificate-oidc-issuer", s.b.issuer}
	}
	return []string{"--key", s.b.pubPath, "--insecure-ignore-tlog"}
}

// hallmarkRelease runs `hallmark release` for the case.
func (s *suite) hallmarkRelease(ctx context.Context, c releaseCase, r *run, repo string, extra ...string) (sample, string, error) {
	sign, env := s.signFlags(c.keyless)
	if c.keyless {
		env = append(env, "SIGSTORE_ID_TOKEN="+r.token)
	}
	argv := []string{s.b.hallmark, "release", "--addr", s.b.buildkit, "--insecure-registry", s.reg,
		"--context", s.ctxDir, "-f", filepath.Join(s.ctxDir, c.dockerfile()), "--progress", "quiet",
		"--image", repo, "--tag", r.tag, "--label", "org.opencontainers.image.revision=" + r.revision,
		"--registry-referrers-mode", c.mode, "--insecure-ignore-tlog"}
	if c.keyless {
		argv = append(argv, "--insecure-ignore-sct")
	}
	if c.cold {
		argv = append(argv, "--no-cache")
	}
	argv = slices.Concat(argv, sign, extra)
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

// cliJob runs the CI script hallmark replaces: buildctl build --push,
// the digest look-up, cosign sign with the same annotations, cosign
// verify.
func (s *suite) cliJob(ctx context.Context, c releaseCase, r *run, repo string) (sample, error) {
	var out sample
	md := filepath.Join(s.b.dir, "metadata.json")
	build := []string{s.b.buildctl, "--addr", s.b.buildkit, "build", "--frontend", "dockerfile.v0",
		"--local", "context=" + s.ctxDir, "--local", "dockerfile=" + s.ctxDir, "--opt", "filename=" + c.dockerfile(),
		"--opt", "label:org.opencontainers.image.revision=" + r.revision, "--progress", "quiet", "--metadata-file", md,
		"--output", "type=image,name=" + repo + ":" + r.tag + ",push=true,registry.insecure=true,oci-mediatypes=true"}
	if c.cold {
		build = append(build, "--no-cache")
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
	sv, err := s.cosignSignVerify(ctx, c.keyless, c.mode, r, []string{image})
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

// cosignSignVerify runs cosign sign on the images, then cosign verify.
func (s *suite) cosignSignVerify(ctx context.Context, keyless bool, mode string, r *run, images []string) (sample, error) {
	var out sample
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
	if mode == "oci-1-1" {
		sign = append(sign, "--registry-referrers-mode", mode)
		verify = append(verify, "--experimental-oci11")
	}
	sign = slices.Concat(sign, r.annotations, reg, images)
	verify = slices.Concat(verify, s.trustFlags(keyless), r.annotations, reg, images[:1])
	p, err := s.r.run(ctx, "sign", s.cosignEnv(mode), sign, false)
	if err != nil {
		return out, err
	}
	out.procs = append(out.procs, p)
	if p, err = s.r.run(ctx, "verify", s.cosignEnv(mode), verify, false); err != nil {
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
