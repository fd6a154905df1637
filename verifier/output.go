package verifier

import (
	"encoding/json"
	"fmt"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/hallmark-dev/hallmark/layout"
)

// JSON renders the verified signatures as the array `cosign verify`
// prints. A simple-signing signature is its payload's "critical" and
// "optional" fields, with the certificate's subject and issuer (when the
// certificate was checked: not for a key's signature), the Rekor
// bundle and the RFC 3161 timestamp added to "optional" as cosign v2 adds
// them. A bundle is rendered as cosign v3 renders one: "critical" with
// the statement's predicate type as "type", its subject digest as
// "image.docker-manifest-digest" and the verified reference
// (repository@digest) as "identity.docker-reference"; "optional" is the
// subject's annotations, nothing else.
func (r *Result) JSON() ([]byte, error) {
	out := make([]payload.SimpleContainerImage, 0, len(r.Verified))
	for _, v := range r.Verified {
		if v.Format == FormatBundle {
			out = append(out, bundleOutput(r, v))
			continue
		}
		p, err := cosignOutput(v)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return json.Marshal(out)
}

func cosignOutput(v Verified) (payload.SimpleContainerImage, error) {
	var ss payload.SimpleContainerImage
	b, err := v.Signature.Payload()
	if err != nil {
		return ss, err
	}
	if err := json.Unmarshal(b, &ss); err != nil {
		return ss, fmt.Errorf("decoding payload: %w", err)
	}
	opt := func() map[string]any {
		if ss.Optional == nil {
			ss.Optional = map[string]any{}
		}
		return ss.Optional
	}
	if cert, err := v.Signature.Cert(); err == nil && cert != nil && v.CertificateVerified {
		ce := cosign.CertExtensions{Cert: cert}
		sub := ""
		if sans := cryptoutils.GetSubjectAlternateNames(cert); len(sans) > 0 {
			sub = sans[0]
		}
		opt()["Subject"] = sub
		if iss := ce.GetIssuer(); iss != "" {
			opt()["Issuer"] = iss
			opt()[cosign.CertExtensionOIDCIssuer] = iss
		}
		for oid, val := range map[string]string{
			cosign.CertExtensionGithubWorkflowTrigger:    ce.GetCertExtensionGithubWorkflowTrigger(),
			cosign.CertExtensionGithubWorkflowSha:        ce.GetExtensionGithubWorkflowSha(),
			cosign.CertExtensionGithubWorkflowName:       ce.GetCertExtensionGithubWorkflowName(),
			cosign.CertExtensionGithubWorkflowRepository: ce.GetCertExtensionGithubWorkflowRepository(),
			cosign.CertExtensionGithubWorkflowRef:        ce.GetCertExtensionGithubWorkflowRef(),
		} {
			if val != "" {
				opt()[cosign.CertExtensionMap[oid]] = val
				opt()[oid] = val
			}
		}
	}
	if b, err := v.Signature.Bundle(); err == nil && b != nil {
		opt()["Bundle"] = b
	}
	if ts, err := v.Signature.RFC3161Timestamp(); err == nil && ts != nil {
		opt()["RFC3161Timestamp"] = ts
	}
	return ss, nil
}

// bundleOutput renders a bundle signature as cosign v3's verify does
// (cmd/cosign/cli/verify transformOutput).
func bundleOutput(r *Result, v Verified) payload.SimpleContainerImage {
	opt := make(map[string]any, len(v.Statement.Annotations))
	for k, val := range v.Statement.Annotations {
		opt[k] = val
	}
	return payload.SimpleContainerImage{
		Critical: payload.Critical{
			Identity: payload.Identity{DockerReference: r.Digest.Name()},
			Image:    payload.Image{DockerManifestDigest: v.Statement.Digest.String()},
			Type:     layout.PredicateTypeSign,
		},
		Optional: opt,
	}
}
