package cli

import (
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestSignSeveralDigests signs several digests in one invocation: stdout
// lists them in the order given, each verifies, and one that cannot be
// signed fails the command (exit 4) without stopping the others.
func TestSignSeveralDigests(t *testing.T) {
	noCI(t)
	reg := signertest.NewRegistry(t, true)
	kp := signertest.Keys(t, "many")
	t.Setenv("COSIGN_PASSWORD", string(kp.Password))
	var images []string
	for range 12 {
		images = append(images, reg.Image(t, "app").String())
	}
	sign := []string{"sign", "--key", kp.Private, "--tlog-upload=false", "--no-ci-annotations", "-a", "tag=v1",
		"--registry-referrers-mode", "oci-1-1", "--insecure-registry", reg.Host}
	code, out, errOut := run(t, append(sign, images...)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if got := strings.Fields(out); strings.Join(got, " ") != strings.Join(images, " ") {
		t.Fatalf("stdout\n%s\nwant the digests in argument order\n%s", out, strings.Join(images, "\n"))
	}
	if n := strings.Count(errOut, "hallmark: signed "); n != len(images) {
		t.Fatalf("%d summaries on stderr, want %d:\n%s", n, len(images), errOut)
	}
	for _, img := range images {
		if code, _, errOut := run(t, "verify", "--key", kp.Public, "--insecure-ignore-tlog", "-a", "tag=v1", "--insecure-registry", reg.Host, img); code != 0 {
			t.Fatalf("verify %s: exit %d, %s", img, code, errOut)
		}
	}

	// A digest that is not in the registry: the referrer has no subject.
	missing := reg.Host + "/app@sha256:" + strings.Repeat("ab", 32)
	fresh := []string{reg.Image(t, "app").String(), missing, reg.Image(t, "app").String()}
	code, out, errOut = run(t, append(sign, fresh...)...)
	if code != exitSign || !strings.Contains(errOut, "1 of 3 images not signed") || !strings.Contains(errOut, "not signed: "+missing) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if got := strings.Fields(out); len(got) != 2 || got[0] != fresh[0] || got[1] != fresh[2] {
		t.Fatalf("stdout %q, want the two signed digests in order", out)
	}
}

// TestSignTag: a tag is resolved once, with a warning, and its digest
// signed; a digest the registry does not have is refused.
func TestSignTag(t *testing.T) {
	noCI(t)
	reg := signertest.NewRegistry(t, false)
	kp := signertest.Keys(t, "tag")
	t.Setenv("COSIGN_PASSWORD", string(kp.Password))
	d := reg.Image(t, "app") // pushed as app:latest
	sign := []string{"sign", "--key", kp.Private, "--tlog-upload=false", "--no-ci-annotations",
		"--registry-referrers-mode", "both", "--insecure-registry", reg.Host}
	code, out, errOut := run(t, append(sign, reg.Host+"/app:latest")...)
	if code != 0 || strings.TrimSpace(out) != d.String() || !strings.Contains(errOut, "signing a tag") {
		t.Fatalf("exit %d, stdout %q (want %s), stderr %q", code, out, d, errOut)
	}
	missing := reg.Host + "/app@sha256:" + strings.Repeat("cd", 32)
	code, _, errOut = run(t, append(sign, missing)...)
	if code != exitSign || !strings.Contains(errOut, "no image "+missing+" in the registry") {
		t.Fatalf("missing digest: exit %d, stderr %q", code, errOut)
	}
}
