package signer_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
	"github.com/hallmark-dev/hallmark/verifier"
)

// identity is how a bundle test signs: keyless through the fake Sigstore
// (with its TSA) as project, or with the cosign key pair label.
type identity struct {
	keyless bool
	label   string // project (keyless) or key label
}

func (id identity) String() string {
	if id.keyless {
		return "keyless"
	}
	return "key"
}

var identities = []identity{{true, "g/p"}, {false, "a"}}

// forBundleCases runs f as a subtest on a registry with and one without
// the referrers API, signing as each identity, each with a fresh fake
// Sigstore and a new image d.
func forBundleCases(t *testing.T, f func(t *testing.T, reg *signertest.Registry, ss *signertest.Sigstore, id identity, d name.Digest)) {
	for _, referrers := range []bool{true, false} {
		for _, id := range identities {
			t.Run(signertest.Name(referrers)+"/"+id.String(), func(t *testing.T) {
				reg := signertest.NewRegistry(t, referrers)
				f(t, reg, signertest.NewSigstore(t), id, reg.Image(t, "app"))
			})
		}
	}
}

// bundleSigner returns a signer writing bundles (and simple-signing
// signatures in mode, when set).
func bundleSigner(t *testing.T, reg *signertest.Registry, ss *signertest.Sigstore, id identity, mode signer.Mode) *signer.Signer {
	t.Helper()
	var o signer.Options
	if id.keyless {
		o = keylessOptions(reg, ss, ss.Token(id.label, "sigstore", time.Now().Add(time.Hour)))
	} else {
		kp := signertest.Keys(t, id.label)
		o = signer.Options{RemoteOptions: reg.Options, Key: kp.Private, Password: kp.Password, SkipTlogUpload: true}
	}
	o.Bundle, o.Mode = true, mode
	s, err := signer.New(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// bundleReferrers lists d's bundle referrers, through the referrers API
// and the fallback index.
func bundleReferrers(t *testing.T, reg *signertest.Registry, d name.Digest) []layout.Referrer {
	t.Helper()
	return referrersWhere(t, reg, d, layout.MayBeSignatureBundle)
}

// referrersWhere lists d's referrers whose descriptor keep accepts,
// through the referrers API and the fallback index.
func referrersWhere(t *testing.T, reg *signertest.Registry, d name.Digest, keep func(v1.Descriptor) bool) []layout.Referrer {
	t.Helper()
	refs, err := layout.ListReferrers(d, append(reg.Options[:len(reg.Options):len(reg.Options)], remote.WithReferrersTagFallback(false)), true, true)
	if err != nil {
		t.Fatal(err)
	}
	var out []layout.Referrer
	for _, r := range refs {
		if keep(r.Descriptor) {
			out = append(out, r)
		}
	}
	return out
}

// verifyBundle verifies raw with sigstore-go against the fake Sigstore's
// trusted root (keyless, with its timestamp) or the key, for the artifact
// digest d, and checks the statement's annotations are ann.
func verifyBundle(t *testing.T, raw []byte, ss *signertest.Sigstore, id identity, d name.Digest, ann map[string]string) error {
	t.Helper()
	var b bundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		return fmt.Errorf("parsing the bundle: %w", err)
	}
	var tm root.TrustedMaterial
	var vopts []verify.VerifierOption
	var pol verify.PolicyOption
	if id.keyless {
		tr, err := root.NewTrustedRootFromPath(ss.TrustedRoot)
		if err != nil {
			t.Fatal(err)
		}
		certID, err := verify.NewShortCertificateIdentity(ss.Issuer, "", ss.Identity(id.label), "")
		if err != nil {
			t.Fatal(err)
		}
		tm, vopts, pol = tr, []verify.VerifierOption{verify.WithSignedTimestamps(1)}, verify.WithCertificateIdentity(certID)
	} else {
		pem, err := os.ReadFile(signertest.Keys(t, id.label).Public)
		if err != nil {
			t.Fatal(err)
		}
		pk, err := cryptoutils.UnmarshalPEMToPublicKey(pem)
		if err != nil {
			t.Fatal(err)
		}
		v, err := signature.LoadDefaultVerifier(pk)
		if err != nil {
			t.Fatal(err)
		}
		tm = root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return root.NewExpiringKey(v, time.Time{}, time.Time{}), nil
		})
		vopts, pol = []verify.VerifierOption{verify.WithNoObserverTimestamps()}, verify.WithKey()
	}
	sev, err := verify.NewVerifier(tm, vopts...)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := hex.DecodeString(d.DigestStr()[len("sha256:"):])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sev.Verify(&b, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), pol)); err != nil {
		return err
	}
	env := b.GetDsseEnvelope()
	if env.GetPayloadType() != layout.InTotoPayloadType {
		return fmt.Errorf("payload type %q", env.GetPayloadType())
	}
	pt, st, err := layout.ParseStatement(env.GetPayload())
	if err != nil {
		return err
	}
	if pt != layout.PredicateTypeSign || st.Digest.String() != d.DigestStr() || !maps.Equal(st.Annotations, ann) {
		return fmt.Errorf("statement: predicate type %s, subject %s %v", pt, st.Digest, st.Annotations)
	}
	return nil
}

