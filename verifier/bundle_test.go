package verifier_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
	"github.com/hallmark-dev/hallmark/verifier"
)

// bundleLayout is where a bundle referrer is found on each registry.
func bundleLayout(referrers bool) verifier.Layout {
	if referrers {
		return verifier.LayoutBundleReferrers
	}
	return verifier.LayoutBundleFallback
}

func verifyBundle(t *testing.T, reg *signertest.Registry, d name.Digest, p verifier.Policy, tr verifier.Trust) (*verifier.Result, error) {
	t.Helper()
	return verifier.Verify(context.Background(), d, verifier.Options{RemoteOptions: reg.Options, Policy: p, Trust: tr})
}

// wantChecks checks err is a NoMatchError whose failures are exactly want,
// and that each names its check in the message.
func wantChecks(t *testing.T, err error, want ...verifier.Check) {
	t.Helper()
	got := failed(t, err)
	if len(got) != len(want) {
		t.Fatalf("failed checks %v, want %v (%v)", got, want, err)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("failed checks %v, want %v (%v)", got, want, err)
		}
	}
}

// TestVerifyBundle stores a keyless bundle signature as cosign v3 does on
// registries with and without the referrers API, and verifies it against
// policies that accept and that reject it.
func TestVerifyBundle(t *testing.T) {
	ann := map[string]string{"tag": "v1", "com.gitlab.ci.pipeline.id": "42"}
	for _, referrers := range []bool{true, false} {
		t.Run(signertest.Name(referrers), func(t *testing.T) {
			reg, ss := signertest.NewRegistry(t, referrers), signertest.NewSigstore(t)
			d := reg.Image(t, "app")
			storeBundle(t, reg, d, signImage(t, d, ann, bundleOpts{ss: ss, project: "g/p", tsa: true}), layout.PredicateTypeSign)
			id := ss.Identity("g/p")
			for _, tc := range []struct {
				name string
				p    verifier.Policy
				want verifier.Check // "" passes
				says []string       // in the error
			}{
				{"identity, issuer and annotations", verifier.Policy{Identity: id, Issuer: ss.Issuer, Annotations: ann}, "", nil},
				{"regexps", verifier.Policy{IdentityRegexp: `^https://gitlab\.example\.com/g/.*@refs/heads/main$`, IssuerRegexp: `gitlab\.example\.com`}, "", nil},
				{"wrong annotation", verifier.Policy{Identity: id, Issuer: ss.Issuer, Annotations: map[string]string{"tag": "v2"}}, verifier.CheckAnnotation, []string{"tag", `"v2"`, `"v1"`}},
				{"missing annotation", verifier.Policy{Identity: id, Issuer: ss.Issuer, Annotations: map[string]string{"other": "x"}}, verifier.CheckAnnotation, []string{"other", "missing"}},
				{"another identity", verifier.Policy{Identity: ss.Identity("g/other"), Issuer: ss.Issuer}, verifier.CheckIdentity, []string{"g/other"}},
				{"another issuer", verifier.Policy{Identity: id, Issuer: "https://gitlab.com"}, verifier.CheckIssuer, []string{"https://gitlab.com"}},
				{"a key", verifier.Policy{Key: signertest.Keys(t, "a").Public}, verifier.CheckKey, nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					res, err := verifyBundle(t, reg, d, tc.p, keylessTrust(ss, true))
					if tc.want != "" {
						wantChecks(t, err, tc.want)
						for _, s := range tc.says {
							if !strings.Contains(err.Error(), s) {
								t.Errorf("error %q does not say %s", err, s)
							}
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					v := res.Verified[0]
					if len(res.Verified) != 1 || v.Format != verifier.FormatBundle || v.Layout != bundleLayout(referrers) || v.Statement == nil {
						t.Fatalf("verified %+v", res.Verified)
					}
					checkBundleJSON(t, res, d, ann)
				})
			}
		})
	}
}

// checkBundleJSON checks Result.JSON renders a bundle as cosign v3 does.
func checkBundleJSON(t *testing.T, res *verifier.Result, d name.Digest, ann map[string]string) {
	t.Helper()
	b, err := res.JSON()
	if err != nil {
		t.Fatal(err)
	}
	out := cosignJSON(t, b)
	want := map[string]any{
		"critical": map[string]any{
			"identity": map[string]any{"docker-reference": d.Name()},
			"image":    map[string]any{"docker-manifest-digest": d.DigestStr()},
			"type":     layout.PredicateTypeSign,
		},
		"optional": map[string]any{},
	}
	for k, v := range ann {
		want["optional"].(map[string]any)[k] = v
	}
	wb, _ := json.Marshal([]any{want})
	gb, _ := json.Marshal(out)
	if string(wb) != string(gb) {
		t.Fatalf("JSON\n got %s\nwant %s", gb, wb)
	}
	t.Logf("JSON: %s", b)
}

// TestVerifyBundleRejects stores bundles that must not verify, each on its
// own image, and checks each names the failed check.
func TestVerifyBundleRejects(t *testing.T) {
	reg, ss, other := signertest.NewRegistry(t, false), signertest.NewSigstore(t), signertest.NewSigstore(t)
	ann := map[string]string{"tag": "v1"}
	good := bundleOpts{ss: ss, project: "g/p", tsa: true}
	policy := verifier.Policy{Identity: ss.Identity("g/p"), Issuer: ss.Issuer, Annotations: ann}
	for _, tc := range []struct {
		name   string
		store  func(t *testing.T, d name.Digest)
		policy verifier.Policy
		want   verifier.Check
	}{
		{"subject digest of another image", func(t *testing.T, d name.Digest) {
			storeBundle(t, reg, d, signImage(t, reg.Image(t, "app"), ann, good), layout.PredicateTypeSign)
		}, policy, verifier.CheckDigest},
		{"annotations edited after signing", func(t *testing.T, d name.Digest) {
			b := signImage(t, d, map[string]string{"tag": "v0"}, good)
			forged, err := layout.SignStatement{Digest: mustHash(t, d), Annotations: ann}.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			b.GetDsseEnvelope().Payload = forged
			storeBundle(t, reg, d, b, layout.PredicateTypeSign)
		}, policy, verifier.CheckSignature},
		{"signature bytes tampered", func(t *testing.T, d name.Digest) {
			// No timestamp: the TSA's would fail first, as it signs the signature.
			b := signImage(t, d, ann, bundleOpts{ss: ss, project: "g/p"})
			b.GetDsseEnvelope().GetSignatures()[0].Sig[10] ^= 0xff
			storeBundle(t, reg, d, b, layout.PredicateTypeSign)
		}, policy, verifier.CheckSignature},
		{"certificate from another CA", func(t *testing.T, d name.Digest) {
			storeBundle(t, reg, d, signImage(t, d, ann, bundleOpts{ss: other, project: "g/p"}), layout.PredicateTypeSign)
		}, policy, verifier.CheckCertificate},
		{"timestamp from another TSA", func(t *testing.T, d name.Digest) {
			b := signImage(t, d, ann, good)
			o := signImage(t, d, ann, bundleOpts{ss: other, project: "g/p", tsa: true})
			b.VerificationMaterial.TimestampVerificationData = o.VerificationMaterial.TimestampVerificationData
			storeBundle(t, reg, d, b, layout.PredicateTypeSign)
		}, policy, verifier.CheckTimestamp},
		{"signed by another identity", func(t *testing.T, d name.Digest) {
			storeBundle(t, reg, d, signImage(t, d, ann, bundleOpts{ss: ss, project: "g/other", tsa: true}), layout.PredicateTypeSign)
		}, policy, verifier.CheckIdentity},
		{"not a bundle", func(t *testing.T, d name.Digest) {
			writeBundleReferrer(t, reg, d, []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`), layout.PredicateTypeSign)
		}, policy, verifier.CheckRead},
		{"bundle over the size limit", func(t *testing.T, d name.Digest) {
			writeBundleReferrer(t, reg, d, make([]byte, layout.MaxBundleReferrerSize+1), layout.PredicateTypeSign)
		}, policy, verifier.CheckRead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := reg.Image(t, "app")
			tc.store(t, d)
			_, err := verifyBundle(t, reg, d, tc.policy, keylessTrust(ss, true))
			wantChecks(t, err, tc.want)
			if tc.want == verifier.CheckRead && strings.Contains(tc.name, "size") && !strings.Contains(err.Error(), "4194304") {
				t.Errorf("error %q does not say the limit", err)
			}
		})
	}
}

func mustHash(t *testing.T, d name.Digest) v1.Hash {
	t.Helper()
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestVerifyBundleAttestationSkipped: a bundle of another predicate type
// (an attestation) by the same identity is not a signature: alone, the
// digest has no signatures; beside a signature, it is not counted.
func TestVerifyBundleAttestationSkipped(t *testing.T) {
	reg, ss := signertest.NewRegistry(t, true), signertest.NewSigstore(t)
	o := bundleOpts{ss: ss, project: "g/p", tsa: true}
	const provenance = "https://slsa.dev/provenance/v1"
	attest := func(d name.Digest) {
		// Statement v1, and v0.1 as cosign v3's attest writes it.
		for _, v := range []string{"v1", "v0.1"} {
			st := `{"_type":"https://in-toto.io/Statement/` + v + `","subject":[{"name":"app","digest":{"sha256":"` + mustHash(t, d).Hex + `"}}],"predicateType":"` + provenance + `","predicate":{"buildType":"x"}}`
			storeBundle(t, reg, d, signStatement(t, []byte(st), o), provenance)
		}
	}
	p := verifier.Policy{Identity: ss.Identity("g/p"), Issuer: ss.Issuer}

	alone := reg.Image(t, "app")
	attest(alone)
	if _, err := verifyBundle(t, reg, alone, p, keylessTrust(ss, true)); !errors.Is(err, verifier.ErrNoSignatures) {
		t.Fatalf("attestation alone: %v, want ErrNoSignatures", err)
	}
	beside := reg.Image(t, "app")
	attest(beside)
	storeBundle(t, reg, beside, signImage(t, beside, nil, o), layout.PredicateTypeSign)
	res, err := verifyBundle(t, reg, beside, p, keylessTrust(ss, true))
	if err != nil {
		t.Fatal(err)
	}
	if res.Checked() != 1 || len(res.Verified) != 1 {
		t.Fatalf("checked %d, verified %d; want the signature only", res.Checked(), len(res.Verified))
	}
}

// TestVerifyBundleDoesNotHideLegacy: a bundle that does not satisfy the
// policy beside a legacy signature that does: verification passes (cosign
// v3 would look at the bundle only).
func TestVerifyBundleDoesNotHideLegacy(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		t.Run(signertest.Name(referrers), func(t *testing.T) {
			reg, ss := signertest.NewRegistry(t, referrers), signertest.NewSigstore(t)
			d := reg.Image(t, "app")
			storeBundle(t, reg, d, signImage(t, d, map[string]string{"tag": "v1"}, bundleOpts{ss: ss, project: "g/other", tsa: true}), layout.PredicateTypeSign)
			signKeyless(t, reg, ss, d, signer.ModeLegacy, "g/p", true, map[string]string{"tag": "v1"})
			res, err := verifyBundle(t, reg, d, verifier.Policy{Identity: ss.Identity("g/p"), Issuer: ss.Issuer, Annotations: map[string]string{"tag": "v1"}}, keylessTrust(ss, true))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Verified) != 1 || res.Verified[0].Format != verifier.FormatSimpleSigning || len(res.Failures) != 1 ||
				res.Failures[0].Check != verifier.CheckIdentity || res.Failures[0].Layout != bundleLayout(referrers) {
				t.Fatalf("verified %+v, failures %v", res.Verified, res.Failures)
			}
		})
	}
}

// TestVerifyBundleWithoutArtifactType: a bundle referrer listed with the
// empty config type and no annotations (cosign 2.6.5's fallback index,
// written with go-containerregistry before v0.22.1) is read and verified;
// another artifact listed so is passed over, neither counted nor failed.
func TestVerifyBundleWithoutArtifactType(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		t.Run(signertest.Name(referrers), func(t *testing.T) {
			reg, ss := signertest.NewRegistry(t, referrers), signertest.NewSigstore(t)
			d := reg.Image(t, "app")
			raw, err := protojson.Marshal(signImage(t, d, map[string]string{"tag": "v1"}, bundleOpts{ss: ss, project: "g/p", tsa: true}))
			if err != nil {
				t.Fatal(err)
			}
			writeReferrer(t, reg, d, raw, layout.BundleMediaType, nil, "")
			writeReferrer(t, reg, d, []byte(`{"spdxVersion":"SPDX-2.3"}`), "application/spdx+json", nil, "")
			res, err := verifyBundle(t, reg, d, verifier.Policy{Identity: ss.Identity("g/p"), Issuer: ss.Issuer, Annotations: map[string]string{"tag": "v1"}}, keylessTrust(ss, true))
			if err != nil {
				t.Fatal(err)
			}
			if res.Checked() != 1 || res.Verified[0].Format != verifier.FormatBundle || res.Verified[0].Layout != bundleLayout(referrers) {
				t.Fatalf("checked %d: %+v", res.Checked(), res.Verified)
			}
		})
	}
}

// TestVerifyBundleConcurrent uses one Verifier (its sigstore-go verifiers
// made once, in New) from several goroutines.
func TestVerifyBundleConcurrent(t *testing.T) {
	reg, ss := signertest.NewRegistry(t, true), signertest.NewSigstore(t)
	digests := []name.Digest{reg.Image(t, "app"), reg.Image(t, "app")}
	for _, d := range digests {
		storeBundle(t, reg, d, signImage(t, d, map[string]string{"tag": "v1"}, bundleOpts{ss: ss, project: "g/p", tsa: true}), layout.PredicateTypeSign)
	}
	v, err := verifier.New(context.Background(), verifier.Options{
		RemoteOptions: reg.Options, Trust: keylessTrust(ss, true),
		Policy: verifier.Policy{Identity: ss.Identity("g/p"), Issuer: ss.Issuer, Annotations: map[string]string{"tag": "v1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			_, err := v.Verify(context.Background(), digests[i%2])
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
