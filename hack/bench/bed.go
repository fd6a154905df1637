package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/sigstore/cosign/v2/pkg/cosign"
)

// bed is the test bed's services (hack/testbed.sh env) and the tools.
type bed struct {
	buildkit                   string // unix:// address
	plain, referrers           string // registries
	buildctl, cosign, busybox  string
	buildkitd                  string // the bed's binary, for the nodes the pool and cache cases start
	buildx                     string // buildx v0.36.1, for the pool case (set by bench)
	cosign3                    string // cosign v3.1.3, for the bundle cases
	mint, issuer               string
	fulcio, tsa, trustedRoot   string
	rekor                      string // Rekor v2 (the bed's; the bench puts a counting proxy in front)
	sigstoreRoot               string // trusted root listing Fulcio, the CT log, Rekor v2 and the TSA
	signingConfig              string // the instance's signing config (Fulcio, Rekor v2, TSA)
	hallmark, digest           string // binaries under test
	dir                        string // scratch directory
	keyPath, pubPath, password string
	guard                      *guard // the proxy every process is given
}

func loadBed(hallmark, digest, dir string) (*bed, error) {
	g, err := startGuard()
	if err != nil {
		return nil, err
	}
	b := &bed{hallmark: hallmark, digest: digest, dir: dir, password: "bench-key-password", guard: g}
	var missing []string
	for _, v := range []struct {
		dst *string
		env string
	}{
		{&b.buildkit, "HALLMARK_TEST_BUILDKIT_UNIX"}, {&b.plain, "HALLMARK_TEST_REGISTRY_PLAIN"},
		{&b.referrers, "HALLMARK_TEST_REGISTRY_REFERRERS"}, {&b.buildctl, "HALLMARK_TEST_BUILDCTL"}, {&b.buildkitd, "HALLMARK_TEST_BUILDKITD"},
		{&b.cosign, "HALLMARK_TEST_COSIGN"}, {&b.busybox, "HALLMARK_TEST_BUSYBOX"},
		{&b.mint, "HALLMARK_TEST_OIDC_MINT"}, {&b.issuer, "HALLMARK_TEST_OIDC_ISSUER"},
		{&b.fulcio, "HALLMARK_TEST_FULCIO_URL"}, {&b.tsa, "HALLMARK_TEST_TSA_URL"},
		{&b.trustedRoot, "HALLMARK_TEST_TRUSTED_ROOT"}, {&b.cosign3, "HALLMARK_TEST_COSIGN3"},
		{&b.rekor, "HALLMARK_TEST_REKOR_URL"}, {&b.sigstoreRoot, "HALLMARK_TEST_SIGSTORE_TRUSTED_ROOT"},
		{&b.signingConfig, "HALLMARK_TEST_SIGNING_CONFIG"},
	} {
		if *v.dst = os.Getenv(v.env); *v.dst == "" {
			missing = append(missing, v.env)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("test bed not up (%s unset): eval \"$(hack/testbed.sh up)\"", strings.Join(missing, ", "))
	}
	return b, b.makeKey()
}

// makeKey writes an encrypted cosign key pair (the library's scrypt
// parameters, as `cosign generate-key-pair`).
func (b *bed) makeKey() error {
	kp, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(b.password), nil })
	if err != nil {
		return err
	}
	b.keyPath, b.pubPath = filepath.Join(b.dir, "cosign.key"), filepath.Join(b.dir, "cosign.pub")
	if err := os.WriteFile(b.keyPath, kp.PrivateBytes, 0o600); err != nil {
		return err
	}
	return os.WriteFile(b.pubPath, kp.PublicBytes, 0o644)
}

// token mints a GitLab-shaped ID token for group/app on main.
func (b *bed) token(ctx context.Context, sha string) (string, error) {
	q := url.Values{"project_path": {"group/app"}, "ref": {"main"}, "sha": {sha}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.mint+"?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("minting a token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("minting a token: %s %v %s", resp.Status, err, body)
	}
	return strings.TrimSpace(string(body)), nil
}

// identity is the certificate identity a GitLab job of group/app on main
// gets from the bed's Fulcio.
func (b *bed) identity() string { return b.issuer + "/group/app//.gitlab-ci.yml@refs/heads/main" }

