package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	controlapi "github.com/moby/buildkit/api/services/control"
	bkclient "github.com/moby/buildkit/client"

	"github.com/hallmark-dev/hallmark/internal/e2etest"
)

// rootlessUser is the bed's unprivileged user and what it needs to run
// hallmark against its rootless buildkitd.
type rootlessUser struct {
	u          *user.User
	uid, gid   uint32
	runtimeDir string // its XDG_RUNTIME_DIR, holding buildkit/buildkitd.sock
	socket     string // unix://... of the rootless buildkitd
}

// rootless returns the bed's rootless buildkitd user (hack/testbed.sh's
// buildkitd-rootless service).
func (b testbed) rootless(t *testing.T) rootlessUser {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("running hallmark as the rootless user needs root")
	}
	u, err := user.Lookup(b.Getenv("HALLMARK_TEST_ROOTLESS_USER"))
	if err != nil {
		t.Fatal(err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if uid == 0 {
		t.Fatalf("HALLMARK_TEST_ROOTLESS_USER %s is root", u.Username)
	}
	return rootlessUser{u: u, uid: uint32(uid), gid: uint32(gid),
		runtimeDir: b.Getenv("HALLMARK_TEST_ROOTLESS_RUNTIME_DIR"), socket: b.Getenv("HALLMARK_TEST_BUILDKIT_ROOTLESS")}
}

// readableByOthers makes dir and its parents up to the temp dir readable
// and searchable by every user (t.TempDir's first level is 0700).
func readableByOthers(t *testing.T, dir string) {
	t.Helper()
	tmp := filepath.Clean(os.TempDir())
	if !strings.HasPrefix(dir, tmp+string(filepath.Separator)) {
		t.Fatalf("%s is not under %s", dir, tmp)
	}
	for d := dir; d != tmp; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, st.Mode().Perm()|0o005); err != nil {
			t.Fatal(err)
		}
	}
}

// userBinary returns a copy of the hallmark binary the rootless user can run
// (the harness builds it into a 0700 directory).
func userBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	readableByOthers(t, dir)
	bin := filepath.Join(dir, "hallmark")
	if err := os.Link(hallmarkBin, bin); err != nil {
		e2etest.CopyFile(t, hallmarkBin, bin)
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// run runs bin as the rootless user with only its own basic environment,
// XDG_RUNTIME_DIR = runtimeDir, and extra: no BUILDKIT_HOST, no --addr
// unless args give one.
func (r rootlessUser) run(t *testing.T, bin, runtimeDir string, extra []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = r.u.HomeDir
	cmd.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + r.u.HomeDir, "USER=" + r.u.Username,
		"LOGNAME=" + r.u.Username, "XDG_RUNTIME_DIR=" + runtimeDir}, extra...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: r.uid, Gid: r.gid}}
	return runCmd(t, cmd)
}

