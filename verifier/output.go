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
//
// Each entry adds one key of its own, "hallmark", beside cosign's
// "critical" and "optional": which annotations the certificate vouches
// for ("bound", each with its certificate field), which are only signed
// ("signedOnly") and, when accepted anyway, which disagree ("unbound").
func (r *Result) JSON() ([]byte, error) {
	out := make([]outputEntry, 0, len(r.Verified))
	for _, v := range r.Verified {
		e := outputEntry{Hallmark: hallmarkOutputOf(v.Binding)}
		if v.Format == FormatBundle {
			e.SimpleContainerImage = bundleOutput(r, v)
		} else {
			p, err := cosignOutput(v)
			if err != nil {
				return nil, err
			}
			e.SimpleContainerImage = p
		}
		out = append(out, e)
	}
	return json.Marshal(out)
}

// outputEntry is one signature in JSON: cosign's fields and hallmark's.
type outputEntry struct {
	payload.SimpleContainerImage
	Hallmark *hallmarkOutput `json:"hallmark,omitempty"`
}

// hallmarkOutput is what hallmark adds to cosign's JSON.
type hallmarkOutput struct {
	Annotations annotationsOutput `json:"annotations"`
}

type annotationsOutput struct {
	Bound      map[string]string `json:"bound"`
	SignedOnly []string          `json:"signedOnly"`
	Unbound    []unboundOutput   `json:"unbound,omitempty"`
}

type unboundOutput struct {
	Key       string `json:"key"`
	Value     string `json:"value"`
	Certified string `json:"certified"`
	Field     string `json:"field"`
}

func hallmarkOutputOf(b *Binding) *hallmarkOutput {
	if b == nil {
		return nil
	}
	a := annotationsOutput{Bound: b.Bound, SignedOnly: b.SignedOnly}
	if a.Bound == nil {
		a.Bound = map[string]string{}
	}
	if a.SignedOnly == nil {
		a.SignedOnly = []string{}
	}
	for _, m := range b.Unbound {
		a.Unbound = append(a.Unbound, unboundOutput{Key: m.Key, Value: m.Value, Certified: m.Certified, Field: m.Field})
	}
	return &hallmarkOutput{Annotations: a}
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
