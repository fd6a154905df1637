package verifier

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// checker checks one signature at a time. The checks before cosign's own
// only name the first reason a signature fails; acceptance is always
// cosign.VerifyImageSignature's.
type checker struct {
	policy  *Policy
	co      *cosign.CheckOpts
	bundles *bundleVerifier
	digest  v1.Hash
	// identityRe and issuerRe are the policy's regexps, compiled once per
	// verification (the policy was validated: they compile); nil when the
	// policy gives none.
	identityRe, issuerRe *regexp.Regexp
	// allowUnbound accepts annotations the certificate disagrees with
	// (Options.AllowUnboundAnnotations).
	allowUnbound bool
}

func newChecker(p *Policy, co *cosign.CheckOpts, bundles *bundleVerifier, digest v1.Hash) *checker {
	c := &checker{policy: p, co: co, bundles: bundles, digest: digest}
	if p.IdentityRegexp != "" {
		c.identityRe, _ = regexp.Compile(p.IdentityRegexp)
	}
	if p.IssuerRegexp != "" {
		c.issuerRe, _ = regexp.Compile(p.IssuerRegexp)
	}
	return c
}

// check returns whether a transparency-log bundle verified, or why sig
// fails the policy.
func (c *checker) check(ctx context.Context, sig oci.Signature) (bool, *CheckError) {
	sig, err := static.Copy(sig)
	if err != nil {
		return false, &CheckError{Check: CheckPayload, Err: err}
	}
	p, raw, cerr := c.readPayload(sig)
	if cerr != nil {
		return false, cerr
	}
	if cerr := c.checkSigner(sig, p, raw); cerr != nil {
		return false, cerr
	}
	if cerr := c.checkAnnotations(p); cerr != nil {
		return false, cerr
	}
	if cerr := c.checkTimestamp(sig); cerr != nil {
		return false, cerr
	}
	bundle, err := verifyWithCosign(ctx, sig, c.digest, c.co)
	if err != nil {
		return false, &CheckError{Check: classify(err), Err: err}
	}
	return bundle, nil
}

// readPayload parses the simple-signing payload and checks it names the
// digest being verified.
func (c *checker) readPayload(sig oci.Signature) (*payload.SimpleContainerImage, []byte, *CheckError) {
	b, err := sig.Payload()
	if err != nil {
		return nil, nil, &CheckError{Check: CheckPayload, Err: err}
	}
	var p payload.SimpleContainerImage
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, nil, &CheckError{Check: CheckPayload, Err: err}
	}
	if p.Critical.Type != payload.CosignSignatureType {
		return nil, nil, &CheckError{Check: CheckPayload, Want: payload.CosignSignatureType, Got: p.Critical.Type}
	}
	if got := p.Critical.Image.DockerManifestDigest; got != c.digest.String() {
		return nil, nil, &CheckError{Check: CheckDigest, Want: c.digest.String(), Got: got,
			Err: errors.New("signature is for another image")}
	}
	return &p, b, nil
}

// checkSigner checks who signed: the key, or the certificate's issuer and
// subject, and that the signature matches the payload.
func (c *checker) checkSigner(sig oci.Signature, p *payload.SimpleContainerImage, b []byte) *CheckError {
	raw, err := sig.Signature()
	if err != nil {
		return &CheckError{Check: CheckPayload, Err: err}
	}
	if !c.policy.keyless() {
		if err := c.co.SigVerifier.VerifySignature(bytes.NewReader(raw), bytes.NewReader(b)); err != nil {
			return &CheckError{Check: CheckKey, Err: errors.New("signature does not verify with the given key")}
		}
		return nil
	}
	cert, err := sig.Cert()
	if err != nil || cert == nil {
		return &CheckError{Check: CheckCertificate, Err: errors.New("no certificate on the signature (signed with a key?)")}
	}
	if cerr := c.checkIdentity(cert); cerr != nil {
		return cerr
	}
	v, err := signature.LoadVerifier(cert.PublicKey, crypto.SHA256)
	if err == nil {
		err = v.VerifySignature(bytes.NewReader(raw), bytes.NewReader(b))
	}
	if err != nil {
		return &CheckError{Check: CheckSignature, Err: errors.New("signature does not match the payload and certificate (tampered?)")}
	}
	return nil
}

