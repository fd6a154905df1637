package verifier_test

// Interop tests on the test bed for cosign v3's format: digests signed by
// cosign v3.1.3 (its default Sigstore bundle, and --new-bundle-format=false)
// and by cosign 2.6.5 (legacy, oci-1-1, --new-bundle-format), keyed and
// keyless, on the registry with and the one without the referrers API,
// verified by hallmark; and `cosign attest` v3, which must not count as a
// signature. They skip without the bed unless CI=true.

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark/signer/signertest"
	"github.com/hallmark-dev/hallmark/verifier"
)

// requireCosign3 returns the cosign v3 CLI named by HALLMARK_TEST_COSIGN3;
// without it the test skips, or under CI fails.
func requireCosign3(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("HALLMARK_TEST_COSIGN3")
	why := "HALLMARK_TEST_COSIGN3 is unset"
	if bin != "" {
		_, err := os.Stat(bin)
		if err == nil {
			return bin
		}
		why = "cosign v3 CLI: " + err.Error()
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("test bed required under CI: %s", why)
	}
	t.Skip(why)
	return ""
}

// cosignSigner is one way the cosign CLI signs an image.
type cosignSigner struct {
	name   string
	v3     bool     // cosign v3.1.3, else the bed's 2.6.5
	flags  []string // format flags
	format verifier.Format
	// referrer: stored as a referrer (else in the legacy tag); annotations:
	// the -a annotations are signed (cosign 2.6.5's bundle drops them).
	referrer, annotations bool
}

var cosignSigners = []cosignSigner{
	{"cosign3/default", true, nil, verifier.FormatBundle, true, true},
	{"cosign3/new-bundle-format=false", true, []string{"--new-bundle-format=false"}, verifier.FormatSimpleSigning, false, true},
	{"cosign2/legacy", false, nil, verifier.FormatSimpleSigning, false, true},
	{"cosign2/oci-1-1", false, []string{"--registry-referrers-mode", "oci-1-1"}, verifier.FormatSimpleSigning, true, true},
	{"cosign2/new-bundle-format", false, []string{"--new-bundle-format"}, verifier.FormatBundle, true, false},
}

// cosignSign signs d with the cosign CLI as s does, keyed with kp or
// keyless with a token for group/app, annotating tag=interop.
func cosignSign(t *testing.T, bed *signertest.Bed, bin string, s cosignSigner, kp *signertest.KeyPair, d name.Digest) {
	t.Helper()
	args := append([]string{"sign", "--tlog-upload=false", "-a", "tag=interop", "--yes"}, cosignRegistryFlags...)
	if s.v3 {
		args = append(args, "--use-signing-config=false")
	}
	args = append(args, s.flags...)
	material, env := cosignMaterial(t, bed, kp)
	if _, err := runCosign(t, bin, append(env, "COSIGN_EXPERIMENTAL=1"), append(append(args, material...), d.String())...); err != nil {
		t.Fatalf("cosign sign: %v", err)
	}
}

// cosignMaterial is the cosign CLI's signing material flags and
// environment: key kp, or keyless with a token for group/app at the bed's
// Fulcio and TSA.
func cosignMaterial(t *testing.T, bed *signertest.Bed, kp *signertest.KeyPair) (args, env []string) {
	t.Helper()
	if kp != nil {
		return []string{"--key", kp.Private}, []string{"COSIGN_PASSWORD=" + string(kp.Password)}
	}
	return []string{"--identity-token", bed.Token(t, url.Values{"project_path": {"group/app"}}),
		"--fulcio-url", bed.FulcioURL, "--insecure-skip-verify", "--timestamp-server-url", bed.TSAURL,
		"--trusted-root", bed.TrustedRoot}, nil
}

// bedVerify verifies d with the bed's trust: the key, or group/app's
// identity against the bed's trusted root, checking SCTs when the root
// lists a CT log. The bed signs without a transparency log.
func bedVerify(t *testing.T, bed *signertest.Bed, reg *signertest.Registry, d name.Digest, kp *signertest.KeyPair, ann map[string]string) (*verifier.Result, error) {
	t.Helper()
	return verifier.Verify(context.Background(), d, bedVerifyOptions(t, bed, reg, kp, ann))
}

// bedVerifyOptions are bedVerify's options.
func bedVerifyOptions(t *testing.T, bed *signertest.Bed, reg *signertest.Registry, kp *signertest.KeyPair, ann map[string]string) verifier.Options {
	t.Helper()
	p := verifier.Policy{Annotations: ann}
	tr := verifier.Trust{IgnoreTlog: true}
	if kp != nil {
		p.Key = kp.Public
	} else {
		p.Identity, p.Issuer = bed.Identity("group/app"), bed.Issuer
		tr.TrustedRoot = bed.TrustedRoot
		tm, err := root.NewTrustedRootFromPath(bed.TrustedRoot)
		if err != nil {
			t.Fatal(err)
		}
		tr.IgnoreSCT = len(tm.CTLogs()) == 0
	}
	return verifier.Options{RemoteOptions: reg.Options, Policy: p, Trust: tr}
}

