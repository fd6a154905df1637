package signer

import (
	"bytes"
	"context"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"

	"github.com/hallmark-dev/hallmark/layout"
)

// Attestation is an attestation Attest stored.
type Attestation struct {
	Written
	// Bundle is the Sigstore bundle (JSON) written.
	Bundle []byte
}

// Attest signs an in-toto statement about sub — predicateType, with
// predicate byte for byte — and stores the bundle as an OCI 1.1 referrer
// of sub (the fallback index on registries without the referrers API),
// as cosign v3's `cosign attest` does. It needs Options.Bundle. Each call
// adds an attestation: nothing is compared with what is stored.
func (s *Signer) Attest(ctx context.Context, sub Subject, predicateType string, predicate []byte) (*Attestation, error) {
	digest := sub.Digest
	if s.b == nil {
		return nil, fmt.Errorf("attesting %s: %w: attestations are bundles ({signer.Options.Bundle})", digest, ErrConfig)
	}
	h, err := v1.NewHash(digest.DigestStr())
	if err != nil {
		return nil, fmt.Errorf("attesting %s: %w", digest, err)
	}
	stmt, err := layout.Statement{Digest: h, PredicateType: predicateType, Predicate: predicate}.Marshal()
	if err != nil {
		return nil, fmt.Errorf("attesting %s: %w", digest, err)
	}
	ropts := append(append(append([]remote.Option{}, s.o.RemoteOptions...), remote.WithContext(ctx)), s.reuse...)
	c := &signCall{s: s, digest: digest, ropts: ropts, listOpts: append(append([]remote.Option{}, ropts...), s.listing...),
		last: slot{FormatBundle, ModeOCI11}}
	if sub.MediaType != "" {
		c.subject = &v1.Descriptor{MediaType: sub.MediaType, Digest: h, Size: sub.Size}
	}
	c.startUploads(false, true)
	defer c.uploadsDone()
	a := &Attestation{Written: Written{Format: FormatBundle, Layout: ModeOCI11, Attempts: 1}}
	if a.Bundle, err = s.signStatement(ctx, digest, stmt); err != nil {
		return nil, fmt.Errorf("attesting %s: %w", digest, err)
	}
	if err := c.writeAttestation(ctx, &a.Written, a.Bundle, predicateType); err != nil {
		return nil, fmt.Errorf("attesting %s: %w", digest, err)
	}
	return a, nil
}

// writeAttestation stores bundle as a referrer of the subject, with the
// predicate type cosign records on the manifest.
func (c *signCall) writeAttestation(ctx context.Context, w *Written, bundle []byte, predicateType string) error {
	subject, err := c.subjectDescriptor()
	if err != nil {
		return err
	}
	listing, err := c.referrers(w)
	if err != nil {
		return err
	}
	blob := static.NewLayer(bundle, layout.BundleMediaType)
	if w.Layer, err = blob.Digest(); err != nil {
		return err
	}
	if err := remote.WriteLayer(c.digest.Context(), newFreshBlob(blob), c.ropts...); err != nil {
		return fmt.Errorf("uploading the bundle: %w", err)
	}
	if err := c.emptyUp.wait(); err != nil {
		return err
	}
	manifest, err := layout.BundleManifest(*subject, v1.Descriptor{Digest: w.Layer, Size: int64(len(bundle))}, predicateType, time.Now())
	if err != nil {
		return err
	}
	h, _, err := v1.SHA256(bytes.NewReader(manifest))
	if err != nil {
		return err
	}
	ref := c.digest.Context().Digest(h.String())
	w.Ref = ref.String()
	return c.putReferrer(ctx, w, ref, rawManifest(manifest), listing)
}
