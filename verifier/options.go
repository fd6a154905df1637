package verifier

import (
	"crypto"
	"fmt"
	"log/slog"
	"regexp"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Options configure Verify.
type Options struct {
	// RemoteOptions are used for every registry request (auth, transport,
	// user agent, retries). Verify adds remote.WithContext itself.
	RemoteOptions []remote.Option
	// Logger receives details at debug level; nil logs nothing.
	Logger *slog.Logger
	// Policy is what a signature must satisfy.
	Policy Policy
	// Trust says which roots, logs and authorities are trusted.
	Trust Trust
	// Layouts limits the search to these layouts; nil searches every one
	// (the legacy tag, simple-signing and bundle referrers in the referrers
	// API and the fallback index). A caller that knows where the signature
	// is, such as a release verifying what it has just written, names that
	// layout and saves the other look-ups: LayoutBundleReferrers and
	// LayoutBundleFallback for bundles.
	Layouts []Layout
	// AllowUnboundAnnotations accepts a signature whose annotations
	// disagree with what its certificate certifies (a CI job's commit,
	// ref, project or job: ci.Certified), reporting them in
	// Binding.Unbound. By default such a signature fails the policy
	// (CheckBinding): a job can sign any annotation, but its certificate
	// holds what the CI provider vouched for.
	AllowUnboundAnnotations bool
	// MaxCandidates bounds the signature candidates (signature layers and
	// referrers) one verification examines; 0 is DefaultMaxCandidates.
	MaxCandidates int
}

// Policy is what a signature must satisfy: a key, or a keyless identity
// (one of Identity/IdentityRegexp and one of Issuer/IssuerRegexp), and
// every annotation in Annotations.
type Policy struct {
	// Key is a public key reference: a PEM file, env://VAR, or a KMS URI
	// of a provider linked into the program.
	Key string
	// PublicKey is a public key given directly (e.g. the signer's own, when
	// a release verifies what it just signed); exclusive with Key.
	PublicKey crypto.PublicKey
	// Identity is the exact certificate subject (SAN), e.g.
	// https://gitlab.example.com/g/p//.gitlab-ci.yml@refs/heads/main.
	Identity       string
	IdentityRegexp string
	// Issuer is the exact OIDC issuer recorded in the certificate.
	Issuer       string
	IssuerRegexp string
	// Annotations must all be present, with these values, in the signed
	// payload's "optional" field (simple signing) or in the annotations of
	// the signed statement's subject (bundles).
	Annotations map[string]string
	// GitHubWorkflow are values a keyless certificate's GitHub Actions
	// extensions must hold, as cosign's --certificate-github-workflow-*
	// flags require; the empty ones are not checked.
	GitHubWorkflow GitHubWorkflow
}

// GitHubWorkflow is what Fulcio records of a GitHub Actions job in its
// certificate (the extensions 1.3.6.1.4.1.57264.1.2 to .6 cosign checks).
type GitHubWorkflow struct {
	Trigger    string // the event, e.g. push
	SHA        string // the commit
	Name       string // the workflow's name
	Repository string // owner/repo
	Ref        string // e.g. refs/heads/main
}

// fields are the constraints, by the name of cosign's flag suffix.
func (w GitHubWorkflow) fields() [][2]string {
	return [][2]string{{"trigger", w.Trigger}, {"sha", w.SHA}, {"name", w.Name}, {"repository", w.Repository}, {"ref", w.Ref}}
}

// Trust says which roots, logs and authorities are trusted. With none of
// TrustedRoot, CARoots or TimestampCertChain set, keyless verification
// (and keyed, with a TUF repository named) uses the trusted root of the
// TUF repository: Sigstore's public-good one unless TUFMirror is set.
// Simple-signing signatures and bundles are verified against the same
// trust: for bundles, CA and TSA files are made into sigstore-go trusted
// material with the Rekor and CT log keys cosign finds for them
// (SIGSTORE_REKOR_PUBLIC_KEY, SIGSTORE_CT_LOG_PUBLIC_KEY_FILE or TUF), and
// a policy key is trusted material of its own.
type Trust struct {
	// TrustedRoot is a sigstore trusted_root.json (Fulcio CAs, Rekor and
	// CT log keys, timestamp authorities).
	TrustedRoot string
	// CARoots and CAIntermediates are PEM files of Fulcio CA certificates,
	// used instead of a trusted root.
	CARoots         string
	CAIntermediates string
	// TimestampCertChain is the PEM chain of a timestamp authority; its
	// timestamps then vouch for signing time. With a trusted root, the
	// root's timestamp authorities do.
	TimestampCertChain string
	// RekorURL is used to look up simple-signing signatures without a
	// Rekor bundle; "" means only bundles are checked (offline). Sigstore
	// bundles are always checked offline, from their inclusion proofs.
	RekorURL string
	// TUFMirror and TUFRoot name a Sigstore TUF repository and its
	// root.json (`cosign initialize --mirror --root`); "" and "" are the
	// public-good one with its embedded root.
	TUFMirror, TUFRoot string
	// IgnoreTlog skips the transparency log check (private setups without
	// Rekor). Explicit only.
	IgnoreTlog bool
	// IgnoreSCT skips the certificate's SCT check (a private Fulcio without
	// a CT log). Explicit only.
	IgnoreSCT bool
}

func (p *Policy) keyless() bool { return p.Key == "" && p.PublicKey == nil }

// validate refuses a policy cosign would refuse: neither a key nor an
// identity and an issuer; or a key together with identity constraints.
func (p *Policy) validate() error {
	hasIdentity := p.Identity != "" || p.IdentityRegexp != ""
	hasIssuer := p.Issuer != "" || p.IssuerRegexp != ""
	switch {
	case p.Key != "" && p.PublicKey != nil:
		return fmt.Errorf("%w: a key reference and a public key are exclusive", ErrPolicy)
	case !p.keyless() && (hasIdentity || hasIssuer || p.GitHubWorkflow != GitHubWorkflow{}):
		return fmt.Errorf("%w: a key and certificate identity/issuer constraints are exclusive", ErrPolicy)
	case p.keyless() && (!hasIdentity || !hasIssuer):
		return ErrNoPolicy
	case p.Identity != "" && p.IdentityRegexp != "":
		return fmt.Errorf("%w: give an identity or an identity regexp, not both", ErrPolicy)
	case p.Issuer != "" && p.IssuerRegexp != "":
		return fmt.Errorf("%w: give an issuer or an issuer regexp, not both", ErrPolicy)
	}
	for _, re := range []string{p.IdentityRegexp, p.IssuerRegexp} {
		if _, err := regexp.Compile(re); err != nil {
			return fmt.Errorf("%w: %w", ErrPolicy, err)
		}
	}
	for k := range p.Annotations {
		if k == "" {
			return fmt.Errorf("%w: empty annotation key", ErrPolicy)
		}
	}
	return nil
}
