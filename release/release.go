package release

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/internal/parallel"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/verifier"
)

// Run builds and pushes the image by digest, signs the pushed digest (and
// with Recursive each platform's manifest), verifies the signatures, and
// only then points the tags at the digest, one manifest PUT per tag: a tag
// only ever names a signed and verified image, and a release that fails
// before the tag stage leaves no new tag (the untagged digest may stay).
//
// Keyless, the identity token is checked before anything else; then the
// Sigstore services the signature needs (doctor.Sigstore), unless
// SkipServiceChecks. The signer
// is prepared while the build runs; the push waits until it is ready and
// the verifier loaded, and does not happen when either fails. Each
// digest's verification starts as soon as its signature is stored.
// Errors are *Error, tagged with the stage that failed.
func Run(ctx context.Context, o Options) (*Result, error) {
	obs := o.Observer
	if obs == nil {
		obs = noObserver{}
	}
	if o.Build.Request.Provenance != nil && !o.Signer.Bundle {
		return nil, StageError(StageUsage, errors.New("signed provenance is a bundle attestation: it needs {signer.Options.Bundle}"))
	}
	if o.Build.Request.SBOMGenerator != "" && !o.Signer.Bundle {
		return nil, StageError(StageUsage, errors.New("a signed SBOM is a bundle attestation: it needs {signer.Options.Bundle}"))
	}
	if len(o.Pool) > 0 {
		return runPool(ctx, o, obs)
	}
	if err := checkToken(o); err != nil {
		return nil, err
	}
	if !o.SkipServiceChecks {
		if err := checkServices(ctx, o, obs); err != nil {
			return nil, err
		}
	}

	pending := StartSigner(ctx, o.Signer)
	defer pending.Stop()
	var setup *signingSetup
	var prepareErr error
	build := o.Build
	build.Request.PushByDigest = true
	if o.RegistryCache {
		build.Request.CacheFrom, build.Request.CacheTo = withRegistryCache(build)
	}
	build.Request.BeforeExport = func(exportCtx context.Context) error {
		setup, prepareErr = prepare(ctx, exportCtx, o, pending)
		return prepareErr
	}
	end := obs.Stage(StageBuild, "build and push "+strings.Join(build.Tags, ", "))
	built, err := buildStage(ctx, build)
	end()
	if prepareErr != nil {
		return nil, prepareErr
	}
	if err != nil {
		return nil, err
	}
	if setup == nil {
		return nil, StageError(StageBuild, errors.New("the build exported without calling BeforeExport"))
	}
	res, err := signAndVerify(ctx, o, obs, setup, built, o.Recursive)
	if err != nil {
		return nil, err
	}
	end = obs.Stage(StageTag, "tag "+strings.Join(build.Tags, ", "))
	err = tagStage(ctx, build, built)
	end()
	if err != nil {
		return nil, err
	}
	return res, nil
}

// signAndVerify signs what was built (with recursive each platform's
// manifest too) and verifies the signatures, each in its stage.
func signAndVerify(ctx context.Context, o Options, obs Observer, setup *signingSetup, built *builder.Result, recursive bool) (*Result, error) {
	res := &Result{Build: built, Policy: setup.policy, Identity: setup.signer.Identity()}

	// With provenance each platform manifest is signed too: it is what
	// the provenance is about (and, for one platform, the image a release
	// without provenance signs), and the pushed digest is an index.
	subjects := Subjects(built, recursive || o.Build.Request.Provenance != nil)
	if o.Build.Request.Provenance != nil {
		// The consistency gate: nothing is signed unless every platform's
		// provenance is about what was pushed, by this job.
		provs, err := readProvenances(ctx, o.Build.Registry.RemoteOptions(ctx), built, o.Build.Request)
		if err != nil {
			return nil, StageError(StageSign, err)
		}
		res.Provenance = provs
		for _, p := range provs {
			subjects = append(subjects, p.AttestationManifest)
		}
	}
	if o.Build.Request.SBOMGenerator != "" {
		sboms, err := readSBOMs(ctx, o.Build.Registry.RemoteOptions(ctx), built)
		if err != nil {
			return nil, StageError(StageSign, err)
		}
		res.SBOMs = sboms
		subjects = withAttestationManifests(subjects, sboms)
	}
	end := obs.Stage(StageSign, "sign "+built.Image.String())
	var verified []verification
	var err error
	// Each platform's provenance is attested as soon as its manifest's
	// signature is written, while the other subjects are still signed.
	res.Signatures, verified, err = signAll(ctx, setup, subjects, o.Annotations, attestAfterSigning(ctx, setup.signer, built, subjects, res.Provenance))
	if err != nil {
		end()
		return nil, err
	}
	if len(res.SBOMs) > 0 {
		if err = attestSBOMs(ctx, setup.signer, built, res.SBOMs); err != nil {
			err = StageError(StageSign, err)
		}
	}
	for _, s := range res.Signatures {
		obs.Signed(s, res.Identity)
	}
	end()
	if err != nil {
		return nil, err
	}

	if res.Verifications, err = verifyStage(obs, setup, built, verified); err != nil {
		return nil, err
	}
	return res, nil
}

