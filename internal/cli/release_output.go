package cli

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/builder/pool"
	"github.com/hallmark-dev/hallmark/release"
	"github.com/hallmark-dev/hallmark/signer"
)

// releaseResult is what release prints on stdout and writes to
// --metadata-file.
type releaseResult struct {
	Image  string   `json:"image"`
	Digest string   `json:"digest"`
	Tags   []string `json:"tags"`
	// Platforms are the platform manifests of the pushed index (several
	// platforms, or provenance: BuildKit's attestation manifests are in
	// the index); left out when one image manifest was pushed.
	Platforms []builder.PlatformDigest `json:"platforms,omitempty"`
	// Nodes say which buildkitd built which platform, on a pool.
	Nodes []release.PlatformNode `json:"nodes,omitempty"`
	// Down are the pool's nodes that were down.
	Down       []pool.Skip        `json:"down,omitempty"`
	Signatures []releaseSignature `json:"signatures"`
	Verified   releaseVerified    `json:"verified"`
	// Provenance is each platform's signed provenance (release's default
	// with bundles; --provenance=false leaves it out).
	Provenance []releaseProvenance `json:"provenance,omitempty"`
	// SBOM is each platform's signed SPDX SBOM (--sbom).
	SBOM []releaseSBOM `json:"sbom,omitempty"`
}

// releaseProvenance is one platform's provenance: BuildKit's attestation
// manifest (signed like the image) and the cosign attestation of the
// platform manifest; on a pool, the node whose BuildKit recorded it.
type releaseProvenance struct {
	Platform            string `json:"platform"`
	Manifest            string `json:"manifest"`
	AttestationManifest string `json:"attestationManifest"`
	Attestation         string `json:"attestation"`
	Node                string `json:"node,omitempty"`
}

type releaseSignature struct {
	Digest string `json:"digest"`
	// Formats are the signature formats written: "bundle" (cosign v3's),
	// "simple-signing" (cosign v2's), or both.
	Formats []string `json:"formats"`
	// Mode is the layout of the simple-signing signature, if one was
	// written.
	Mode        string            `json:"mode,omitempty"`
	Annotations map[string]string `json:"annotations"`
}

// releaseVerified is what the signatures were verified with: a keyless
// identity and issuer, or the signer's public key.
type releaseVerified struct {
	Identity string `json:"identity,omitempty"`
	Issuer   string `json:"issuer,omitempty"`
	// Key is the --key reference signed with (a path, env://VAR or a KMS
	// URI); KeySHA256 the SHA-256 of its public key's DER
	// SubjectPublicKeyInfo, "sha256:HEX".
	Key       string `json:"key,omitempty"`
	KeySHA256 string `json:"keySHA256,omitempty"`
}

// newReleaseResult is the JSON of what release.Run did; key is the --key
// reference signed with, if any.
func newReleaseResult(res *release.Result, key string) *releaseResult {
	b := res.Build
	rel := &releaseResult{Image: b.Image.String(), Digest: b.Digest.String(), Tags: b.Tags, Platforms: b.Platforms}
	// The nodes' errors are library messages: their option references
	// become flags, as on stderr.
	for _, n := range res.Nodes {
		n.Skipped = renderSkips(n.Skipped)
		rel.Nodes = append(rel.Nodes, n)
	}
	rel.Down = renderSkips(res.Down)
	for _, s := range res.Signatures {
		rel.Signatures = append(rel.Signatures, releaseSignature{Digest: s.Digest.DigestStr(), Formats: formats(s),
			Mode: string(s.Mode), Annotations: s.Annotations})
	}
	rel.SBOM = newReleaseSBOMs(res.SBOMs)
	for _, p := range res.Provenance {
		rp := releaseProvenance{Platform: p.Platform, Manifest: p.Manifest.DigestStr(), AttestationManifest: p.AttestationManifest.Digest.DigestStr()}
		if p.Attestation != nil {
			rp.Attestation = p.Attestation.Ref
		}
		rp.Node = res.NodeOf(p.Platform)
		rel.Provenance = append(rel.Provenance, rp)
	}
	rel.Verified = releaseVerified{Identity: res.Policy.Identity, Issuer: res.Policy.Issuer}
	if res.Policy.PublicKey != nil {
		rel.Verified.Key = key
		if der, err := x509.MarshalPKIXPublicKey(res.Policy.PublicKey); err == nil {
			rel.Verified.KeySHA256 = fmt.Sprintf("sha256:%x", sha256.Sum256(der))
		}
	}
	return rel
}

