package cli

import (
	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/release"
)

// defaultSBOMGenerator is BuildKit's own default SBOM generator image
// (frontend/attestations: docker/buildkit-syft-scanner), what buildx's
// --sbom=true runs.
const defaultSBOMGenerator = "docker/buildkit-syft-scanner:stable-1"

// sbomGroup asks BuildKit for an SPDX SBOM of each platform, which
// release signs.
type sbomGroup struct {
	sbom      bool
	generator string
}

func (*sbomGroup) title() string { return "SBOM" }

func (g *sbomGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "sbom", Usage: "ask BuildKit for an SPDX SBOM of each platform, made by --sbom-generator; release signs it per platform as an attestation of the platform manifest (bundle format, predicate type https://spdx.dev/Document: cosign verify-attestation --type spdxjson)", EnvVars: []string{"HALLMARK_SBOM"}, Destination: &g.sbom},
		&cli.StringFlag{Name: "sbom-generator", Usage: "with --sbom: the SBOM generator `IMAGE` BuildKit pulls and runs on the result (BuildKit's SBOM scanning protocol; default " + defaultSBOMGenerator + ", which needs Docker Hub)", EnvVars: []string{"HALLMARK_SBOM_GENERATOR"}, Destination: &g.generator},
	}
}

// apply asks r for the SBOM.
func (g *sbomGroup) apply(r *builder.Request) error {
	switch {
	case g.generator != "" && !g.sbom:
		return usageErr("--sbom-generator %s without --sbom: add --sbom to ask for an SBOM", g.generator)
	case !g.sbom:
		return nil
	case g.generator == "":
		r.SBOMGenerator = defaultSBOMGenerator
	default:
		r.SBOMGenerator = g.generator
	}
	return nil
}

// releaseSBOM is one platform's SBOM in release's output: BuildKit's
// attestation manifest (signed like the image) and the cosign attestation
// of the platform manifest.
type releaseSBOM struct {
	Platform            string `json:"platform"`
	Manifest            string `json:"manifest"`
	AttestationManifest string `json:"attestationManifest"`
	Attestation         string `json:"attestation"`
	Packages            int    `json:"packages"`
}

func newReleaseSBOMs(sboms []release.SBOM) []releaseSBOM {
	var out []releaseSBOM
	for _, s := range sboms {
		r := releaseSBOM{Platform: s.Platform, Manifest: s.Manifest.DigestStr(),
			AttestationManifest: s.AttestationManifest.Digest.DigestStr(), Packages: s.Packages}
		if s.Attestation != nil {
			r.Attestation = s.Attestation.Ref
		}
		out = append(out, r)
	}
	return out
}