// verifyStage reports the verifications of what was built, in the Verify
// stage, and returns their results, or the first failure (verifiedAll).
func verifyStage(obs Observer, setup *signingSetup, built *builder.Result, verified []verification) ([]*verifier.Result, error) {
	end := obs.Stage(StageVerify, "verify "+built.Image.String())
	defer end()
	res, err := verifiedAll(verified)
	for _, v := range res {
		obs.Verified(v, setup.policy)
	}
	return res, err
}

// checkToken checks a keyless release's identity token before anything
// else.
func checkToken(o Options) error {
	if o.Signer.Key == "" {
		if err := signer.CheckToken(o.Signer.IdentityToken, o.Signer.TokenAudience); err != nil {
			return StageError(StageSign, err)
		}
	}
	return nil
}

// tagStage points build's tags at the built digest and records them in
// built.Tags.
func tagStage(ctx context.Context, build BuildOptions, built *builder.Result) error {
	tags, err := parseTags(build.Registry, build.Tags)
	if err != nil {
		return StageError(StageUsage, err) // Build parsed them already
	}
	if err := tagAll(ctx, build.Registry, built.Image, tags); err != nil {
		return StageError(StageTag, err)
	}
	built.Tags = built.Tags[:0]
	for _, t := range tags {
		built.Tags = append(built.Tags, t.String())
	}
	return nil
}

// buildStage is Build; tests stand in for buildkitd here.
var buildStage = Build

// signingSetup is what a release needs before it pushes: the signer, and
// the verifier of its signatures with the policy it checks.
type signingSetup struct {
	signer   *signer.Signer
	verifier *verifier.Verifier
	policy   verifier.Policy
}

// prepare waits (within waitCtx) for the signer pending prepares and loads
// the verifier for the policy completed from it.
func prepare(ctx, waitCtx context.Context, o Options, pending *PendingSigner) (*signingSetup, error) {
	s, err := pending.Signer(waitCtx)
	if err != nil {
		return nil, StageError(StageSign, err)
	}
	// Annotations the certificate disagrees with: nothing is pushed.
	if err := s.CheckAnnotations(o.Annotations); err != nil {
		return nil, StageError(StageSign, err)
	}
	if err := checkCertified(o.Build.Request.Provenance, s.Certificate()); err != nil {
		return nil, StageError(StageSign, err)
	}
	p, err := CompletePolicy(o.Policy, s, o.JobIdentity)
	if err != nil {
		return nil, StageError(StageVerify, err)
	}
	v, err := verifier.New(ctx, verifier.Options{
		RemoteOptions: o.Build.Registry.RemoteOptions(ctx), Logger: o.Logger, Policy: p, Trust: o.Trust,
		Layouts: writtenLayouts(o.Signer),
	})
	if err != nil {
		return nil, StageError(StageVerify, err)
	}
	return &signingSetup{signer: s, verifier: v, policy: p}, nil
}

// verifiedAll returns the verifications' results, or the first failure
// (saying how many failed) as a StageVerify error.
func verifiedAll(verified []verification) ([]*verifier.Result, error) {
	out := make([]*verifier.Result, len(verified))
	errs := make([]error, len(verified))
	for i, v := range verified {
		out[i], errs[i] = v.res, v.err
	}
	if err := parallel.FirstError(errs); err != nil {
		return nil, StageError(StageVerify, fmt.Errorf("signature written but verification failed: %w", err))
	}
	return out, nil
}
