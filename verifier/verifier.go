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
)

// Verified is a signature that satisfies the policy.
type Verified struct {
	Layout    Layout
	Ref       string // where it was found
	Signature oci.Signature
	// BundleVerified is true when its transparency-log bundle verified.
	BundleVerified bool
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
}

// Checked is the number of signatures found and checked.
func (r *Result) Checked() int { return len(r.Verified) + len(r.Failures) }

// Verifier checks signatures against one policy, with the trust material
// (keys, roots, timestamp authorities, logs) loaded once. It is safe for
// concurrent use.
type Verifier struct {
	opts Options
	co   *cosign.CheckOpts
	log  *slog.Logger
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
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Verifier{opts: opts, co: co, log: log}, nil
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
	sigs, err := collectUpTo(digest, ropts, cands, opts.Layouts...)
	if err != nil {
		return nil, fmt.Errorf("verifying %s: %w", digest, err)
	}
	if len(sigs) == 0 {
		return nil, fmt.Errorf("%w for %s", ErrNoSignatures, digest)
	}
	res := &Result{Digest: digest}
	c := &checker{policy: &opts.Policy, co: &co, digest: h}
	for _, f := range sigs {
		bundle, cerr := c.check(ctx, f.sig)
		if cerr != nil {
			cerr.Layout, cerr.Ref, cerr.Index = f.layout, f.ref, f.index
			log.DebugContext(ctx, "signature does not satisfy the policy", "where", location(f.layout, f.ref, f.index), "reason", cerr.Error())
			res.Failures = append(res.Failures, cerr)
			continue
		}
		log.DebugContext(ctx, "signature verified", "where", location(f.layout, f.ref, f.index))
		res.Verified = append(res.Verified, Verified{Layout: f.layout, Ref: f.ref, Signature: f.sig, BundleVerified: bundle})
	}
	if len(res.Verified) == 0 {
		return nil, &NoMatchError{Digest: digest, Failures: res.Failures}
	}
	return res, nil
}

// Layouts counts verified signatures per layout, for summaries.
func (r *Result) Layouts() map[Layout]int {
	m := map[Layout]int{}
	for _, v := range r.Verified {
		m[v.Layout]++
	}
	return m
}
