package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/internal/e2etest"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestCosignLinesRun runs cosign users' sign and verify lines unchanged
// (issue 16 item 1): the registry is reached over plain HTTP through
// cosign's --allow-http-registry / --allow-insecure-registry alone (no
// --insecure-registry), --output-file gets what stdout would carry, the
// no-ops say so with --debug, and the outputs match docs/schema.
func TestCosignLinesRun(t *testing.T) {
	noCI(t)
	reg := signertest.NewRegistry(t, false)
	kp := signertest.Keys(t, "cosign-lines")
	t.Setenv("COSIGN_PASSWORD", string(kp.Password))
	d := reg.Image(t, "app").String()
	dir := t.TempDir()

	// Without cosign's flag (nor --insecure-registry) plain HTTP is refused:
	// the flag is what makes the line work.
	code, _, errOut := run(t, "sign", "--key", kp.Private, "--tlog-upload=false", "-y", d)
	if code == 0 || !strings.Contains(errOut, "plain HTTP") {
		t.Fatalf("without --allow-http-registry: exit %d, stderr %q; want plain HTTP refused", code, errOut)
	}

	sigFile := filepath.Join(dir, "sign.out")
	code, out, errOut := run(t, "--debug", "sign", "--yes", "--allow-http-registry", "--key", kp.Private, "--tlog-upload=false",
		"--no-ci-annotations", "-a", "tag=v1", "--output-file", sigFile, d)
	if code != 0 || out != "" {
		t.Fatalf("sign: exit %d, stdout %q (want empty: --output-file), stderr %q", code, out, errOut)
	}
	if b, err := os.ReadFile(sigFile); err != nil || strings.TrimSpace(string(b)) != d {
		t.Fatalf("--output-file holds %q (%v), want %s", b, err, d)
	}
	if !strings.Contains(errOut, "--yes is a no-op") {
		t.Errorf("--debug does not say --yes is a no-op: %q", errOut)
	}

	verFile := filepath.Join(dir, "verify.json")
	code, out, errOut = run(t, "--debug", "verify", "--allow-insecure-registry", "--key", kp.Public, "--insecure-ignore-tlog",
		"--experimental-oci11", "--use-signed-timestamps", "--offline", "-o", "json", "--output-file", verFile, "-a", "tag=v1", d)
	if code != 0 || out != "" {
		t.Fatalf("verify: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, w := range []string{"--experimental-oci11 is a no-op", "--use-signed-timestamps is a no-op", "--offline", "TLS certificate not verified"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("--debug does not mention %q: %q", w, errOut)
		}
	}
	b, err := os.ReadFile(verFile)
	if err != nil {
		t.Fatal(err)
	}
	e2etest.CheckSchema(t, "verify.schema.json", b)

	code, out, _ = run(t, "annotations", "-a", "team=core", "--tag", "v1")
	if code != 0 {
		t.Fatalf("annotations: exit %d", code)
	}
	e2etest.CheckSchema(t, "annotations.schema.json", []byte(out))
}

// TestCosignFlagsMeaning checks the cosign flags whose meaning hallmark
// honours, and the clear errors where it cannot.
func TestCosignFlagsMeaning(t *testing.T) {
	noCI(t)
	kp := signertest.Keys(t, "cosign-meaning")
	t.Setenv("COSIGN_PASSWORD", string(kp.Password))

	t.Run("recursive", func(t *testing.T) {
		reg := signertest.NewRegistry(t, true)
		idx, children := reg.Index(t, "multi", 2)
		code, out, errOut := run(t, "sign", "-r", "--allow-http-registry", "--key", kp.Private, "--tlog-upload=false", idx.String())
		want := []string{idx.String(), children[0].String(), children[1].String()}
		if code != 0 || strings.Join(strings.Fields(out), " ") != strings.Join(want, " ") {
			t.Fatalf("exit %d, stdout %q, want %v; stderr %q", code, out, want, errOut)
		}
		for _, c := range children {
			code, _, errOut := run(t, "verify", "--allow-http-registry", "--key", kp.Public, "--insecure-ignore-tlog", c.String())
			if code != 0 {
				t.Errorf("platform manifest %s not signed: exit %d, %s", c, code, errOut)
			}
		}
	})

	t.Run("experimental-oci11 stores a referrer, not the .sig tag", func(t *testing.T) {
		reg := signertest.NewRegistry(t, false)
		d := reg.Image(t, "app")
		code, _, errOut := run(t, "sign", "--experimental-oci11", "--new-bundle-format=false", "--allow-http-registry", "--key", kp.Private,
			"--tlog-upload=false", d.String())
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		tags, err := remote.List(d.Context(), reg.Options...)
		if err != nil {
			t.Fatal(err)
		}
		fallback := "sha256-" + d.DigestStr()[len("sha256:"):]
		if !strings.Contains(strings.Join(tags, " "), fallback) || strings.Contains(strings.Join(tags, " "), ".sig") {
			t.Fatalf("tags %v: want the referrers fallback %s and no .sig tag", tags, fallback)
		}
	})

	reg := signertest.NewRegistry(t, false)
	ss := signertest.NewSigstore(t)
	d := reg.Image(t, "app").String()
	t.Setenv("SIGSTORE_ID_TOKEN", ss.Token("g/p", "sigstore", time.Now().Add(time.Hour)))
	if code, _, errOut := run(t, "sign", "--fulcio-url", ss.FulcioURL, "--insecure-skip-verify", "--tlog-upload=false",
		"--timestamp-server-url", ss.TSAURL, "--allow-http-registry", "-y", d); code != 0 {
		t.Fatalf("keyless sign: exit %d: %s", code, errOut)
	}
	keyless := []string{"--certificate-identity", ss.Identity("g/p"), "--certificate-oidc-issuer", ss.Issuer, "--ca-roots", ss.CARoots,
		"--ca-intermediates", ss.CAIntermediates, "--timestamp-certificate-chain", ss.TSAChain, "--insecure-ignore-tlog",
		"--insecure-ignore-sct", "--allow-http-registry"}
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"keyless passes", keyless, 0, "verified"},
		{"github workflow repository", append([]string{"--certificate-github-workflow-repository", "octo/app"}, keyless...), exitVerify,
			`github-workflow repository: want "octo/app", got ""`},
		{"github workflow with a key", []string{"--key", kp.Public, "--certificate-github-workflow-ref", "refs/heads/main", "--allow-http-registry"},
			exitUsage, "exclusive"},
		{"output text", append([]string{"--output", "text"}, keyless...), exitUsage, "--output text: hallmark verify prints JSON only"},
		{"offline with rekor", append([]string{"--offline", "--rekor-url", "https://rekor.example"}, keyless...), exitUsage, "--offline and --rekor-url"},
		{"unknown flag", []string{"--nope"}, exitUsage, "flag provided but not defined: --nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := run(t, append(append([]string{"verify"}, tc.args...), d)...)
			if code != tc.code || !strings.Contains(errOut, tc.contains) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tc.code, errOut, tc.contains)
			}
		})
	}
}