// TestSignBundleLayout signs with a bundle and checks the referrer is laid
// out as cosign v3 writes it, listed (referrers API or fallback index)
// with artifactType and annotations, and that the bundle verifies with
// sigstore-go for the image's digest with the annotations.
func TestSignBundleLayout(t *testing.T) {
	ann := map[string]string{"tag": "v1", "org.opencontainers.image.revision": "abc123"}
	forBundleCases(t, func(t *testing.T, reg *signertest.Registry, ss *signertest.Sigstore, id identity, d name.Digest) {
		res, err := bundleSigner(t, reg, ss, id, "").Sign(t.Context(), signer.Subject{Digest: d}, ann)
		if err != nil {
			t.Fatal(err)
		}
		wantLoc := layout.LocationFallback
		if reg.Referrers {
			wantLoc = layout.LocationReferrers
		}
		if len(res.Layouts) != 1 || !res.Added() || res.Mode != "" || res.Payload != nil {
			t.Fatalf("result: %+v", res)
		}
		w := res.Layouts[0]
		if w.Format != signer.FormatBundle || w.Layout != signer.ModeOCI11 || w.Location != wantLoc || w.Existing {
			t.Fatalf("written: %+v", w)
		}
		ref, err := name.NewDigest(w.Ref)
		if err != nil {
			t.Fatal(err)
		}
		checkBundleManifest(t, reg, ref, d, w.Layer)
		listed := bundleReferrers(t, reg, d)
		if len(listed) != 1 || listed[0].Location != wantLoc || listed[0].Descriptor.Digest.String() != ref.DigestStr() {
			t.Fatalf("listed: %+v", listed)
		}
		if !reg.Referrers {
			idx, err := remote.Get(layout.FallbackTag(d), reg.Options...)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("fallback index: %s", idx.Manifest)
		}
		// The referrers API's descriptors are the registry's: ggcr's
		// takes the artifactType from the config's media type.
		desc := listed[0].Descriptor
		if !reg.Referrers && desc.ArtifactType != layout.BundleMediaType || desc.Annotations[layout.AnnotationBundleContent] != layout.BundleContentDSSE ||
			desc.Annotations[layout.AnnotationBundlePredicateType] != layout.PredicateTypeSign || desc.Annotations[layout.AnnotationCreated] == "" {
			t.Fatalf("listed descriptor lacks artifactType or annotations: %+v", desc)
		}
		if err := verifyBundle(t, res.Bundle, ss, id, d, ann); err != nil {
			t.Fatalf("sigstore-go rejects the bundle: %v", err)
		}
		other := reg.Image(t, "other")
		if err := verifyBundle(t, res.Bundle, ss, id, other, ann); err == nil {
			t.Fatal("the bundle verifies for another image's digest")
		}
		vo := verifier.Options{RemoteOptions: reg.Options, Policy: verifier.Policy{Annotations: ann},
			Trust: verifier.Trust{TrustedRoot: ss.TrustedRoot, IgnoreTlog: true, IgnoreSCT: true}}
		if id.keyless {
			vo.Policy.Identity, vo.Policy.Issuer = ss.Identity(id.label), ss.Issuer
		} else {
			vo.Policy.Key = signertest.Keys(t, id.label).Public
		}
		vr, err := verifier.Verify(t.Context(), d, vo)
		if err != nil {
			t.Fatalf("hallmark's verifier rejects the bundle: %v", err)
		}
		if got := vr.Layouts()[layout.BundleLocation(wantLoc)]; got != 1 {
			t.Fatalf("hallmark's verifier verified %v, want one bundle in %s", vr.Layouts(), layout.BundleLocation(wantLoc))
		}
	})
}

