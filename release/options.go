package release

import (
	"log/slog"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/builder/pool"
	"github.com/hallmark-dev/hallmark/ci"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/verifier"
)

// Options are one release.
type Options struct {
	// Build is the build and push; its Request.BeforeExport is Run's.
	Build BuildOptions
	// Pool are the buildkitd nodes of a release spread over several
	// (see runPool); empty means Build.Connect's one buildkitd.
	Pool []pool.Node
	// Balance bounds the pool's nodes' loads (pool.Balance); the zero
	// value places each platform by hashing alone.
	Balance pool.Balance
	// RegistryCache imports and exports a registry cache next to the
	// image, REPO/buildcache:CacheTag(platforms), per platform on a pool.
	RegistryCache bool
	// Signer configures the signer, prepared while the build runs. Its
	// RemoteOptions, Logger and ShortestRoundTrip should come from
	// Build.Registry.
	Signer signer.Options
	// Annotations are attached to every signature.
	Annotations map[string]string
	// Build.Request.Provenance asks BuildKit for provenance: Run then
	// checks each platform's (the consistency gate: platforms, subject,
	// builder id, VCS source and revision, against the request and the
	// signing certificate, where both know the value) before it signs
	// anything, signs each platform manifest and BuildKit's attestation
	// manifests with the image (an index), and attests each platform's
	// provenance (Provenance.Attestation; one already stored is reused).
	// It needs Signer.Bundle.
	//
	// Build.Request.SBOMGenerator asks BuildKit for an SPDX SBOM of each
	// platform: Run checks each is about the pushed platform manifest,
	// signs BuildKit's attestation manifests with the image and attests
	// each SBOM (SBOM.Attestation, predicate type layout.PredicateTypeSPDX,
	// the document byte for byte). It needs Signer.Bundle.
	//
	// Recursive also signs and verifies each platform manifest of a
	// multi-platform index (with provenance they are signed anyway).
	Recursive bool
	// Policy is the verification policy as given; Run completes it (see
	// CompletePolicy).
	Policy verifier.Policy
	// JobIdentity is the CI job's own keyless identity (ci.Env.Policy),
	// expected of a keyless signature where Policy does not say; nil
	// outside CI, where the signing certificate's identity is expected.
	JobIdentity *ci.Policy
	// Trust is what verification trusts.
	Trust verifier.Trust
	// SkipServiceChecks skips the Sigstore checks Run makes before it
	// builds (doctor.Sigstore: the OIDC issuer, Fulcio, the CT log, Rekor,
	// the TSA, the insecure flags' coherence).
	SkipServiceChecks bool
	// Logger receives details at debug level; nil logs nothing.
	Logger *slog.Logger
	// Observer is told when stages start and end and what each signed and
	// verified; nil observes nothing.
	Observer Observer
}

// Observer follows a release. Signed and Verified are called in the order
// of the digests, once all of them are signed (verified), within their
// stage.
type Observer interface {
	// Stage is called when stage s starts, with a title naming what it
	// works on; the returned function when it ends.
	Stage(s Stage, title string) (end func())
	// Signed reports one digest's signature, made by identity.
	Signed(res *signer.Result, identity string)
	// Verified reports one digest's verification with policy.
	Verified(res *verifier.Result, policy verifier.Policy)
}

// Result is what a release did.
type Result struct {
	// Build is what was pushed.
	Build *builder.Result
	// Signatures are the digests signed, the pushed one first, then with
	// Recursive each platform's manifest.
	Signatures []*signer.Result
	// Verifications are their verifications, in the same order.
	Verifications []*verifier.Result
	// Policy is the completed policy the signatures were verified with.
	Policy verifier.Policy
	// Identity is the signer's identity (key or certificate subject).
	Identity string
	// Nodes say which node built which platform (a pool release).
	Nodes []PlatformNode
	// Down are the nodes of the pool that were down when the release
	// started.
	Down []pool.Skip
	// Provenance is each platform's signed provenance, with
	// Build.Request.Provenance; the signatures of BuildKit's attestation
	// manifests follow the image's in Signatures.
	Provenance []Provenance
	// SBOMs are each platform's signed SPDX SBOMs, with
	// Build.Request.SBOMGenerator; the signatures of BuildKit's
	// attestation manifests follow the image's in Signatures.
	SBOMs []SBOM
}

type noObserver struct{}

func (noObserver) Stage(Stage, string) func()                 { return func() {} }
func (noObserver) Signed(*signer.Result, string)              {}
func (noObserver) Verified(*verifier.Result, verifier.Policy) {}

// logger is Logger, or one that logs nothing.
func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}
