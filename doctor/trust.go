package doctor

import (
	"context"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark/internal/limits"
	"github.com/hallmark-dev/hallmark/internal/sigstoretuf"
)

// CheckTrust is the check of where the trusted root and the signing
// config come from.
const CheckTrust = "trust"

// trust is the trusted root the release verifies (and, keyless, checks
// the certificate's SCT) with, resolved as the verifier and the signer
// resolve it: a trusted_root.json file, or else the TUF repository's
// (Sigstore's public-good one unless a mirror is named). root is nil when
// no trusted root is used (signing with a key and verifying with it, or
// Fulcio's roots as CA files) or when it cannot be had (err).
type trust struct {
	path   string // the file, "" from TUF or none
	source string // "file PATH", "TUF mirror URL (root vN, targets vM)"; "" for none
	root   *root.TrustedRoot
	err    error
}

// loadTrust resolves the trusted root: the file verification names (or
// else the signer's), or, without one, the TUF repository's when the
// verifier fetches it (keyless, or a TUF repository named; no CA or TSA
// files instead) or the signer does (keyless with the SCT checked).
func loadTrust(ctx context.Context, o Options) *trust {
	t := &trust{path: o.Verify.TrustedRoot}
	if t.path == "" {
		t.path = o.Signer.TrustedRoot
	}
	if t.path != "" {
		t.source = "file " + t.path
		t.root, t.err = limits.ReadTrustedRoot(t.path)
		return t
	}
	tuf := sigstoretuf.Options{Mirror: o.Verify.TUFMirror, Root: o.Verify.TUFRoot}
	if tuf.Mirror == "" && tuf.Root == "" {
		tuf = sigstoretuf.Options{Mirror: o.Signer.TUFMirror, Root: o.Signer.TUFRoot}
	}
	verifierTUF := o.Verify.CARoots == "" && o.Verify.TimestampCertChain == "" && (o.keyless() || tuf.Mirror != "" || tuf.Root != "")
	signerTUF := o.keyless() && !o.Signer.InsecureSkipSCT
	if !verifierTUF && !signerTUF {
		return t
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var src sigstoretuf.Source
	t.root, src, t.err = sigstoretuf.TrustedRootFrom(ctx, tuf)
	t.source = src.String()
	return t
}

// name is how messages name the trusted root: its file, or its source.
func (t *trust) name() string {
	if t.path != "" {
		return t.path
	}
	return "from " + t.source
}

// unavailable skips c: the trust check says why the trusted root cannot
// be had.
func (t *trust) unavailable(c Check) Check {
	return c.skip("not checked: the trusted root is unavailable (see the trust check)")
}

// checkTrust reports where the trusted root and the signing config come
// from, and fails when the trusted root cannot be had, or, keyless, lists
// no Fulcio certificate authority to verify the certificates with.
func checkTrust(_ context.Context, o Options, tr *trust) Check {
	c := newCheck(CheckTrust, StageSign)
	svc := o.services()
	sc := svc.Source
	if sc == "" {
		sc = "the service URL options"
	}
	c.Facts["signingConfig"] = sc
	if tr.source != "" {
		c.Facts["trustedRoot"] = tr.source
	}
	switch {
	case tr.err != nil && tr.path != "":
		c = c.fail("reading the trusted root "+tr.path+": "+oneLine(tr.err), "give {verifier.Trust.TrustedRoot} a sigstore trusted_root.json")
		c.Err = tr.err
		return c
	case tr.err != nil:
		c = c.fail("getting the trusted root from "+tr.source+": "+oneLine(tr.err),
			"check {signer.Options.TUFMirror}, {signer.Options.TUFRoot} and the network, or give {verifier.Trust.TrustedRoot} a sigstore trusted_root.json")
		c.Err = tr.err
		return c
	case tr.root == nil:
		return c.ok("no trusted root used (signing with a key, or Fulcio's roots from {verifier.Trust.CARoots}); services from " + sc)
	}
	detail := fmt.Sprintf("trusted root from %s; services from %s", tr.source, sc)
	if o.keyless() {
		cas := fulcioCAs(tr.root)
		if len(cas) == 0 {
			return c.fail("the trusted root "+tr.name()+" lists no Fulcio certificate authority: keyless signatures cannot be verified",
				"add Fulcio's certificate chain to the trusted root (cosign trusted-root create --fulcio)")
		}
		if u := svc.Fulcio; u != "" && !fulcioListed(cas, u) {
			return c.warn(fmt.Sprintf("%s, but the trusted root lists no Fulcio at %s (it lists %s): its certificates verify only if one of those CAs issued them",
				detail, u, strings.Join(cas, ", ")), "use a trusted root and a signing config of the same Sigstore instance")
		}
	}
	return c.ok(detail)
}

// fulcioCAs are the URIs of the trusted root's Fulcio CAs ("(no URI)" for
// one without).
func fulcioCAs(tr *root.TrustedRoot) []string {
	var out []string
	for _, ca := range tr.FulcioCertificateAuthorities() {
		uri := "(no URI)"
		if f, ok := ca.(*root.FulcioCertificateAuthority); ok && f.URI != "" {
			uri = f.URI
		}
		out = append(out, uri)
	}
	return out
}

// fulcioListed reports whether u is one of the CA URIs, or a CA has none
// (nothing to compare).
func fulcioListed(cas []string, u string) bool {
	for _, ca := range cas {
		if ca == "(no URI)" || sameURL(ca, u) {
			return true
		}
	}
	return false
}