// checkBundleManifest reads the referrer manifest ref and checks its shape
// against cosign v3's WriteAttestationNewBundleFormat.
func checkBundleManifest(t *testing.T, reg *signertest.Registry, ref, subject name.Digest, layer v1.Hash) {
	t.Helper()
	got, err := remote.Get(ref, reg.Options...)
	if err != nil {
		t.Fatal(err)
	}
	var m layout.ReferrerManifest
	if err := json.Unmarshal(got.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	t.Logf("referrer manifest %s: %s", ref.DigestStr(), got.Manifest)
	sub, err := remote.Head(subject, reg.Options...)
	if err != nil {
		t.Fatal(err)
	}
	created, err := time.Parse(time.RFC3339, m.Annotations[layout.AnnotationCreated])
	if err != nil || time.Since(created) > time.Minute {
		t.Errorf("created annotation %q: %v", m.Annotations[layout.AnnotationCreated], err)
	}
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"mediaType", m.MediaType, types.OCIManifestSchema1},
		{"artifactType", m.ArtifactType, layout.BundleMediaType},
		{"config", m.Config, v1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", ArtifactType: layout.BundleMediaType, Digest: layout.EmptyDigest, Size: 2}},
		{"layers", len(m.Layers), 1},
		{"layer media type", m.Layers[0].MediaType, types.MediaType(layout.BundleMediaType)},
		{"layer digest", m.Layers[0].Digest, layer},
		{"subject", *m.Subject, v1.Descriptor{MediaType: sub.MediaType, Digest: sub.Digest, Size: sub.Size}},
		{"annotations", len(m.Annotations), 3},
		{"content annotation", m.Annotations["dev.sigstore.bundle.content"], "dsse-envelope"},
		{"predicate type annotation", m.Annotations["dev.sigstore.bundle.predicateType"], "https://sigstore.dev/cosign/sign/v1"},
	} {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
	cfg, err := remote.Layer(ref.Context().Digest(layout.EmptyDigest.String()), reg.Options...)
	if err != nil {
		t.Fatal(err)
	}
	if sz, err := cfg.Size(); err != nil || sz != 2 {
		t.Errorf("empty config blob: size %d, %v", sz, err)
	}
}

// TestSignBundleIdempotent: signing again with the same identity and
// annotations adds nothing (and asks the TSA nothing); other annotations,
// another identity or key add a bundle.
func TestSignBundleIdempotent(t *testing.T) {
	ann := map[string]string{"tag": "v1"}
	forBundleCases(t, func(t *testing.T, reg *signertest.Registry, ss *signertest.Sigstore, id identity, d name.Digest) {
		sign := func(id identity, ann map[string]string) *signer.Result {
			t.Helper()
			res, err := bundleSigner(t, reg, ss, id, "").Sign(t.Context(), signer.Subject{Digest: d}, ann)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		first := sign(id, ann)
		tsa := ss.TSARequests.Load()
		again := sign(id, ann)
		if again.Added() || !again.Layouts[0].Existing || again.Layouts[0].Ref != first.Layouts[0].Ref {
			t.Fatalf("re-signing added a bundle: %+v", again.Layouts)
		}
		if ss.TSARequests.Load() != tsa {
			t.Error("an unnecessary bundle was timestamped")
		}
		if string(again.Bundle) != string(first.Bundle) {
			t.Error("the result does not carry the bundle found")
		}
		if n := len(bundleReferrers(t, reg, d)); n != 1 {
			t.Fatalf("%d bundles after re-signing, want 1", n)
		}
		other := id
		other.label += "-other"
		for _, c := range []struct {
			what string
			id   identity
			ann  map[string]string
		}{
			{"other annotations", id, map[string]string{"tag": "v2"}},
			{"no annotations", id, nil},
			{"another identity or key", other, ann},
		} {
			if !sign(c.id, c.ann).Added() {
				t.Errorf("%s: taken as already signed", c.what)
			}
		}
		if n := len(bundleReferrers(t, reg, d)); n != 4 {
			t.Fatalf("%d bundles, want 4", n)
		}
	})
}

// TestSignBothFormats writes a bundle and simple-signing signatures in
// one Sign, and reports each.
func TestSignBothFormats(t *testing.T) {
	ann := map[string]string{"tag": "v1"}
	for _, referrers := range []bool{true, false} {
		for _, tc := range modeLayouts {
			t.Run(fmt.Sprintf("%s/%s", signertest.Name(referrers), tc.mode), func(t *testing.T) {
				reg := signertest.NewRegistry(t, referrers)
				d := reg.Image(t, "app")
				id := identity{false, "a"}
				s := bundleSigner(t, reg, nil, id, tc.mode)
				calls := 0
				res, err := s.Sign(t.Context(), signer.Subject{Digest: d}, ann, signer.WhenStored(func() {
					calls++
					if n := len(bundleReferrers(t, reg, d)); n != 1 {
						t.Errorf("notified with %d bundles stored", n)
					}
				}))
				if err != nil {
					t.Fatal(err)
				}
				if calls != 1 {
					t.Errorf("notified %d times", calls)
				}
				var formats []string
				for _, w := range res.Layouts {
					formats = append(formats, fmt.Sprintf("%s/%s", w.Format, w.Layout))
				}
				var want []string
				if tc.mode.Legacy() {
					want = append(want, "simple-signing/legacy")
				}
				if tc.mode.OCI11() {
					want = append(want, "simple-signing/oci-1-1")
				}
				want = append(want, "bundle/oci-1-1")
				if fmt.Sprint(formats) != fmt.Sprint(want) {
					t.Fatalf("written %v, want %v", formats, want)
				}
				if l, r := stored(t, reg, d); l != tc.wantLegacy || r != tc.wantReferrers {
					t.Fatalf("simple-signing: legacy %d referrers %d, want %d %d", l, r, tc.wantLegacy, tc.wantReferrers)
				}
				if err := cosignVerifies(t, reg, d, signertest.Keys(t, "a").Public, ann, tc.mode == signer.ModeOCI11); err != nil {
					t.Fatalf("cosign library rejects the simple-signing signature: %v", err)
				}
				if err := verifyBundle(t, res.Bundle, nil, id, d, ann); err != nil {
					t.Fatal(err)
				}
				again, err := s.Sign(t.Context(), signer.Subject{Digest: d}, ann)
				if err != nil || again.Added() {
					t.Fatalf("re-sign: %v, %+v", err, again)
				}
			})
		}
	}
}

// TestConcurrentBundleSigners: 10 signers of one digest at once keep 10
// bundles, with and without the referrers API.
func TestConcurrentBundleSigners(t *testing.T) {
	const n = 10
	for _, referrers := range []bool{false, true} {
		t.Run(signertest.Name(referrers), func(t *testing.T) {
			reg := signertest.NewRegistry(t, referrers)
			d := reg.Image(t, "app")
			s := bundleSigner(t, reg, nil, identity{false, "a"}, "")
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					_, errs[i] = s.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"writer": fmt.Sprint(i)})
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if got := len(bundleReferrers(t, reg, d)); got != n {
				t.Fatalf("%d bundles kept of %d", got, n)
			}
		})
	}
}

// TestSignBundleIndex signs a multi-platform index and each of its
// manifests, as a recursive release does.
func TestSignBundleIndex(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		t.Run(signertest.Name(referrers), func(t *testing.T) {
			reg := signertest.NewRegistry(t, referrers)
			ss := signertest.NewSigstore(t)
			idx, children := reg.Index(t, "multi", 2)
			id := identity{true, "g/p"}
			s := bundleSigner(t, reg, ss, id, "")
			ann := map[string]string{"tag": "v1"}
			for _, d := range append([]name.Digest{idx}, children...) {
				res, err := s.Sign(t.Context(), signer.Subject{Digest: d}, ann)
				if err != nil {
					t.Fatal(err)
				}
				if err := verifyBundle(t, res.Bundle, ss, id, d, ann); err != nil {
					t.Fatalf("%s: %v", d, err)
				}
				if n := len(bundleReferrers(t, reg, d)); n != 1 {
					t.Fatalf("%s: %d bundles", d, n)
				}
			}
			if got := ss.FulcioRequests.Load(); got != 1 {
				t.Errorf("%d certificates requested, want 1 for all digests", got)
			}
		})
	}
}
