package signertest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// Bed describes the test bed hack/testbed.sh starts (see hack/README.md),
// from its HALLMARK_TEST_* variables.
type Bed struct {
	// Registries are the bed's registry without the referrers API
	// (distribution) and the one with it (ggcr's).
	Registries []*Registry

	OIDCMint, Issuer                 string
	FulcioURL, TSAURL                string
	TrustedRoot, TSAChain, FulcioPEM string
	// RekorURL is the bed's Rekor v2 and SigstoreTrustedRoot the trusted
	// root that lists it, its CT log, Fulcio and the TSA
	// (HALLMARK_TEST_REKOR_URL, HALLMARK_TEST_SIGSTORE_TRUSTED_ROOT), when
	// the bed runs them.
	RekorURL, SigstoreTrustedRoot string
	// SigningConfig is that instance's signing_config.json
	// (HALLMARK_TEST_SIGNING_CONFIG): Fulcio, Rekor v2 and the TSA.
	SigningConfig string
	// Cosign is cosign v2.6's CLI (HALLMARK_TEST_COSIGN), Cosign3 cosign
	// v3.1's (HALLMARK_TEST_COSIGN3).
	Cosign, Cosign3 string
}

// RequireBed returns the bed, or skips the test when HALLMARK_TESTBED is
// unset; under CI (CI=true) a missing bed fails the test instead.
func RequireBed(t testing.TB) *Bed {
	t.Helper()
	if os.Getenv("HALLMARK_TESTBED") == "" {
		missing(t, "HALLMARK_TESTBED is unset (start the bed: eval \"$(hack/testbed.sh up)\")")
	}
	b := &Bed{
		OIDCMint: os.Getenv("HALLMARK_TEST_OIDC_MINT"), Issuer: os.Getenv("HALLMARK_TEST_OIDC_ISSUER"),
		FulcioURL: os.Getenv("HALLMARK_TEST_FULCIO_URL"), TSAURL: os.Getenv("HALLMARK_TEST_TSA_URL"),
		TrustedRoot: os.Getenv("HALLMARK_TEST_TRUSTED_ROOT"), TSAChain: os.Getenv("HALLMARK_TEST_TSA_CHAIN"),
		FulcioPEM: os.Getenv("HALLMARK_TEST_FULCIO_CHAIN"), Cosign: os.Getenv("HALLMARK_TEST_COSIGN"),
		Cosign3: os.Getenv("HALLMARK_TEST_COSIGN3"), RekorURL: os.Getenv("HALLMARK_TEST_REKOR_URL"),
		SigstoreTrustedRoot: os.Getenv("HALLMARK_TEST_SIGSTORE_TRUSTED_ROOT"),
		SigningConfig:       os.Getenv("HALLMARK_TEST_SIGNING_CONFIG"),
	}
	for _, r := range []struct {
		env       string
		referrers bool
	}{{"HALLMARK_TEST_REGISTRY_PLAIN", false}, {"HALLMARK_TEST_REGISTRY_REFERRERS", true}} {
		host := os.Getenv(r.env)
		if host == "" {
			missing(t, r.env+" is unset")
		}
		b.Registries = append(b.Registries, &Registry{Host: host, Referrers: r.referrers})
	}
	return b
}

// RequireSigning skips (or under CI fails) unless the bed's keyless
// services are configured.
func (b *Bed) RequireSigning(t testing.TB) {
	t.Helper()
	if b.OIDCMint == "" || b.Issuer == "" || b.FulcioURL == "" || b.TSAURL == "" || b.TrustedRoot == "" {
		missing(t, "the bed's signing services are not configured (HALLMARK_TEST_OIDC_MINT, _FULCIO_URL, _TSA_URL, _TRUSTED_ROOT)")
	}
}

// RequireCosign skips (or under CI fails) without the cosign CLI.
func (b *Bed) RequireCosign(t testing.TB) {
	t.Helper()
	if b.Cosign == "" {
		missing(t, "HALLMARK_TEST_COSIGN is unset")
	}
	if _, err := os.Stat(b.Cosign); err != nil {
		missing(t, "cosign CLI: "+err.Error())
	}
}

// RequireCosign3 skips (or under CI fails) without cosign v3's CLI.
func (b *Bed) RequireCosign3(t testing.TB) {
	t.Helper()
	if b.Cosign3 == "" {
		missing(t, "HALLMARK_TEST_COSIGN3 is unset")
	}
	if _, err := os.Stat(b.Cosign3); err != nil {
		missing(t, "cosign v3 CLI: "+err.Error())
	}
}

// RequireRekorTiles skips (or under CI fails) unless the bed's Rekor v2
// serves its checkpoint and tiles at RekorURL (GET /checkpoint,
// /tile/...), as Sigstore's public-good logs do: hack/testbed.sh's
// rekor-front, which a bed started by an older testbed.sh lacks.
func (b *Bed) RequireRekorTiles(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.RekorURL+"/checkpoint", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		missing(t, "the bed's Rekor v2 checkpoint: "+err.Error())
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		missing(t, fmt.Sprintf("the bed's Rekor v2 serves no checkpoint at %s/checkpoint (%s): rerun `eval \"$(hack/testbed.sh up)\"`", b.RekorURL, resp.Status))
	}
}

func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("test bed required under CI: %s", why)
	}
	t.Skip(why)
}

// Token mints a GitLab-shaped ID token; query overrides claims (see
// hack/oidc: project_path, ref, aud, ttl, ...).
func (b *Bed) Token(t testing.TB, query url.Values) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.OIDCMint+"?"+query.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	tok, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("minting a token: %s %v", resp.Status, err)
	}
	return strings.TrimSpace(string(tok))
}

// Identity is the certificate subject Fulcio issues for a token of the
// project on branch main: GitLab's $CI_PROJECT_URL//.gitlab-ci.yml@refs/heads/main.
func (b *Bed) Identity(project string) string {
	return fmt.Sprintf("%s/%s//.gitlab-ci.yml@refs/heads/main", strings.TrimSuffix(b.Issuer, "/"), project)
}