// TestRootlessRelease runs the tutorial's keyless job as an unprivileged
// user whose only buildkitd is the bed's rootless one: hallmark gets no
// --addr and no BUILDKIT_HOST and must find the daemon at
// $XDG_RUNTIME_DIR/buildkit/buildkitd.sock. A build argument unique to the
// run shows up in the rootless daemon's build history and in the image.
func TestRootlessRelease(t *testing.T) {
	b := bed(t)
	ru := b.rootless(t)
	sign, trust := defaultPathSign(t, b, "bundle")
	readableByOthers(t, filepath.Dir(flagValue(t, trust, "--trusted-root"))) // the trusted root copy, read by the rootless user
	reg := b.PlainRegistry()
	bin := userBinary(t)
	ctxDir, df := buildContext(t, b)
	readableByOthers(t, ctxDir)
	env, tok := keylessGitLabEnv(t, b, reg, nil)
	greeting := fmt.Sprintf("rootless-%d", time.Now().UnixNano())

	start := time.Now()
	args := append([]string{"release", "--insecure-registry", reg, "--context", ctxDir, "-f", df, "--progress", "plain",
		"--build-arg", "GREETING=" + greeting}, sign...)
	r := ru.run(t, bin, ru.runtimeDir, envList(env), args...)
	mustSucceed(t, r)
	t.Logf("hallmark release as %s against %s: %s", ru.u.Username, ru.socket, time.Since(start).Round(time.Millisecond))
	if containsAny(r.Stdout+r.Stderr, tok) != "" {
		t.Fatal("the OIDC token appears in the output")
	}

	rel := parseRelease(t, r)
	repo := env["CI_REGISTRY_IMAGE"]
	if rel.Image != repo+"@"+rel.Digest || !slices.Equal(rel.Tags, []string{repo + ":" + env["CI_COMMIT_SHORT_SHA"]}) {
		t.Errorf("image %s tags %v, want %s@DIGEST and [%s:%s]", rel.Image, rel.Tags, repo, repo, env["CI_COMMIT_SHORT_SHA"])
	}
	// The provenance by default: the index, the platform manifest and
	// the attestation manifest are signed.
	if len(rel.Provenance) != 1 || !slices.Equal(rel.signedDigests(), rel.wantSigned(false)) {
		t.Fatalf("signed %v with %d provenances, want %v", rel.signedDigests(), len(rel.Provenance), rel.wantSigned(false))
	}
	for _, s := range rel.Signatures {
		if !slices.Equal(s.Formats, []string{"bundle"}) {
			t.Errorf("signature of %s in formats %v, want a bundle", s.Digest, s.Formats)
		}
	}
	identity := env["CI_PROJECT_URL"] + "//.gitlab-ci.yml@refs/heads/main"
	if rel.Verified.Identity != identity || rel.Verified.Issuer != b.Issuer() {
		t.Errorf("verified %+v, want identity %s issuer %s", rel.Verified, identity, b.Issuer())
	}

	// The rootless daemon did the build: its history has this run's
	// build argument, and the pushed image carries it.
	if !buildHistoryHas(t, ru.socket, "build-arg:GREETING", greeting) {
		t.Errorf("the rootless buildkitd's build history has no build with GREETING=%s", greeting)
	}
	ref, err := name.NewDigest(rel.Image, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
	if cfg := imageConfig(t, img); !slices.Contains(cfg.Config.Env, "GREETING="+greeting) {
		t.Errorf("image env %q lacks GREETING=%s", cfg.Config.Env, greeting)
	}
	if got := string(imageEntries(t, img)["greeting"].content); !strings.HasPrefix(got, greeting+" from ") {
		t.Errorf("/greeting = %q, want it to start with %q (the RUN step ran on the rootless daemon)", got, greeting+" from ")
	}

	verify := append([]string{"verify", "--insecure-registry", reg, "--annotations", "tag=" + env["CI_COMMIT_SHORT_SHA"],
		"--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer()}, trust...)
	mustSucceed(t, hallmark(t, nil, append(verify, rel.Image)...))
}

// buildHistoryHas reports whether buildkitd at addr recorded a build whose
// frontend attribute key had value.
func buildHistoryHas(t *testing.T, addr, key, value string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, err := bkclient.New(ctx, addr)
	if err != nil {
		t.Fatalf("connecting to %s: %v", addr, err)
	}
	defer c.Close()
	stream, err := c.ControlClient().ListenBuildHistory(ctx, &controlapi.BuildHistoryRequest{EarlyExit: true})
	if err != nil {
		t.Fatalf("reading the build history of %s: %v", addr, err)
	}
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return false
		}
		if err != nil {
			t.Fatalf("reading the build history of %s: %v", addr, err)
		}
		if ev.Record != nil && ev.Record.FrontendAttrs[key] == value {
			return true
		}
	}
}

// TestRootlessNoDaemon: without --addr or BUILDKIT_HOST, with an empty
// XDG_RUNTIME_DIR and no system socket, hallmark build fails at the build
// stage with one line naming both addresses it looked at.
func TestRootlessNoDaemon(t *testing.T) {
	b := bed(t)
	ru := b.rootless(t)
	if _, err := os.Stat("/run/buildkit/buildkitd.sock"); err == nil {
		t.Skip("a system buildkitd socket exists at /run/buildkit/buildkitd.sock")
	}
	bin := userBinary(t)
	ctxDir, df := buildContext(t, b)
	readableByOthers(t, ctxDir)
	empty := t.TempDir()
	if err := os.Chown(empty, int(ru.uid), int(ru.gid)); err != nil {
		t.Fatal(err)
	}
	readableByOthers(t, empty)
	r := ru.run(t, bin, empty, nil, "build", "--insecure-registry", b.PlainRegistry(), "-f", df,
		"--tag", uniqueRepo(t, b.PlainRegistry())+":1", ctxDir)
	assertOneLineError(t, r, exitBuild, "no buildkitd found",
		"unix://"+filepath.Join(empty, "buildkit", "buildkitd.sock"), "unix:///run/buildkit/buildkitd.sock", "BUILDKIT_HOST")
}
