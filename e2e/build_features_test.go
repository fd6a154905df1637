package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// secretDockerfile builds a stage that reads a build secret and keeps only
// its hash, and an unrelated stage --target must skip.
const secretDockerfile = `FROM scratch AS base
COPY busybox /bin/busybox

FROM base AS secret
RUN --mount=type=secret,id=token,target=/run/secrets/token ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /out && /bin/busybox sha256sum /run/secrets/token | /bin/busybox cut -c1-64 > /out/token.sha256"]

FROM base AS never
RUN ["/bin/busybox", "sh", "-c", "exit 1"]
`

// TestBuildSecretsTargetAndCache builds with a secret from an environment
// variable and from a file, a --target that skips a failing stage, and a
// local cache export imported by a second build; the secret reaches the
// RUN step but not the image.
func TestBuildSecretsTargetAndCache(t *testing.T) {
	b := bed(t)
	t.Parallel()
	ctxDir, _ := buildContext(t, b)
	df := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(df, []byte(secretDockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	const secret = "build-secret-value-8d1f"
	secretFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(secretFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(secret))
	for _, src := range []string{"id=token,env=HALLMARK_E2E_SECRET", "id=token,src=" + secretFile} {
		t.Run(strings.SplitN(src, ",", 2)[1][:3], func(t *testing.T) {
			cacheDir := t.TempDir()
			repo := uniqueRepo(t, b.PlainRegistry())
			r := hallmark(t, []string{"HALLMARK_E2E_SECRET=" + secret}, buildArgs(b, df, ctxDir, "--addr", b.BuildkitUnix(),
				"--tag", repo+":s", "--target", "secret", "--secret", src, "--no-cache",
				"--cache-to", "type=local,dest="+cacheDir)...)
			mustSucceed(t, r)
			if strings.Contains(r.Stdout+r.Stderr, secret) {
				t.Error("the build secret appears in hallmark's output")
			}
			ref, err := name.NewDigest(strings.TrimSpace(r.Stdout), name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			img, err := remote.Image(ref)
			if err != nil {
				t.Fatal(err)
			}
			files := imageFiles(t, img)
			if got := strings.TrimSpace(files["out/token.sha256"]); got != hex.EncodeToString(sum[:]) {
				t.Errorf("secret hash in the image %q, want %x", got, sum)
			}
			for path, content := range files {
				if strings.Contains(content, secret) {
					t.Errorf("the secret's value is in the image at %s", path)
				}
			}
			if _, err := os.Stat(filepath.Join(cacheDir, "index.json")); err != nil {
				t.Fatalf("--cache-to type=local wrote no cache: %v", err)
			}
			r = hallmark(t, []string{"HALLMARK_E2E_SECRET=" + secret}, buildArgs(b, df, ctxDir, "--addr", b.BuildkitUnix(),
				"--tag", repo+":s2", "--target", "secret", "--secret", src, "--cache-from", "type=local,src="+cacheDir)...)
			mustSucceed(t, r)
			if !strings.Contains(r.Stderr, "importing cache manifest from local:") {
				t.Errorf("--cache-from type=local: no cache import in the build's progress:\n%s", r.Stderr)
			}
		})
	}
}

// TestBuildRegistryCache exports the build cache to the registry from one
// buildkitd (--cache-to type=registry) and imports it into the other, the
// rootless one, which has never run the build (--cache-from
// type=registry): the RUN step, made unique to this run, comes from the
// imported cache instead of running.
func TestBuildRegistryCache(t *testing.T) {
	b := bed(t)
	t.Parallel()
	ctxDir, _ := buildContext(t, b)
	nonce := fmt.Sprintf("registry-cache-%d", time.Now().UnixNano())
	df := filepath.Join(t.TempDir(), "Dockerfile")
	dockerfile := "FROM scratch\nCOPY busybox /bin/busybox\n" +
		`RUN ["/bin/busybox", "sh", "-c", "echo ` + nonce + ` > /nonce"]` + "\n"
	if err := os.WriteFile(df, []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := uniqueRepo(t, b.PlainRegistry())
	cache := repo + "-cache:main"
	r := hallmark(t, nil, buildArgs(b, df, ctxDir, "--addr", b.BuildkitUnix(), "--tag", repo+":a",
		"--cache-to", "type=registry,ref="+cache+",mode=max")...)
	mustSucceed(t, r)
	if runStep(r.Stderr, nonce) == "" {
		t.Fatalf("the first build shows no RUN step for %s:\n%s", nonce, r.Stderr)
	}
	if cached(r.Stderr, runStep(r.Stderr, nonce)) {
		t.Fatalf("the first build found the unique RUN step cached:\n%s", r.Stderr)
	}
	cacheRef, err := name.ParseReference(cache, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remoteHead(cacheRef); err != nil {
		t.Fatalf("--cache-to type=registry: no cache manifest at %s: %v", cache, err)
	}

	r = hallmark(t, nil, buildArgs(b, df, ctxDir, "--addr", b.Getenv("HALLMARK_TEST_BUILDKIT_ROOTLESS"), "--tag", repo+":b",
		"--cache-from", "type=registry,ref="+cache)...)
	mustSucceed(t, r)
	if step := runStep(r.Stderr, nonce); step == "" || !cached(r.Stderr, step) {
		t.Errorf("--cache-from type=registry on the other buildkitd: the RUN step was not taken from the cache:\n%s", r.Stderr)
	}
}

// runStep returns the progress vertex ("#7") of the RUN step that
// mentions marker in plain progress output, or "".
func runStep(progress, marker string) string {
	for _, line := range strings.Split(progress, "\n") {
		if strings.Contains(line, "RUN") && strings.Contains(line, marker) {
			if v, _, ok := strings.Cut(line, " "); ok && strings.HasPrefix(v, "#") {
				return v
			}
		}
	}
	return ""
}

// cached reports whether plain progress output says vertex was cached.
func cached(progress, vertex string) bool {
	return strings.Contains(progress, "\n"+vertex+" CACHED")
}
