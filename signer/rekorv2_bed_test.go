package signer_test

import (
	"context"
	"net/http"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// requireRekorV2 returns the bed with its keyless services, skipping the
// test while the bed runs no Rekor v2.
func requireRekorV2(t *testing.T) *signertest.Bed {
	t.Helper()
	bed := signertest.RequireBed(t)
	bed.RequireSigning(t)
	if bed.RekorURL == "" || bed.SigstoreTrustedRoot == "" {
		t.Skip("the bed runs no Rekor v2 (HALLMARK_TEST_REKOR_URL, HALLMARK_TEST_SIGSTORE_TRUSTED_ROOT)")
	}
	return bed
}

// rekorTiles serves, until the test ends, the GETs of the tlog-tiles read
// API (checkpoint, tile/...) from the bed's Rekor v2, which serves them at
// its URL as public-good's logs do; it skips (under CI fails) without them.
func rekorTiles(t *testing.T, bed *signertest.Bed) http.Handler {
	t.Helper()
	bed.RequireRekorTiles(t)
	u, err := url.Parse(bed.RekorURL)
	if err != nil {
		t.Fatal(err)
	}
	return httputil.NewSingleHostReverseProxy(u)
}

// rekorV2Signer is a keyless bundle signer for group/app at the bed's
// Fulcio and TSA, trusting the bed's Sigstore trusted root, logging to the
// Rekor v2 at rekorURL; edit (if not nil) changes the options first.
func rekorV2Signer(t *testing.T, bed *signertest.Bed, reg *signertest.Registry, rekorURL string, edit func(*signer.Options)) *signer.Signer {
	t.Helper()
	o := signer.Options{RemoteOptions: reg.Options, Bundle: true,
		IdentityToken: bed.Token(t, url.Values{"project_path": {"group/app"}}), FulcioURL: bed.FulcioURL,
		TrustedRoot: bed.SigstoreTrustedRoot, TimestampServerURL: bed.TSAURL,
		RekorURL: rekorURL, RekorVersion: 2}
	if edit != nil {
		edit(&o)
	}
	s, err := signer.New(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// cosign3VerifyAll has cosign v3.1 verify d's group/app signature, with
// annotation tag=e2e, against the bed's Sigstore trusted root with every
// check on (no insecure flag).
func cosign3VerifyAll(ctx context.Context, t *testing.T, bed *signertest.Bed, d name.Digest) {
	t.Helper()
	out, err := cosignVerify(ctx, t, bed.Cosign3, []string{"--certificate-identity", bed.Identity("group/app"),
		"--certificate-oidc-issuer", bed.Issuer, "--trusted-root", bed.SigstoreTrustedRoot, "--annotations", "tag=e2e", d.String()})
	if err != nil {
		t.Fatalf("cosign v3.1 verify: %v\n%s", err, out)
	}
}
