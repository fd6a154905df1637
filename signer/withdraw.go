package signer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/oci"

	"github.com/hallmark-dev/hallmark/layout"
)

// Withdrawing takes back what a Sign or Attest call wrote, for a caller
// whose larger operation failed after it signed (a release over a pool of
// builders signs each platform as soon as it is built, and must end with
// nothing signed when another platform fails). Only what the call wrote
// goes: a layout that held an equivalent signature already
// (Written.Existing) is left as it is, and so is everything else stored
// beside ours. The removals are the ones convergence makes (converge.go,
// converge_referrers.go): our layer leaves the legacy signature manifest
// (a read-modify-write confirmed as an append is; the tag stays, with the
// other signatures or none); our referrer manifest is deleted, and first
// unlisted from the fallback index on a registry without the referrers
// API (a registry that then refuses the DELETE keeps an unlisted manifest
// no verifier finds).

// WithdrawError reports signatures or attestations a withdrawal could not
// remove: they are still stored, and verify.
type WithdrawError struct {
	// Subject is the digest they are about.
	Subject name.Digest
	// Left are where they are still stored: the legacy signature tag or
	// the referrer manifests (repo@sha256:...).
	Left []string
	// Err is why (ErrDeleteRefused when the registry does not delete
	// manifests).
	Err error
}

func (e *WithdrawError) Error() string {
	return fmt.Sprintf("withdrawing from %s: %v; still stored: %s", e.Subject, e.Err, strings.Join(e.Left, ", "))
}

func (e *WithdrawError) Unwrap() error { return e.Err }

// Withdraw removes the signatures res says Sign wrote (Written.Existing
// false), in every layout, and nothing else: not an equivalent signature
// that was stored already, not another signer's. A signature already gone
// counts as removed. Signatures it could not remove are a *WithdrawError
// naming them. res may be the partial result of a failed Sign.
func (s *Signer) Withdraw(ctx context.Context, res *Result) error {
	if res == nil {
		return nil
	}
	c := s.withdrawCall(ctx, res.Digest)
	var left []string
	var errs []error
	for _, w := range res.Layouts {
		if w.Existing || w.Ref == "" {
			continue
		}
		if err := c.withdraw(ctx, w, res.Signature); err != nil {
			left, errs = append(left, w.Ref), append(errs, err)
		}
	}
	if len(errs) > 0 {
		return &WithdrawError{Subject: res.Digest, Left: left, Err: errors.Join(errs...)}
	}
	return nil
}

// WithdrawAttestation removes the attestation Attest wrote (unless it
// found an equivalent one stored: Written.Existing), as Withdraw does;
// subject is the digest it is about. a may be the partial result of a
// failed Attest.
func (s *Signer) WithdrawAttestation(ctx context.Context, subject name.Digest, a *Attestation) error {
	if a == nil || a.Existing || a.Ref == "" {
		return nil
	}
	if err := s.withdrawCall(ctx, subject).withdraw(ctx, a.Written, ""); err != nil {
		return &WithdrawError{Subject: subject, Left: []string{a.Ref}, Err: err}
	}
	return nil
}

// withdrawCall is a signCall for removals about digest.
func (s *Signer) withdrawCall(ctx context.Context, digest name.Digest) *signCall {
	ropts := slices.Concat(s.o.RemoteOptions, []remote.Option{remote.WithContext(ctx)}, s.reuse)
	return &signCall{s: s, digest: digest, ropts: ropts, listOpts: slices.Concat(ropts, s.listing)}
}

// withdraw removes the one signature w records; sig is the base64
// signature of a simple-signing one (its layer in the legacy tag).
func (c *signCall) withdraw(ctx context.Context, w Written, sig string) error {
	if w.Location == layout.LocationLegacy {
		tag, err := name.NewTag(w.Ref, name.WeakValidation)
		if err != nil {
			return err
		}
		return c.withdrawLegacy(ctx, tag, w.Layer, sig)
	}
	ref, err := name.NewDigest(w.Ref, name.WeakValidation)
	if err != nil {
		return err
	}
	h, err := v1.NewHash(ref.DigestStr())
	if err != nil {
		return err
	}
	if w.Location == layout.LocationFallback {
		unlist := func() (int, error) {
			idx, err := c.referrers(nil)
			if err != nil {
				return 0, err
			}
			if listed, _, err := c.listedIn(idx, ref); err != nil || !listed {
				return 0, err
			}
			return 3, c.unlistFallback(idx, h) // the index's HEAD and PUT after the read
		}
		gone := func() (bool, string, error) {
			idx, err := c.referrers(nil)
			if err != nil {
				return false, "", err
			}
			listed, sum, err := c.listedIn(idx, ref)
			return !listed, sum, err
		}
		if err := c.commit(ctx, &Written{Ref: w.Ref}, unlist, gone); err != nil {
			return err
		}
		// Unlisted, no verifier finds it: the manifest itself goes too
		// where the registry deletes manifests.
		if err := c.deleteReferrers(h); err != nil {
			c.s.o.Logger.InfoContext(ctx, "could not delete an unlisted referrer manifest; no verifier lists it", "ref", w.Ref, "err", err)
		}
		return nil
	}
	return c.deleteReferrers(h)
}

// withdrawLegacy removes our layer (its digest, its signature) from the
// signature manifest under tag: every copy of it, since Sign appends one
// only when no equivalent signature was there.
func (c *signCall) withdrawLegacy(ctx context.Context, tag name.Tag, layer v1.Hash, sig string) error {
	ours := func(s oci.Signature) bool {
		d, err1 := s.Digest()
		b64, err2 := s.Base64Signature()
		return err1 == nil && err2 == nil && d == layer && b64 == sig
	}
	remove := func() (int, error) {
		base, sigs, err := c.readLegacy(tag)
		if err != nil || !slices.ContainsFunc(sigs, ours) {
			return 0, err
		}
		drop := slices.IndexFunc(sigs, ours)
		// The read, the config's POST and PUT, the HEAD, the put.
		return 5, c.removeLegacy(tag, base, sigs, drop)
	}
	gone := func() (bool, string, error) {
		sigs, state, err := c.legacyState(tag)
		if err != nil {
			return false, "", err
		}
		return !slices.ContainsFunc(sigs, ours), state, nil
	}
	return c.commit(ctx, &Written{Ref: tag.String()}, remove, gone)
}
