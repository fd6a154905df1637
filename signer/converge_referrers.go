package signer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark/layout"
)

// Identical referrers converge to one too (see converge.go for the legacy
// tag). A referrers listing has no order, so signers agree on the manifest
// digest: of equivalent referrers the lowest stays. Once its referrer is
// confirmed listed, a signer removes it when an equivalent referrer with a
// lower digest is listed, and, when ours is the lowest, removes the
// equivalent ones listed above it whose writers may have finished before
// ours was listed (only those carrying the same evidence as ours: their
// writers would take ours for theirs). Such referrers are looked for only
// when the last listing read had another of the kind: no request
// otherwise. Nothing is removed but in favour of a lower equivalent
// referrer listed, so the lowest of them all stays. With the referrers
// API a removal is a DELETE of the manifest: the registry updates its
// listing. Without it the referrer leaves the fallback index, a
// read-modify-write confirmed as an append is (commit), then our own
// manifest is deleted (another writer's is left: it may list it again).
// Should the kept one be gone meanwhile, ours is listed again. A registry
// that refuses DELETE keeps both.

// referrerKind tells equivalent referrers of one kind (a simple-signing
// signature, a bundle) from the others.
type referrerKind struct {
	// candidate reports whether a listed descriptor may be one.
	candidate func(v1.Descriptor) bool
	// equivalent reads referrer ref and returns it when it is equivalent
	// to ours (nil otherwise).
	equivalent func(ref name.Digest) (*keptReferrer, error)
	// evidence is the evidence ours carries (see keptReferrer).
	evidence string
	// seen are the referrers read, equivalent or not (nil): they are
	// content addressed.
	seen map[v1.Hash]*keptReferrer
}

// keptReferrer is an equivalent referrer: its layer's digest and, for a
// bundle, the bundle; evidence says which evidence it carries (a
// certificate, a chain or a key, timestamps, transparency-log entries).
type keptReferrer struct {
	ref      name.Digest
	layer    v1.Hash
	bundle   []byte
	evidence string
}

// simpleSigningKind is the kind of the OCI 1.1 simple-signing referrers.
func (c *signCall) simpleSigningKind() *referrerKind {
	return &referrerKind{
		candidate: func(d v1.Descriptor) bool { return d.ArtifactType == ArtifactType },
		equivalent: func(ref name.Digest) (*keptReferrer, error) {
			sigs, err := ociremote.Signatures(ref, ociremote.WithRemoteOptions(c.ropts...))
			if err != nil {
				return nil, fmt.Errorf("reading referrer %s: %w", ref, err)
			}
			list, err := sigs.Get()
			if err != nil {
				return nil, fmt.Errorf("reading referrer %s: %w", ref, err)
			}
			sig := c.firstEquivalent(list)
			if sig == nil {
				return nil, nil
			}
			d, err := sig.Digest()
			if err != nil {
				return nil, nil
			}
			return &keptReferrer{ref: ref, layer: d, evidence: sigEvidence(sig)}, nil
		},
		evidence: sigEvidence(c.sig),
		seen:     map[v1.Hash]*keptReferrer{},
	}
}

// sigEvidence says which evidence a simple-signing signature carries.
func sigEvidence(sig oci.Signature) string {
	cert, _ := sig.Cert()
	ts, _ := sig.RFC3161Timestamp()
	b, _ := sig.Bundle()
	return fmt.Sprint(cert != nil, ts != nil, b != nil)
}

// bundleKind is the kind of the Sigstore bundle signature referrers.
func (c *signCall) bundleKind() *referrerKind {
	m := c.s.matcher(c.digest, c.annotations)
	return &referrerKind{
		candidate: layout.MayBeSignatureBundle,
		equivalent: func(ref name.Digest) (*keptReferrer, error) {
			b, err := c.readBundle(ref, maxBundleSize)
			if err != nil || b == nil || !m.equivalentBundle(b) {
				return nil, err
			}
			h, _, err := v1.SHA256(bytes.NewReader(b))
			if err != nil {
				return nil, nil
			}
			return &keptReferrer{ref: ref, layer: h, bundle: b, evidence: bundleEvidence(b)}, nil
		},
		evidence: bundleEvidence(c.bundle),
		seen:     map[v1.Hash]*keptReferrer{},
	}
}

// bundleEvidence says which evidence a bundle (JSON) carries.
func bundleEvidence(raw []byte) string {
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(raw, &pb); err != nil {
		return ""
	}
	vm := pb.GetVerificationMaterial()
	return fmt.Sprint(vm.GetCertificate() != nil, len(vm.GetX509CertificateChain().GetCertificates()),
		vm.GetPublicKey() != nil, len(vm.GetTimestampVerificationData().GetRfc3161Timestamps()) > 0, len(vm.GetTlogEntries()) > 0)
}

// referrerState is what a referrers listing says for convergence: whether
// ours is listed, the lowest equivalent below it, the equivalent ones
// with our evidence above it; idx and sum are the listing and its summary.
type referrerState struct {
	ours bool
	keep *keptReferrer
	dups []v1.Hash
	idx  v1.ImageIndex
	sum  string
}

