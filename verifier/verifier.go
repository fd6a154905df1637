package verifier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/hallmark-dev/hallmark/layout"
)

// Verified is a signature that satisfies the policy.
type Verified struct {
	// Format is the signature's format; Layout and Ref say where it was
	// found (Ref: the signature tag, or the referrer manifest's digest).
	Format Format
	Layout Layout
	Ref    string
	// Signature is a simple-signing signature (FormatSimpleSigning).
	Signature oci.Signature
	// BundleVerified is true when a simple-signing signature's
	// transparency-log bundle verified.
	BundleVerified bool
	// CertificateVerified is true when a simple-signing signature's
	// certificate was checked (keyless: its chain and identity). With a
	// key it is not, and a certificate attached to the signature, anyone's,
	// is not reported.
	CertificateVerified bool
	// Bundle and Statement are a bundle signature (FormatBundle) and its
	// verified signing statement: the digest and the annotations.
	Bundle    *sgbundle.Bundle
	Statement *layout.SignStatement
	// Binding says which annotations the certificate vouches for.
	Binding *Binding
}

// Result reports a successful Verify.
type Result struct {
	Digest name.Digest
	// Verified are the signatures satisfying the policy (at least one).
	Verified []Verified
	// Failures are the signatures found that do not satisfy it, and why.
	Failures []*CheckError
	// Skipped counts signature candidates not examined, past
	// Options.MaxCandidates.
	Skipped int
	// Unreadable are the layouts whose listing could not be read, each
	// logged as a warning: the signatures of the others decided.
	Unreadable []Unreadable
}

// Checked is the number of signatures found and checked.
func (r *Result) Checked() int { return len(r.Verified) + len(r.Failures) }

// Verifier checks signatures against one policy, with the trust material
// (keys, roots, timestamp authorities, logs) loaded once. It is safe for
// concurrent use.
type Verifier struct {
	opts    Options
	co      *cosign.CheckOpts
	bundles *bundleVerifier
	log     *slog.Logger
}

// New checks the policy and loads the trust material. It fails with
// ErrNoPolicy for an empty policy, ErrPolicy for a malformed one and
// ErrLoad for material that cannot be read.
func New(ctx context.Context, opts Options) (*Verifier, error) {
	if err := opts.Policy.validate(); err != nil {
		return nil, err
	}
	co, err := checkOpts(ctx, &opts.Policy, &opts.Trust)
	if err != nil {
		return nil, err
	}
	bv, err := newBundleVerifier(&opts.Policy, &opts.Trust, co)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Verifier{opts: opts, co: co, bundles: bv, log: log}, nil
}

// Verify is New and Verifier.Verify in one.
func Verify(ctx context.Context, digest name.Digest, opts Options) (*Result, error) {
	v, err := New(ctx, opts)
	if errors.Is(err, ErrPolicy) || errors.Is(err, ErrNoPolicy) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("verifying %s: %w", digest, err)
	}
	return v.Verify(ctx, digest)
}