// bedKeys returns the key pair of a keyed case, nil for keyless.
func bedKeys(t *testing.T, ic interopCase) *signertest.KeyPair {
	if ic.keyless {
		return nil
	}
	return signertest.Keys(t, "a")
}

// TestE2ECosignFormatsHallmarkVerify: each way the cosign CLI signs, on
// each registry, keyed and keyless, verified by hallmark with -a where the
// signer signed the annotations. Expected: every format verifies, in the
// layout the signer wrote it; a wrong -a fails naming the annotation; for
// cosign 2.6.5's bundle (no annotations signed) any -a fails so.
func TestE2ECosignFormatsHallmarkVerify(t *testing.T) {
	bed := signertest.RequireBed(t)
	bed.RequireCosign(t)
	for _, ic := range interopCases(bed) {
		for _, reg := range bed.Registries {
			for _, s := range cosignSigners {
				t.Run(ic.name+"/"+signertest.Name(reg.Referrers)+"/"+s.name, func(t *testing.T) {
					bin := bed.Cosign
					if s.v3 {
						bin = requireCosign3(t)
					}
					d := reg.Image(t, "hallmark-e2e/formats")
					kp := bedKeys(t, ic)
					cosignSign(t, bed, bin, s, kp, d)
					ann := map[string]string{"tag": "interop"}
					if !s.annotations {
						_, err := bedVerify(t, bed, reg, d, kp, ann)
						wantChecks(t, err, verifier.CheckAnnotation)
						ann = nil
					}
					res, err := bedVerify(t, bed, reg, d, kp, ann)
					if err != nil {
						t.Fatalf("hallmark rejects %s's signature: %v", s.name, err)
					}
					v := res.Verified[0]
					if len(res.Verified) != 1 || res.Checked() != 1 || v.Format != s.format || v.Layout != wantLayout(s, reg) {
						t.Fatalf("verified %d of %d: %s in %s; want one %s in %s", len(res.Verified), res.Checked(), v.Format, v.Layout, s.format, wantLayout(s, reg))
					}
					out, err := res.JSON()
					if err != nil {
						t.Fatal(err)
					}
					if v.Format == verifier.FormatBundle {
						t.Logf("verified a bundle in %s: %s", v.Layout, out)
					}
					if s.v3 && s.format == verifier.FormatBundle {
						sameAsCosign3(t, bed, bin, d, kp, ann, out)
					}
					_, err = bedVerify(t, bed, reg, d, kp, map[string]string{"tag": "other"})
					wantChecks(t, err, verifier.CheckAnnotation)
				})
			}
		}
	}
}

// sameAsCosign3 checks that `cosign verify` v3 prints the JSON hallmark
// does for a digest with one bundle signature.
func sameAsCosign3(t *testing.T, bed *signertest.Bed, bin string, d name.Digest, kp *signertest.KeyPair, ann map[string]string, hallmark []byte) {
	t.Helper()
	args := append([]string{"verify", "--insecure-ignore-tlog"}, cosignRegistryFlags...)
	if kp != nil {
		args = append(args, "--key", kp.Public)
	} else {
		args = append(args, "--certificate-identity", bed.Identity("group/app"), "--certificate-oidc-issuer", bed.Issuer,
			"--trusted-root", bed.TrustedRoot, "--insecure-ignore-sct", "--use-signed-timestamps")
	}
	for k, v := range ann {
		args = append(args, "-a", k+"="+v)
	}
	out, err := runCosign(t, bin, nil, append(args, d.String())...)
	if err != nil {
		t.Fatalf("cosign v3 verify: %v", err)
	}
	var want, got any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &want); err != nil {
		t.Fatalf("cosign v3 verify printed %q: %v", out, err)
	}
	gb, _ := json.Marshal(cosignJSON(t, hallmark))
	if err := json.Unmarshal(gb, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("JSON differs from cosign v3 verify's\nhallmark: %s\ncosign:   %s", hallmark, out)
	}
}

// wantLayout is where s's signature is found on reg.
func wantLayout(s cosignSigner, reg *signertest.Registry) verifier.Layout {
	switch {
	case !s.referrer:
		return verifier.LayoutLegacy
	case s.format == verifier.FormatBundle && reg.Referrers:
		return verifier.LayoutBundleReferrers
	case s.format == verifier.FormatBundle:
		return verifier.LayoutBundleFallback
	case reg.Referrers:
		return verifier.LayoutReferrers
	}
	return verifier.LayoutFallback
}

