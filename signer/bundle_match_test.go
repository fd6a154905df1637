package signer_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestBundleOptionErrors: Rekor v2 logs bundles only and needs a TSA;
// API versions other than 1 and 2 are refused; all are ErrConfig.
func TestBundleOptionErrors(t *testing.T) {
	kp := signertest.Keys(t, "a")
	base := signer.Options{Key: kp.Private, Password: kp.Password, Bundle: true}
	for _, tc := range []struct {
		name string
		edit func(*signer.Options)
		want error
	}{
		{"rekor v2 without a TSA", func(o *signer.Options) { o.RekorVersion = 2 }, signer.ErrRekorV2Timestamp},
		{"rekor v3", func(o *signer.Options) { o.RekorVersion = 3 }, signer.ErrConfig},
		{"rekor v2 for simple signing", func(o *signer.Options) {
			o.RekorVersion, o.TimestampServerURL, o.Mode = 2, "http://tsa.invalid", signer.ModeLegacy
		}, signer.ErrConfig},
		{"rekor v2 without bundles", func(o *signer.Options) {
			o.RekorVersion, o.TimestampServerURL, o.Bundle = 2, "http://tsa.invalid", false
		}, signer.ErrConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.edit(&o)
			_, err := signer.New(context.Background(), o)
			if !errors.Is(err, tc.want) || !errors.Is(err, signer.ErrConfig) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	o := base
	o.RekorVersion, o.SkipTlogUpload = 2, true
	if _, err := signer.New(context.Background(), o); err != nil {
		t.Fatalf("rekor v2 without upload: %v", err)
	}
}

// TestSignBundleEvidence: a stored bundle without the timestamp this
// signer would attach does not count as equivalent; one with more
// evidence than this signer attaches does.
func TestSignBundleEvidence(t *testing.T) {
	reg := signertest.NewRegistry(t, false)
	ss := signertest.NewSigstore(t)
	d := reg.Image(t, "app")
	kp := signertest.Keys(t, "a")
	sign := func(tsa string) *signer.Result {
		t.Helper()
		s, err := signer.New(t.Context(), signer.Options{RemoteOptions: reg.Options, Key: kp.Private, Password: kp.Password,
			SkipTlogUpload: true, TimestampServerURL: tsa, Bundle: true})
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"tag": "v1"})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if !sign("").Added() {
		t.Fatal("first bundle not added")
	}
	if !sign(ss.TSAURL).Added() {
		t.Fatal("a bundle without a timestamp was taken for one with")
	}
	if sign("").Added() {
		t.Fatal("a timestamped bundle was not taken for one without")
	}
	if n := len(bundleReferrers(t, reg, d)); n != 2 {
		t.Fatalf("%d bundles, want 2", n)
	}
}

// TestSignBundleForgedNotEquivalent: a stored bundle whose statement says
// the same digest and annotations but whose signature does not verify
// (its annotations were edited) is no reason to skip signing.
func TestSignBundleForgedNotEquivalent(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		t.Run(signertest.Name(referrers), func(t *testing.T) {
			reg := signertest.NewRegistry(t, referrers)
			d := reg.Image(t, "app")
			s := bundleSigner(t, reg, nil, identity{false, "a"}, "")
			res, err := s.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"tag": "v2"})
			if err != nil {
				t.Fatal(err)
			}
			forged := forgeAnnotations(t, res.Bundle, d, map[string]string{"tag": "v1"})
			pushBundle(t, reg, d, forged)
			again, err := s.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"tag": "v1"})
			if err != nil {
				t.Fatal(err)
			}
			if !again.Added() {
				t.Fatal("a bundle with edited annotations was taken as already signed")
			}
			if n := len(bundleReferrers(t, reg, d)); n != 3 {
				t.Fatalf("%d bundles, want 3", n)
			}
		})
	}
}

// forgeAnnotations returns raw with its statement's annotations replaced,
// the signature kept.
func forgeAnnotations(t *testing.T, raw []byte, d name.Digest, ann map[string]string) []byte {
	t.Helper()
	var b bundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		t.Fatal(err)
	}
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	if b.GetDsseEnvelope().Payload, err = (layout.SignStatement{Digest: h, Annotations: ann}).Marshal(); err != nil {
		t.Fatal(err)
	}
	out, err := b.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pushBundle stores raw as a bundle referrer of d, as cosign v3 would
// (go-containerregistry updating the fallback index).
func pushBundle(t *testing.T, reg *signertest.Registry, d name.Digest, raw []byte) {
	t.Helper()
	repo := d.Context()
	for _, l := range []v1.Layer{static.NewLayer(raw, layout.BundleMediaType), static.NewLayer([]byte(layout.EmptyJSON), types.MediaType(layout.EmptyMediaType))} {
		if err := remote.WriteLayer(repo, l, reg.Options...); err != nil {
			t.Fatal(err)
		}
	}
	sub, err := remote.Head(d, reg.Options...)
	if err != nil {
		t.Fatal(err)
	}
	h, n, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	m, err := layout.BundleManifest(*sub, v1.Descriptor{Digest: h, Size: n}, layout.PredicateTypeSign, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mh, _, err := v1.SHA256(bytes.NewReader(m))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(repo.Digest(mh.String()), rawOCIManifest(m), reg.Options...); err != nil {
		t.Fatal(err)
	}
}

type rawOCIManifest []byte

func (r rawOCIManifest) RawManifest() ([]byte, error)        { return r, nil }
func (r rawOCIManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// TestSignBundleCanceledAtTSA: a Sign canceled while the timestamp
// authority has not answered returns at once, with a timestamp authority
// ServiceError, instead of waiting for the HTTP timeout.
func TestSignBundleCanceledAtTSA(t *testing.T) {
	reg := signertest.NewRegistry(t, true)
	d := reg.Image(t, "app")
	tsa := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
	}))
	defer tsa.Close()
	kp := signertest.Keys(t, "a")
	s, err := signer.New(t.Context(), signer.Options{RemoteOptions: reg.Options, Key: kp.Private, Password: kp.Password,
		SkipTlogUpload: true, TimestampServerURL: tsa.URL, Bundle: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.Sign(ctx, signer.Subject{Digest: d}, nil)
	var se *signer.ServiceError
	if !errors.As(err, &se) || se.Service != "timestamp authority" {
		t.Fatalf("got %v, want a timestamp authority ServiceError", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("returned after %v", took)
	}
}
