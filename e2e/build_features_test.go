package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
			if strings.Contains(r.stdout+r.stderr, secret) {
				t.Error("the build secret appears in hallmark's output")
			}
			ref, err := name.NewDigest(strings.TrimSpace(r.stdout), name.Insecure)
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
			if !strings.Contains(r.stderr, "importing cache manifest from local:") {
				t.Errorf("--cache-from type=local: no cache import in the build's progress:\n%s", r.stderr)
			}
		})
	}
}
