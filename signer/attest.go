package signer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"

	"github.com/hallmark-dev/hallmark/layout"
)

// Attestation is an attestation Attest stored (or found stored).
type Attestation struct {
	Written
	// Bundle is the Sigstore bundle (JSON) written, or the equivalent one
	// found (Written.Existing).
	Bundle []byte
}

// Attest signs an in-toto statement about sub — predicateType, with
// predicate byte for byte — and stores the bundle as an OCI 1.1 referrer
// of sub (the fallback index on registries without the referrers API),
// as cosign v3's `cosign attest` does. It needs Options.Bundle.
//
// An attestation already stored that is equivalent — a bundle of a
// statement about the same digest with the same predicate type and the
// same predicate byte for byte, by this signer's key or identity, with
// the evidence this signer attaches, whose signature verifies — is
// reported (Written.Existing) instead of adding a second one: attesting
// the same provenance again, e.g. a release run again on the same
// content, stacks nothing. Identical calls made while one is in progress
// wait for it and report its attestation as Existing. When the write
// fails once the referrer manifest is made, the Attestation comes with
// the error (it may be stored), for WithdrawAttestation.
func (s *Signer) Attest(ctx context.Context, sub Subject, predicateType string, predicate []byte) (*Attestation, error) {
	if s.servicesErr != nil {
		return nil, s.servicesErr
	}
	if s.b == nil {
		return nil, fmt.Errorf("attesting %s: %w: attestations are bundles ({signer.Options.Bundle})", sub.Digest, ErrConfig)
	}
	key := attestKey(sub.Digest, predicateType, predicate)
	for {
		fl, leader := s.attesting.join(key)
		if leader {
			a, err := s.attest1(ctx, sub, predicateType, predicate)
			s.attesting.land(key, fl, a, err)
			return a, err
		}
		a, again, err := fl.wait(ctx)
		if !again {
			if err != nil {
				return nil, err
			}
			cp := *a
			cp.Existing, cp.Attempts = true, 0
			return &cp, nil
		}
	}
}

// attestKey identifies an Attest call's attestation: the digest, the
// predicate type and the predicate.
func attestKey(digest name.Digest, predicateType string, predicate []byte) string {
	sum := sha256.Sum256(predicate)
	return fmt.Sprintf("%s\x00%s\x00%x", digest, predicateType, sum)
}

// attest1 is one Attest call that no identical one is running alongside.
func (s *Signer) attest1(ctx context.Context, sub Subject, predicateType string, predicate []byte) (*Attestation, error) {
	digest := sub.Digest
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
	if err := c.writeAttestation(ctx, a, predicateType, predicate, stmt); err != nil {
		if a.Ref == "" || a.Existing {
			a = nil
		}
		// The attestation whose write failed may be stored: for
		// WithdrawAttestation.
		return a, fmt.Errorf("attesting %s: %w", digest, err)
	}
	return a, nil
}

// writeAttestation stores the attestation of stmt as a referrer of the
// subject, with the predicate type cosign records on the manifest, unless
// an equivalent one is listed already (a.Existing then).
func (c *signCall) writeAttestation(ctx context.Context, a *Attestation, predicateType string, predicate, stmt []byte) error {
	subject, err := c.subjectDescriptor()
	if err != nil {
		return err
	}
	w := &a.Written
	listing, err := c.referrers(w)
	if err != nil {
		return err
	}
	ref, found, err := c.findAttestation(listing, predicateType, predicate)
	if err != nil {
		return err
	}
	if found != nil {
		w.Ref, w.Existing, w.Attempts, a.Bundle = ref.String(), true, 0, found
		w.Layer, _, _ = v1.SHA256(bytes.NewReader(found))
		c.s.o.Logger.DebugContext(ctx, "an equivalent attestation is already stored", "ref", w.Ref, "predicateType", predicateType)
		return nil
	}
	if a.Bundle, err = c.s.signStatement(ctx, c.digest, stmt); err != nil {
		return err
	}
	blob := static.NewLayer(a.Bundle, layout.BundleMediaType)
	if w.Layer, err = blob.Digest(); err != nil {
		return err
	}
	if err := c.writeBlob(c.digest.Context(), newFreshBlob(blob)); err != nil {
		return fmt.Errorf("uploading the bundle: %w", err)
	}
	if err := c.emptyUp.wait(); err != nil {
		return err
	}
	manifest, err := layout.BundleManifest(*subject, v1.Descriptor{Digest: w.Layer, Size: int64(len(a.Bundle))}, predicateType, time.Now())
	if err != nil {
		return err
	}
	h, _, err := v1.SHA256(bytes.NewReader(manifest))
	if err != nil {
		return err
	}
	ref = c.digest.Context().Digest(h.String())
	w.Ref = ref.String()
	return c.putReferrer(ctx, w, ref, rawManifest(manifest), listing, nil)
}

// findAttestation returns the first bundle referrer in listing holding an
// attestation equivalent to the one this signer would write
// (matcher.equivalentAttestation), and its bundle.
func (c *signCall) findAttestation(listing v1.ImageIndex, predicateType string, predicate []byte) (name.Digest, []byte, error) {
	im, err := listing.IndexManifest()
	if err != nil {
		return name.Digest{}, nil, fmt.Errorf("listing referrers of %s: %w", c.digest, err)
	}
	m := c.s.matcher(c.digest, nil)
	for _, desc := range im.Manifests {
		if !layout.MayBeBundleOf(desc, predicateType) {
			continue
		}
		ref := c.digest.Context().Digest(desc.Digest.String())
		b, err := c.readBundle(ref, maxAttestationBundleSize)
		if layout.IsNotFound(err) {
			continue // deleted since listed: a converged duplicate signature
		}
		if err != nil {
			return name.Digest{}, nil, err
		}
		if b != nil && m.equivalentAttestation(b, predicateType, predicate) {
			return ref, b, nil
		}
	}
	return name.Digest{}, nil, nil
}