// convergeReferrer converges our referrer ref (manifest) with equivalent
// ones of kind (see above) and, when ours was removed, records the one
// kept in w. Like convergeLegacy it never fails the signing.
func (c *signCall) convergeReferrer(ctx context.Context, w *Written, ref name.Digest, manifest rawManifest, kind *referrerKind) {
	api := w.Location == layout.LocationReferrers
	var listing v1.ImageIndex // read here, for the first round
	if api {
		// The put was not read back: one listing, now that ours is there.
		var err error
		if listing, err = c.referrers(nil); err == nil {
			_, _, err = c.listedIn(listing, ref)
		}
		if err != nil {
			c.s.o.Logger.InfoContext(ctx, "could not list referrers to converge equivalent signatures; a duplicate may be left", "ref", w.Ref, "err", err)
			return
		}
	}
	if !slices.ContainsFunc(c.otherReferrers, kind.candidate) {
		return
	}
	desc, err := layout.ReferrerDescriptor(manifest)
	if err != nil {
		return
	}
	var st referrerState
	write := func() (int, error) {
		var err error
		if st, err = c.referrerState(ref, kind, listing); err != nil {
			return 0, err
		}
		listing = nil // later rounds read again
		switch {
		case st.ours && st.keep != nil && api:
			return 0, c.deleteReferrers(desc.Digest)
		case st.ours && st.keep != nil:
			// The index's HEAD and PUT after the read.
			return 3, c.unlistFallback(st.idx, desc.Digest)
		case st.ours && len(st.dups) > 0 && api:
			return 0, c.deleteReferrers(st.dups...)
		case st.ours && len(st.dups) > 0:
			return 3, c.unlistFallback(st.idx, st.dups...)
		case !st.ours && st.keep == nil && api:
			return 0, remote.Put(ref, manifest, c.ropts...)
		case !st.ours && st.keep == nil:
			return 3, c.indexFallback(desc, st.idx)
		}
		return 0, nil
	}
	converged := func() (bool, string, error) {
		var err error
		if st, err = c.referrerState(ref, kind, nil); err != nil {
			return false, "", err
		}
		return st.ours == (st.keep == nil) && len(st.dups) == 0, st.sum, nil
	}
	err = c.commit(ctx, &Written{Ref: w.Ref}, write, converged)
	switch {
	case errors.Is(err, ErrDeleteRefused):
		c.s.o.Logger.InfoContext(ctx, "the registry refuses to delete manifests; equivalent signatures are left alongside", "ref", w.Ref, "err", err)
		return
	case err != nil:
		c.s.o.Logger.InfoContext(ctx, "could not converge equivalent signatures; a duplicate may be left", "ref", w.Ref, "err", err)
		return
	case st.ours || st.keep == nil:
		return
	}
	if !api {
		// No longer listed: the manifest is left over, best effort.
		if err := c.deleteReferrers(desc.Digest); err != nil {
			c.s.o.Logger.InfoContext(ctx, "could not delete our unlisted referrer manifest", "ref", w.Ref, "err", err)
		}
	}
	c.s.o.Logger.InfoContext(ctx, "an equivalent signature was stored alongside; removed ours", "ref", w.Ref, "kept", st.keep.ref.String())
	w.Ref, w.Existing, w.Layer = st.keep.ref.String(), true, st.keep.layer
	if st.keep.bundle != nil {
		c.bundle = st.keep.bundle
	}
}

// referrerState reads the referrers listing (unless given the one just
// read) and the referrers of kind listed besides ours (each once:
// kind.seen keeps them).
func (c *signCall) referrerState(ref name.Digest, kind *referrerKind, listing v1.ImageIndex) (referrerState, error) {
	st := referrerState{idx: listing}
	var err error
	if st.idx == nil {
		if st.idx, err = c.referrers(nil); err != nil {
			return st, err
		}
	}
	if st.ours, st.sum, err = c.listedIn(st.idx, ref); err != nil {
		return st, err
	}
	for _, d := range c.otherReferrers {
		if !kind.candidate(d) {
			continue
		}
		k, ok := kind.seen[d.Digest]
		if !ok {
			k, err = kind.equivalent(c.digest.Context().Digest(d.Digest.String()))
			if layout.IsNotFound(err) {
				continue // removed since the listing
			}
			if err != nil {
				return st, err
			}
			kind.seen[d.Digest] = k
		}
		switch {
		case k == nil:
		case d.Digest.String() < ref.DigestStr():
			if st.keep == nil {
				st.keep = k
			}
		case k.evidence == kind.evidence:
			st.dups = append(st.dups, d.Digest)
		}
	}
	return st, nil
}

// deleteReferrers deletes the referrer manifests of digests; one already
// gone counts as deleted, a registry that refuses fails with
// ErrDeleteRefused.
func (c *signCall) deleteReferrers(digests ...v1.Hash) error {
	for _, d := range digests {
		ref := c.digest.Context().Digest(d.String())
		err := remote.Delete(ref, c.ropts...)
		var te *transport.Error
		switch {
		case err == nil || layout.IsNotFound(err):
		case errors.As(err, &te) && (te.StatusCode == http.StatusMethodNotAllowed ||
			slices.ContainsFunc(te.Errors, func(d transport.Diagnostic) bool { return d.Code == transport.UnsupportedErrorCode })):
			return fmt.Errorf("deleting %s: %w: %v", ref, ErrDeleteRefused, err)
		default:
			return fmt.Errorf("deleting %s: %w", ref, err)
		}
	}
	return nil
}

// presentOrKept is the read-back of a referrer put: whether ours is
// listed or, for a signature of kind (nil: no convergence), was removed
// by another signer in favour of an equivalent one listed below it.
func (c *signCall) presentOrKept(ref name.Digest, kind *referrerKind) (bool, string, error) {
	idx, err := c.referrers(nil)
	if err != nil {
		return false, "", err
	}
	ok, sum, err := c.listedIn(idx, ref)
	if err != nil || ok || kind == nil || !slices.ContainsFunc(c.otherReferrers, kind.candidate) {
		return ok, sum, err
	}
	st, err := c.referrerState(ref, kind, idx)
	if err != nil {
		return false, "", err
	}
	return st.ours || st.keep != nil, st.sum, nil
}
