package e2e

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark/internal/e2etest"
)

// bundleMediaType is the artifact type of a Sigstore bundle v0.3 stored as
// an OCI 1.1 referrer, cosign v3's default.
const bundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// oidEmbeddedSCTs is the X.509 extension holding a certificate's embedded
// SCT list (RFC 6962, section 3.3).
var oidEmbeddedSCTs = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}

// TestPublicGoodCosign3 runs the path GitLab.com users take, on the bed and
// without a single insecure flag: cosign v3.1.3 signs an image through the
// bed's signing config (Fulcio issuing a certificate with an SCT from the
// bed's CT log, an entry in Rekor v2, a TSA timestamp) and verifies it with
// the instance's trusted root, every check on. The bundle stored in the
// registry must carry all three proofs, from the bed's own logs; and the
// Fulcio + TSA trusted root the air-gapped tests use must not verify it,
// which shows that the SCT and tlog checks ran.
func TestPublicGoodCosign3(t *testing.T) {
	b := bed(t)
	b.RequireTransparency()
	sign, trust := b.PublicGood()
	for _, f := range append(append([]string{}, sign...), trust...) {
		if strings.HasPrefix(f, "--insecure") || strings.HasPrefix(f, "--tlog-upload") || strings.HasPrefix(f, "--allow-") {
			t.Fatalf("the public-good path must not need %s: sign %q, verify %q", f, sign, trust)
		}
	}
	tr, err := root.NewTrustedRootFromPath(b.SigstoreTrustedRoot())
	if err != nil {
		t.Fatalf("the bed's trusted root: %v", err)
	}
	rekorURL, err := url.Parse(b.RekorURL())
	if err != nil {
		t.Fatal(err)
	}
	for _, reg := range []string{b.PlainRegistry(), b.ReferrersRegistry()} {
		t.Run(registryName(b, reg), func(t *testing.T) {
			repo, digest := pushedImage(t, reg)
			ref := repo + "@" + digest
			const project = "group/publicgood"
			identity := b.Issuer() + "/" + project + "//.gitlab-ci.yml@refs/heads/main"
			token := b.Token(t, "project_path="+project+"&ref=main")

			args := append([]string{"sign", "--yes"}, sign...)
			r := runCosign3(t, b, append(args, "--identity-token", token, ref)...)
			if r.Code != 0 {
				t.Fatalf("cosign v3 sign through the bed's signing config:\n%s", r)
			}

			verify := append([]string{"verify"}, trust...)
			verify = append(verify, "--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer(), ref)
			r = runCosign3(t, b, verify...)
			if r.Code != 0 {
				t.Fatalf("cosign v3 verify with the instance's trusted root, every check on:\n%s", r)
			}
			for _, check := range []string{"transparency log", "certificate authority"} {
				if !strings.Contains(r.Stderr, check) {
					t.Errorf("cosign verify does not report the %s check:\n%s", check, r.Stderr)
				}
			}

			bun := storedBundle(t, ref)
			checkRekorV2Entry(t, bun, tr, rekorURL.Hostname())
			checkTimestamp(t, bun)
			checkSCT(t, bun, tr)

			// The bed's Fulcio + TSA trusted root lists neither the CT log
			// nor Rekor: with the checks on, the same signature must fail.
			old := append([]string{"verify", "--trusted-root", b.Getenv("HALLMARK_TEST_TRUSTED_ROOT")},
				"--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer(), ref)
			r = runCosign3(t, b, old...)
			if r.Code == 0 || !strings.Contains(r.Stderr, "transparency log") {
				t.Fatalf("cosign v3 verify with a trusted root without CT log and Rekor: want a transparency-log failure:\n%s", r)
			}
			t.Logf("without the CT log and Rekor in the trusted root: %s", lastLine(r.Stderr))

			// The instance's trusted root minus the CT log: the SCT check
			// alone must fail it.
			noCT := withoutCTLogs(t, b.SigstoreTrustedRoot())
			r = runCosign3(t, b, "verify", "--trusted-root", noCT,
				"--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer(), ref)
			if r.Code == 0 || !strings.Contains(strings.ToLower(r.Stderr), "sct") {
				t.Fatalf("cosign v3 verify with a trusted root without the CT log: want an SCT failure:\n%s", r)
			}
			t.Logf("without the CT log in the trusted root: %s", lastLine(r.Stderr))
		})
	}
}

// withoutCTLogs writes a copy of the trusted root at path without its CT
// logs and returns the copy's path.
func withoutCTLogs(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tr map[string]any
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	if _, ok := tr["ctlogs"]; !ok {
		t.Fatalf("%s lists no CT log", path)
	}
	delete(tr, "ctlogs")
	if data, err = json.Marshal(tr); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "trusted_root_no_ctlog.json")
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// runCosign3 runs the bed's cosign v3 CLI with its own empty TUF cache: the
// public-good TUF repository is never read, everything comes from the bed's
// files.
func runCosign3(t *testing.T, b testbed, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.Cosign3(), args...)
	cmd.Env = append(e2etest.CleanEnv(nil), "TUF_ROOT="+t.TempDir())
	return runCmd(t, cmd)
}

// storedBundle reads the one Sigstore bundle stored as a referrer of ref
// (through the referrers API or the sha256-<hex> fallback index). Each
// referrer's own manifest is read: the bed's ggcr registry lists a
// referrer's artifactType as its config's media type (the empty one here),
// not the manifest's artifactType.
func storedBundle(t *testing.T, ref string) *bundle.Bundle {
	t.Helper()
	d, err := name.NewDigest(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Referrers(d, plainOptions(t.Context())...)
	if err != nil {
		t.Fatalf("listing the referrers of %s: %v", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var bundles []v1.Layer
	for _, desc := range im.Manifests {
		img, err := remote.Image(d.Context().Digest(desc.Digest.String()), plainOptions(t.Context())...)
		if err != nil {
			t.Fatalf("referrer %s: %v", desc.Digest, err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if m.ArtifactType != bundleMediaType {
			continue
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 1 {
			t.Fatalf("the bundle manifest %s has %d layers (%v), want 1", desc.Digest, len(layers), err)
		}
		bundles = append(bundles, layers[0])
	}
	if len(bundles) != 1 {
		t.Fatalf("want one %s referrer of %s, got %d among %+v", bundleMediaType, ref, len(bundles), im.Manifests)
	}
	rc, err := bundles[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	var bun bundle.Bundle
	if err := bun.UnmarshalJSON(data); err != nil {
		t.Fatalf("the stored bundle: %v\n%s", err, data)
	}
	return &bun
}

// checkRekorV2Entry: the bundle's tlog entry is a Rekor v2 entry (kind
// version 0.0.2) of the bed's Rekor, with an inclusion proof whose
// checkpoint is signed under the bed's origin.
func checkRekorV2Entry(t *testing.T, bun *bundle.Bundle, tr *root.TrustedRoot, origin string) {
	t.Helper()
	entries := bun.GetVerificationMaterial().GetTlogEntries()
	if len(entries) != 1 {
		t.Fatalf("want one transparency-log entry in the bundle, got %d", len(entries))
	}
	e := entries[0]
	if v := e.GetKindVersion().GetVersion(); v != "0.0.2" {
		t.Errorf("tlog entry kind %s version %q, want a Rekor v2 entry (0.0.2)", e.GetKindVersion().GetKind(), v)
	}
	logID := hex.EncodeToString(e.GetLogId().GetKeyId())
	if _, ok := tr.RekorLogs()[logID]; !ok {
		t.Errorf("tlog entry from log %s, not the bed's Rekor", logID)
	}
	proof := e.GetInclusionProof()
	if proof == nil || len(proof.GetRootHash()) == 0 || proof.GetTreeSize() == 0 {
		t.Fatalf("tlog entry without an inclusion proof: %v", e)
	}
	if cp := proof.GetCheckpoint().GetEnvelope(); !strings.HasPrefix(cp, origin+"\n") {
		t.Errorf("inclusion proof's checkpoint does not start with the origin %q:\n%s", origin, cp)
	}
}

// checkTimestamp: the bundle carries an RFC 3161 timestamp (Rekor v2 has no
// integrated time: the TSA's is the signing time).
func checkTimestamp(t *testing.T, bun *bundle.Bundle) {
	t.Helper()
	ts := bun.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()
	if len(ts) == 0 || len(ts[0].GetSignedTimestamp()) == 0 {
		t.Errorf("bundle without an RFC 3161 timestamp")
	}
}

// checkSCT: the signing certificate embeds an SCT from the bed's CT log.
func checkSCT(t *testing.T, bun *bundle.Bundle, tr *root.TrustedRoot) {
	t.Helper()
	raw := bun.GetVerificationMaterial().GetCertificate().GetRawBytes()
	cert, err := x509.ParseCertificate(raw)
	if err != nil {
		t.Fatalf("the bundle's certificate: %v", err)
	}
	var logIDs []string
	for _, ext := range cert.Extensions {
		if ext.Id.Equal(oidEmbeddedSCTs) {
			logIDs = sctLogIDs(t, ext.Value)
		}
	}
	if len(logIDs) == 0 {
		t.Fatalf("certificate without an embedded SCT")
	}
	for _, id := range logIDs {
		if _, ok := tr.CTLogs()[id]; ok {
			return
		}
	}
	t.Errorf("the certificate's SCTs come from logs %v, none the bed's CT log", logIDs)
}

// sctLogIDs returns the log IDs (hex) of a DER-wrapped, TLS-encoded SCT
// list: u16 length, then per SCT u16 length, version (1 byte), log ID (32).
func sctLogIDs(t *testing.T, der []byte) []string {
	t.Helper()
	var list []byte
	if _, err := asn1.Unmarshal(der, &list); err != nil || len(list) < 2 {
		t.Fatalf("SCT list extension: %v", err)
	}
	if n := int(binary.BigEndian.Uint16(list)); n != len(list)-2 {
		t.Fatalf("SCT list length %d, have %d bytes", n, len(list)-2)
	}
	var ids []string
	for rest := list[2:]; len(rest) > 0; {
		if len(rest) < 2 {
			t.Fatalf("truncated SCT list")
		}
		n := int(binary.BigEndian.Uint16(rest))
		sct := rest[2:]
		if len(sct) < n || n < 33 {
			t.Fatalf("truncated SCT (%d bytes, %d left)", n, len(sct))
		}
		sct = sct[:n]
		if !bytes.Equal(sct[:1], []byte{0}) {
			t.Errorf("SCT version %d, want v1 (0)", sct[0])
		}
		ids = append(ids, hex.EncodeToString(sct[1:33]))
		rest = rest[2+n:]
	}
	return ids
}