// TestE2ECosignAttestIsNotSignature: `cosign attest` v3 by the same
// identity on the same digest is a bundle of another predicate type, not
// a signature: alone it leaves the digest unsigned; beside a cosign v3
// signature it is not counted.
func TestE2ECosignAttestIsNotSignature(t *testing.T) {
	bed := signertest.RequireBed(t)
	v3 := requireCosign3(t)
	pred := filepath.Join(t.TempDir(), "provenance.json")
	if err := os.WriteFile(pred, []byte(`{"buildDefinition":{"buildType":"https://hallmark.dev/e2e"},"runDetails":{"builder":{"id":"e2e"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ic := range interopCases(bed) {
		for _, reg := range bed.Registries {
			t.Run(ic.name+"/"+signertest.Name(reg.Referrers), func(t *testing.T) {
				d := reg.Image(t, "hallmark-e2e/attest")
				kp := bedKeys(t, ic)
				args := append([]string{"attest", "--predicate", pred, "--type", "https://slsa.dev/provenance/v1", "--tlog-upload=false", "--use-signing-config=false", "--yes"}, cosignRegistryFlags...)
				material, env := cosignMaterial(t, bed, kp)
				if _, err := runCosign(t, v3, env, append(append(args, material...), d.String())...); err != nil {
					t.Fatalf("cosign attest: %v", err)
				}
				if _, err := bedVerify(t, bed, reg, d, kp, nil); !errors.Is(err, verifier.ErrNoSignatures) {
					t.Fatalf("an attestation alone: %v, want ErrNoSignatures", err)
				}
				cosignSign(t, bed, v3, cosignSigners[0], kp, d)
				res, err := bedVerify(t, bed, reg, d, kp, map[string]string{"tag": "interop"})
				if err != nil {
					t.Fatal(err)
				}
				if res.Checked() != 1 || len(res.Verified) != 1 || res.Verified[0].Format != verifier.FormatBundle {
					t.Fatalf("checked %d, verified %d; want the signature only", res.Checked(), len(res.Verified))
				}
			})
		}
	}
}

// requireBedEnv returns the variable; without it the test skips, or under
// CI fails.
func requireBedEnv(t *testing.T, key string) string {
	t.Helper()
	v := os.Getenv(key)
	if v == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("test bed required under CI: %s is unset", key)
		}
		t.Skip(key + " is unset (the bed's CT log and Rekor v2 are not up)")
	}
	return v
}

// TestE2ECosign3SigningConfig: cosign v3.1.3 signs with the bed's signing
// config — Fulcio with an SCT from the CT log, the TSA, an entry in Rekor
// v2 — and hallmark verifies the bundle against the matching trusted root
// with every check on: chain, SCT, timestamp, tlog inclusion proof.
func TestE2ECosign3SigningConfig(t *testing.T) {
	bed := signertest.RequireBed(t)
	v3 := requireCosign3(t)
	cfg := requireBedEnv(t, "HALLMARK_TEST_SIGNING_CONFIG")
	trustedRoot := requireBedEnv(t, "HALLMARK_TEST_SIGSTORE_TRUSTED_ROOT")
	for _, reg := range bed.Registries {
		t.Run(signertest.Name(reg.Referrers), func(t *testing.T) {
			d := reg.Image(t, "hallmark-e2e/rekor")
			args := append([]string{"sign", "--signing-config", cfg, "--trusted-root", trustedRoot, "-a", "tag=interop", "--yes",
				"--identity-token", bed.Token(t, url.Values{"project_path": {"group/app"}})}, cosignRegistryFlags...)
			if _, err := runCosign(t, v3, nil, append(args, d.String())...); err != nil {
				t.Fatalf("cosign sign: %v", err)
			}
			p := verifier.Policy{Identity: bed.Identity("group/app"), Issuer: bed.Issuer, Annotations: map[string]string{"tag": "interop"}}
			res, err := verifier.Verify(context.Background(), d, verifier.Options{
				RemoteOptions: reg.Options, Policy: p, Trust: verifier.Trust{TrustedRoot: trustedRoot},
			})
			if err != nil {
				t.Fatalf("hallmark rejects cosign v3's bundle with tlog and SCT checks: %v", err)
			}
			b := res.Verified[0].Bundle
			if res.Verified[0].Format != verifier.FormatBundle || b == nil || len(b.GetVerificationMaterial().GetTlogEntries()) == 0 {
				t.Fatalf("verified %+v; want a bundle with a tlog entry", res.Verified[0])
			}
			t.Logf("verified a bundle with %d tlog entries (kind %s)", len(b.GetVerificationMaterial().GetTlogEntries()),
				b.GetVerificationMaterial().GetTlogEntries()[0].GetKindVersion())
			// The checks are made: against the bed's other trusted root,
			// which lists neither the log nor the CT log, each fails until
			// skipped explicitly.
			for _, tc := range []struct {
				trust verifier.Trust
				want  verifier.Check
			}{
				{verifier.Trust{TrustedRoot: bed.TrustedRoot}, verifier.CheckTlog},
				{verifier.Trust{TrustedRoot: bed.TrustedRoot, IgnoreTlog: true}, verifier.CheckSCT},
				{verifier.Trust{TrustedRoot: bed.TrustedRoot, IgnoreTlog: true, IgnoreSCT: true}, ""},
			} {
				_, err := verifier.Verify(context.Background(), d, verifier.Options{RemoteOptions: reg.Options, Policy: p, Trust: tc.trust})
				if tc.want == "" {
					if err != nil {
						t.Fatalf("with %+v: %v", tc.trust, err)
					}
					continue
				}
				wantChecks(t, err, tc.want)
			}
		})
	}
}