func (c *checker) checkIdentity(cert *x509.Certificate) *CheckError {
	p := c.policy
	issuer := (&cosign.CertExtensions{Cert: cert}).GetIssuer()
	if !matches(p.Issuer, c.issuerRe, []string{issuer}) {
		return &CheckError{Check: CheckIssuer, Want: want(p.Issuer, p.IssuerRegexp), Got: issuer}
	}
	sans := cryptoutils.GetSubjectAlternateNames(cert)
	if !matches(p.Identity, c.identityRe, sans) {
		return &CheckError{Check: CheckIdentity, Want: want(p.Identity, p.IdentityRegexp), Got: strings.Join(sans, ", ")}
	}
	return checkWorkflow(p.GitHubWorkflow, cert)
}

// checkWorkflow checks the certificate's GitHub Actions extensions
// against the policy's, as cosign's --certificate-github-workflow-* do.
func checkWorkflow(w GitHubWorkflow, cert *x509.Certificate) *CheckError {
	ce := cosign.CertExtensions{Cert: cert}
	got := map[string]string{
		"trigger": ce.GetCertExtensionGithubWorkflowTrigger(), "sha": ce.GetExtensionGithubWorkflowSha(),
		"name": ce.GetCertExtensionGithubWorkflowName(), "repository": ce.GetCertExtensionGithubWorkflowRepository(),
		"ref": ce.GetCertExtensionGithubWorkflowRef(),
	}
	for _, f := range w.fields() {
		if f[1] != "" && got[f[0]] != f[1] {
			return &CheckError{Check: CheckWorkflow, Key: f[0], Want: f[1], Got: got[f[0]]}
		}
	}
	return nil
}

func matches(exact string, re *regexp.Regexp, got []string) bool {
	if exact != "" {
		return slices.Contains(got, exact)
	}
	return re != nil && slices.ContainsFunc(got, re.MatchString)
}

func want(exact, re string) string {
	if exact != "" {
		return exact
	}
	return "/" + re + "/"
}

// checkAnnotations checks every required annotation against a
// simple-signing payload's "optional" field.
func (c *checker) checkAnnotations(p *payload.SimpleContainerImage) *CheckError {
	return c.checkAnnotationsIn(func(k string) (any, bool) { v, ok := p.Optional[k]; return v, ok })
}

// checkAnnotationValues checks every required annotation against a
// bundle statement's subject annotations.
func (c *checker) checkAnnotationValues(m map[string]string) *CheckError {
	return c.checkAnnotationsIn(func(k string) (any, bool) { v, ok := m[k]; return v, ok })
}

// checkAnnotationsIn checks every required annotation, in key order.
func (c *checker) checkAnnotationsIn(get func(key string) (any, bool)) *CheckError {
	keys := make([]string, 0, len(c.policy.Annotations))
	for k := range c.policy.Annotations {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w := c.policy.Annotations[k]
		v, ok := get(k)
		if !ok {
			return &CheckError{Check: CheckAnnotation, Key: k, Want: w, Err: errors.New("missing")}
		}
		if s, isString := v.(string); !isString || s != w {
			return &CheckError{Check: CheckAnnotation, Key: k, Want: w, Got: asString(v)}
		}
	}
	return nil
}

func asString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// classify names the check behind an error from cosign's verification.
func classify(err error) Check {
	msg := err.Error()
	has := func(subs ...string) bool {
		return slices.ContainsFunc(subs, func(s string) bool { return strings.Contains(msg, s) })
	}
	switch {
	case has("expired", "expiry"):
		return CheckCertificate
	case has("RFC3161", "timestamp bundle", "signed timestamp"):
		return CheckTimestamp
	case has("bundle", "rekor", "tlog", "transparency log", "offline verification"):
		return CheckTlog
	case has("SCT"):
		return CheckSCT
	case has("certificate", "cert verification", "x509"):
		return CheckCertificate
	case has("digest in claim"):
		return CheckDigest
	case has("annotation"):
		return CheckAnnotation
	case has("identities"):
		return CheckIdentity
	}
	return CheckOther
}