// Verify finds every signature of digest and checks each against the
// policy. It fails with an error wrapping ErrNoSignatures when there are
// none, and with a *NoMatchError when none satisfies the policy.
func (v *Verifier) Verify(ctx context.Context, digest name.Digest) (result *Result, err error) {
	opts, log := v.opts, v.log
	// A copy per call: cosign may fill in a CheckOpts' certificate pools.
	co := *v.co
	h, err := v1.NewHash(digest.DigestStr())
	if err != nil {
		return nil, fmt.Errorf("verifying %s: %w", digest, err)
	}
	ropts := append(slices.Clone(opts.RemoteOptions), remote.WithContext(ctx))
	// One puller for the whole search: one ping and token exchange. ggcr's
	// own tag fallback is off: collect reads the fallback index anyway.
	pl, err := remote.NewPuller(append(ropts, remote.WithReferrersTagFallback(false))...)
	if err != nil {
		return nil, fmt.Errorf("verifying %s: %w", digest, err)
	}
	ropts = append(ropts, remote.Reuse(pl))
	cands := newCandidates(opts.MaxCandidates)
	defer func() { result, err = cands.report(ctx, log, result, err) }()
	sigs, unreadable := collectUpTo(digest, ropts, cands, opts.Layouts...)
	res, skipped := &Result{Digest: digest, Unreadable: unreadable}, 0
	c := newChecker(&opts.Policy, &co, v.bundles, h)
	c.allowUnbound = opts.AllowUnboundAnnotations
	for _, f := range sigs {
		where := location(f.layout, f.ref, f.index)
		ver, cerr, skip := c.checkFound(ctx, f)
		switch {
		case skip != nil:
			skipped++
			log.DebugContext(ctx, "bundle skipped", "where", where, "reason", skip.Error())
		case cerr != nil:
			cerr.Layout, cerr.Ref, cerr.Index = f.layout, f.ref, f.index
			log.DebugContext(ctx, "signature does not satisfy the policy", "where", where, "reason", cerr.Error())
			res.Failures = append(res.Failures, cerr)
		default:
			log.DebugContext(ctx, "signature verified", "where", where, "format", ver.Format)
			res.Verified = append(res.Verified, ver)
		}
	}
	if len(res.Verified) == 0 {
		return nil, withUnreadable(noneVerified(res, skipped), digest, unreadable) // the error names them
	}
	for _, u := range unreadable {
		log.WarnContext(ctx, "a signature layout could not be read; the others decided", "layout", u.Layout, "err", u.Err)
	}
	return res, nil
}

// noneVerified is the error of a verification that verified nothing.
func noneVerified(res *Result, skipped int) error {
	switch {
	case res.Checked() == 0 && skipped > 0:
		return fmt.Errorf("%w for %s (%d bundles that are not signatures skipped)", ErrNoSignatures, res.Digest, skipped)
	case res.Checked() == 0:
		return fmt.Errorf("%w for %s", ErrNoSignatures, res.Digest)
	}
	return &NoMatchError{Digest: res.Digest, Failures: res.Failures}
}

// withUnreadable adds the unreadable layouts to err: when only they held
// signatures, they are the reason.
func withUnreadable(err error, digest name.Digest, unreadable []Unreadable) error {
	if len(unreadable) == 0 {
		return err
	}
	errs := make([]error, len(unreadable))
	for i, u := range unreadable {
		errs[i] = u
	}
	if len(unreadable) == 1 {
		return fmt.Errorf("verifying %s: %w; %w", digest, errs[0], err)
	}
	return fmt.Errorf("verifying %s: %w; %w", digest, errors.Join(errs...), err)
}

// checkFound checks one signature found, in its format. skip is set for a
// bundle that is not a signature (an attestation).
func (c *checker) checkFound(ctx context.Context, f found) (ver Verified, cerr *CheckError, skip error) {
	ver = Verified{Format: FormatOf(f.layout), Layout: f.layout, Ref: f.ref}
	switch {
	case f.readErr != nil:
		return ver, &CheckError{Check: CheckRead, Err: f.readErr}, nil
	case f.bundle != nil:
		st, cerr, skip := c.checkBundle(f.bundle)
		ver.Bundle, ver.Statement = f.bundle, st
		if cerr == nil && skip == nil {
			ver.Binding, cerr = c.bind(bundleCert(f.bundle), st.Annotations)
		}
		return ver, cerr, skip
	}
	ver.Signature = f.sig
	ver.CertificateVerified = c.co.SigVerifier == nil
	if ver.BundleVerified, cerr = c.check(ctx, f.sig); cerr == nil {
		ver.Binding, cerr = c.bind(signatureCert(f.sig), payloadAnnotations(f.sig))
	}
	return ver, cerr, nil
}

// Layouts counts verified signatures per layout, for summaries.
func (r *Result) Layouts() map[Layout]int {
	m := map[Layout]int{}
	for _, v := range r.Verified {
		m[v.Layout]++
	}
	return m
}