// baseEnv is the environment of every process measured: no CI variables,
// no hallmark or cosign settings from the caller, an empty docker config,
// and as HTTP(S) proxy the guard, which counts and refuses every attempt to
// reach anything but loopback (Go never proxies loopback).
func (b *bed) baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "GITLAB_CI", k == "GITHUB_ACTIONS", k == "CI", k == "BUILDKIT_HOST",
			strings.HasPrefix(k, "CI_"), strings.HasPrefix(k, "GITHUB_"), strings.HasPrefix(k, "GITLAB_"),
			strings.HasPrefix(k, "HALLMARK_"), strings.HasPrefix(k, "COSIGN_"), strings.HasPrefix(k, "SIGSTORE_"),
			strings.HasPrefix(k, "TUF_"), strings.EqualFold(k, "http_proxy"), strings.EqualFold(k, "https_proxy"),
			strings.EqualFold(k, "no_proxy"), k == "DOCKER_CONFIG", k == "HOME":
			continue
		}
		env = append(env, kv)
	}
	home := filepath.Join(b.dir, "home")
	return append(env, "HOME="+home, "DOCKER_CONFIG="+filepath.Join(home, ".docker"),
		"TUF_ROOT="+filepath.Join(home, "tuf"), "HTTPS_PROXY=http://"+b.guard.addr, "HTTP_PROXY=http://"+b.guard.addr,
		"NO_PROXY=127.0.0.1,localhost")
}

// gitlabEnv is a GitLab job's environment with the bed's OIDC issuer as
// the GitLab server (as hack/demo.sh sets it up).
func (b *bed) gitlabEnv(registry, sha string) []string {
	url := b.issuer + "/group/app"
	return []string{
		"GITLAB_CI=true", "CI=true", "CI_SERVER_URL=" + b.issuer, "CI_PROJECT_PATH=group/app", "CI_PROJECT_URL=" + url,
		"CI_REGISTRY=" + registry, "CI_REGISTRY_IMAGE=" + registry + "/group/app",
		"CI_COMMIT_SHA=" + sha, "CI_COMMIT_SHORT_SHA=" + sha[:8], "CI_COMMIT_REF_NAME=main",
		"CI_PIPELINE_ID=4004", "CI_PIPELINE_URL=" + url + "/-/pipelines/4004",
		"CI_JOB_ID=5005", "CI_JOB_URL=" + url + "/-/jobs/5005", "GITLAB_USER_NAME=Hallmark Bench",
	}
}

// buildContext copies testdata/build (with the bed's busybox) and the
// Dockerfiles the bench builds into dir.
func (b *bed) buildContext(root string) (string, error) {
	dir := filepath.Join(b.dir, "context")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	files := map[string]string{
		filepath.Join(root, "testdata", "build", "hello.txt"):        "hello.txt",
		filepath.Join(root, "testdata", "build", "ignored.txt"):      "ignored.txt",
		filepath.Join(root, "testdata", "build", ".dockerignore"):    ".dockerignore",
		filepath.Join(root, "Dockerfile.test"):                       "Dockerfile.test",
		filepath.Join(root, "testdata", "bench", "Dockerfile.copy"):  "Dockerfile.copy",
		filepath.Join(root, "testdata", "bench", "Dockerfile.pool"):  "Dockerfile.pool",
		filepath.Join(root, "testdata", "bench", "Dockerfile.cache"): "Dockerfile.cache",
		b.busybox: "busybox",
	}
	for from, to := range files {
		if err := copyFile(from, filepath.Join(dir, to)); err != nil {
			return "", err
		}
	}
	return dir, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

// guard is a proxy that answers no one: it counts the connections, which
// are attempts to reach a host other than 127.0.0.1, and closes them.
type guard struct {
	addr     string
	attempts atomic.Int64
}

func startGuard() (*guard, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &guard{addr: l.Addr().String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			g.attempts.Add(1)
			c.Close()
		}
	}()
	return g, nil
}

// proxiedSigningConfig writes the instance's signing config with Rekor's
// URL replaced by logURL (the counting proxy) and returns its path.
func (b *bed) proxiedSigningConfig(logURL string) (string, error) {
	raw, err := os.ReadFile(b.signingConfig)
	if err != nil {
		return "", err
	}
	quoted := `"` + strings.TrimRight(b.rekor, "/") + `"`
	if !strings.Contains(string(raw), quoted) {
		return "", fmt.Errorf("%s does not name the bed's Rekor %s", b.signingConfig, b.rekor)
	}
	out := filepath.Join(b.dir, "signing_config.json")
	return out, os.WriteFile(out, []byte(strings.ReplaceAll(string(raw), quoted, `"`+logURL+`"`)), 0o644)
}