// renderSkips is skips with their errors' option references rendered as
// flags.
func renderSkips(skips []pool.Skip) []pool.Skip {
	var out []pool.Skip
	for _, s := range skips {
		out = append(out, pool.Skip{Node: s.Node, Err: renderOptions(s.Err)})
	}
	return out
}

// writeOutputs prints the result and writes the files CI asked for.
func (cmd *releaseCmd) writeOutputs(e *env, rel *releaseResult) error {
	if mf := cmd.output.metadataFile; mf != "" {
		if err := writeJSONFile(mf, rel); err != nil {
			return err
		}
	}
	if f := cmd.release.dotenv; f != "" {
		if err := writeOutputFile(f, []byte(dotenv(rel))); err != nil {
			return err
		}
	}
	env := e.ci
	if p := env.GitHubOutput(); p != "" {
		if err := appendFile(p, githubOutputs(rel)); err != nil {
			return err
		}
	}
	if p := env.GitHubStepSummary(); p != "" {
		if err := appendFile(p, stepSummary(rel)); err != nil {
			return err
		}
	}
	out, err := json.MarshalIndent(rel, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s\n", out)
	return err
}

// dotenv is GitLab's artifacts:reports:dotenv format. IMAGE_DIGEST is
// REPO@sha256:... as in GitLab's signing tutorial (`cosign sign
// "$IMAGE_DIGEST"`): the digest pushed and tagged, the index with
// provenance; IMAGE_REF the same (older name), IMAGE_DIGEST_BARE the
// bare sha256:..., IMAGE_URI the first tag.
func dotenv(rel *releaseResult) string {
	return fmt.Sprintf("IMAGE_DIGEST=%s\nIMAGE_DIGEST_BARE=%s\nIMAGE_URI=%s\nIMAGE_REF=%s\n", rel.Image, rel.Digest, rel.Tags[0], rel.Image)
}

func githubOutputs(rel *releaseResult) string {
	return fmt.Sprintf("digest=%s\nimage-uri=%s\nimage-ref=%s\ntags=%s\n", rel.Digest, rel.Tags[0], rel.Image, strings.Join(rel.Tags, ","))
}

func stepSummary(rel *releaseResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### hallmark release\n\n| | |\n|---|---|\n| image | `%s` |\n", rel.Image)
	for _, t := range rel.Tags {
		fmt.Fprintf(&b, "| tag | `%s` |\n", t)
	}
	for _, s := range rel.Signatures {
		fmt.Fprintf(&b, "| signed | `%s` (%s, %s) |\n", s.Digest, strings.Join(s.Formats, " + "), count(len(s.Annotations), "annotation"))
	}
	who := ""
	if rel.Verified.KeySHA256 != "" {
		who = fmt.Sprintf("key `%s` (%s)", rel.Verified.Key, rel.Verified.KeySHA256)
	} else {
		who = rel.Verified.Identity + " (issuer " + rel.Verified.Issuer + ")"
	}
	fmt.Fprintf(&b, "| verified | %s |\n\n", who)
	return b.String()
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// formats lists the signature formats res wrote or found, once each, in
// the order stored.
func formats(res *signer.Result) []string {
	var out []string
	for _, w := range res.Layouts {
		if f := string(w.Format); !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}
