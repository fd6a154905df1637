package signer_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestSignSwappedTimestampNotEquivalent: a stored signature by the same
// key with the same annotations, whose RFC 3161 timestamp was swapped for
// one over another signature (it fails verification), is no reason to skip
// signing: Sign adds its own, in the legacy layout and as a bundle.
func TestSignSwappedTimestampNotEquivalent(t *testing.T) {
	ss := signertest.NewSigstore(t)
	kp := signertest.Keys(t, "a")
	ann := map[string]string{"tag": "v1"}
	newSigner := func(t *testing.T, reg *signertest.Registry, bundle bool) *signer.Signer {
		o := signer.Options{RemoteOptions: reg.Options, Key: kp.Private, Password: kp.Password,
			SkipTlogUpload: true, TimestampServerURL: ss.TSAURL, Bundle: bundle}
		if !bundle {
			o.Mode = signer.ModeLegacy
		}
		s, err := signer.New(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	sign := func(t *testing.T, s *signer.Signer, d name.Digest) *signer.Result {
		t.Helper()
		res, err := s.Sign(t.Context(), signer.Subject{Digest: d}, ann)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	t.Run("legacy", func(t *testing.T) {
		reg := signertest.NewRegistry(t, false)
		d, other := reg.Image(t, "app"), reg.Image(t, "app")
		s := newSigner(t, reg, false)
		sign(t, s, d)
		sign(t, s, other)
		// d's signature gets the timestamp of other's.
		theirs := sigManifest(t, reg, other)
		m := sigManifest(t, reg, d)
		m.Layers[0].Annotations[static.RFC3161TimestampAnnotationKey] = theirs.Layers[0].Annotations[static.RFC3161TimestampAnnotationKey]
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Put(signer.SignatureTag(d), rawOCIManifest(raw), reg.Options...); err != nil {
			t.Fatal(err)
		}
		if !sign(t, s, d).Added() {
			t.Fatal("a signature with a swapped timestamp was taken as already signed")
		}
		if l, _ := stored(t, reg, d); l != 2 {
			t.Fatalf("%d signatures, want 2", l)
		}
	})
	t.Run("bundle", func(t *testing.T) {
		reg, scratch := signertest.NewRegistry(t, false), signertest.NewRegistry(t, false)
		d, other := reg.Image(t, "app"), reg.Image(t, "app")
		// d's bundle made in a scratch copy of the image, so reg holds
		// only the forged one.
		mine := sign(t, newSigner(t, scratch, true), copyImage(t, d, reg, scratch)).Bundle
		theirs := sign(t, newSigner(t, reg, true), other).Bundle
		var b, tb bundle.Bundle
		if err := b.UnmarshalJSON(mine); err != nil {
			t.Fatal(err)
		}
		if err := tb.UnmarshalJSON(theirs); err != nil {
			t.Fatal(err)
		}
		b.VerificationMaterial.TimestampVerificationData = tb.VerificationMaterial.TimestampVerificationData
		forged, err := b.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		pushBundle(t, reg, d, forged)
		if !sign(t, newSigner(t, reg, true), d).Added() {
			t.Fatal("a bundle with a swapped timestamp was taken as already signed")
		}
		if n := len(bundleReferrers(t, reg, d)); n != 2 {
			t.Fatalf("%d bundles, want 2", n)
		}
	})
}

// sigManifest reads d's signature tag manifest.
func sigManifest(t *testing.T, reg *signertest.Registry, d name.Digest) *v1.Manifest {
	t.Helper()
	desc, err := remote.Get(signer.SignatureTag(d), reg.Options...)
	if err != nil {
		t.Fatal(err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// copyImage copies the image d from one registry to another and returns
// its digest there (the same).
func copyImage(t *testing.T, d name.Digest, from, to *signertest.Registry) name.Digest {
	t.Helper()
	img, err := remote.Image(d, from.Options...)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := name.NewDigest(to.Host+"/"+d.RepositoryStr()+"@"+d.DigestStr(), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(dst, img, to.Options...); err != nil {
		t.Fatal(err)
	}
	return dst
}
