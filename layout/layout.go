package layout

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Media and artifact types of signature referrers.
const (
	// SimpleSigningArtifactType is the artifactType (and config media
	// type) of the OCI 1.1 referrer manifests cosign v2 writes for
	// simple-signing signatures (--registry-referrers-mode oci-1-1).
	SimpleSigningArtifactType = "application/vnd.dev.cosign.artifact.sig.v1+json"
	// BundleMediaType is the media type of a Sigstore bundle v0.3: the
	// artifactType of cosign v3's bundle referrers and the media type of
	// their one layer.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// InTotoPayloadType is the DSSE payload type of an in-toto statement.
	InTotoPayloadType = "application/vnd.in-toto+json"
	// PredicateTypeSign is the predicate type of the in-toto statement
	// cosign v3 signs for `cosign sign` (an empty predicate): a bundle
	// with this predicate type is a signature of its subject, not an
	// attestation about it.
	PredicateTypeSign = "https://sigstore.dev/cosign/sign/v1"
	// PredicateTypeSLSAProvenance1 is SLSA v1 provenance's predicate type,
	// the one BuildKit records and `cosign verify-attestation --type
	// slsaprovenance1` looks for.
	PredicateTypeSLSAProvenance1 = "https://slsa.dev/provenance/v1"
)

// Annotations cosign v3 puts on bundle referrer manifests (and on their
// descriptors in the fallback index).
const (
	// AnnotationBundleContent says what the bundle holds; cosign writes
	// BundleContentDSSE.
	AnnotationBundleContent = "dev.sigstore.bundle.content"
	// AnnotationBundlePredicateType is the predicate type of the bundle's
	// in-toto statement.
	AnnotationBundlePredicateType = "dev.sigstore.bundle.predicateType"
	// AnnotationCreated is when the referrer was made (RFC 3339).
	AnnotationCreated = "org.opencontainers.image.created"
	// BundleContentDSSE is AnnotationBundleContent's value for a bundle
	// holding a DSSE envelope.
	BundleContentDSSE = "dsse-envelope"
)

// MaxSignatureLayers is the most signatures (layers) a SignatureTag
// manifest may hold: cosign refuses to read one with more (maxLayers in
// cosign v2.6.5's and v3.1.3's pkg/oci/remote/signatures.go, and its
// append in pkg/oci/mutate), and so does every reader built on it, so a
// 1001st layer would hide every signature of the digest from them.
const MaxSignatureLayers = 1000

// SignatureTag returns cosign's legacy signature tag for digest:
// "sha256-<hex>.sig" in the image's repository.
func SignatureTag(digest name.Digest) name.Tag {
	return digest.Context().Tag(tagPrefix(digest) + ".sig")
}

// FallbackTag returns the referrers tag-schema tag for digest:
// "sha256-<hex>", whose image index lists the referrers on registries
// without the referrers API.
func FallbackTag(digest name.Digest) name.Tag {
	return digest.Context().Tag(tagPrefix(digest))
}

func tagPrefix(digest name.Digest) string {
	return strings.Replace(digest.DigestStr(), ":", "-", 1)
}

// Mode says where simple-signing signatures are stored, named as cosign's
// --registry-referrers-mode values (plus "both").
type Mode string

// The storage modes of simple-signing signatures.
const (
	// ModeLegacy stores signatures as layers of the image tagged
	// SignatureTag in the image's repository (cosign v2's default).
	ModeLegacy Mode = "legacy"
	// ModeOCI11 stores each signature as an OCI 1.1 referrer manifest whose
	// subject is the image; on registries without the referrers API the
	// FallbackTag index is maintained too.
	ModeOCI11 Mode = "oci-1-1"
	// ModeBoth writes both layouts, for mixed verifier fleets.
	ModeBoth Mode = "both"
)

// Modes lists the valid modes, default first.
var Modes = []Mode{ModeLegacy, ModeOCI11, ModeBoth}

// ErrUnknownMode reports a storage mode that is not one of Modes.
var ErrUnknownMode = errors.New("unknown registry referrers mode")

// ParseMode parses a --registry-referrers-mode value; "" means ModeLegacy.
func ParseMode(s string) (Mode, error) {
	if s == "" {
		return ModeLegacy, nil
	}
	for _, m := range Modes {
		if string(m) == s {
			return m, nil
		}
	}
	names := make([]string, len(Modes))
	for i, m := range Modes {
		names[i] = string(m)
	}
	return "", fmt.Errorf("%w %q (want one of %s)", ErrUnknownMode, s, strings.Join(names, ", "))
}

// Legacy reports whether m writes the legacy signature tag.
func (m Mode) Legacy() bool { return m == ModeLegacy || m == ModeBoth }

// OCI11 reports whether m writes OCI 1.1 referrers.
func (m Mode) OCI11() bool { return m == ModeOCI11 || m == ModeBoth }

// Location says where a signature was found.
type Location string

// The locations searched.
const (
	// LocationLegacy is the SignatureTag image.
	LocationLegacy Location = "legacy"
	// LocationReferrers is an OCI 1.1 referrer listed by the referrers API.
	LocationReferrers Location = "oci-1-1"
	// LocationFallback is an OCI 1.1 referrer listed in the FallbackTag
	// index (registries without the referrers API).
	LocationFallback Location = "oci-1-1-fallback"
)

// Locations returns where signatures written in mode m are found.
func (m Mode) Locations() []Location {
	switch m {
	case ModeLegacy:
		return []Location{LocationLegacy}
	case ModeOCI11:
		return []Location{LocationReferrers, LocationFallback}
	}
	return []Location{LocationLegacy, LocationReferrers, LocationFallback}
}

// IsNotFound reports whether err is a registry's 404.
func IsNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

// NoReferrersAPI reports go-containerregistry's error for a registry
// without the referrers API: from a referrers listing with the tag
// fallback off, or from putting a manifest with a subject with the tag
// fallback off (the manifest itself is stored then).
func NoReferrersAPI(err error) bool {
	return err != nil && strings.Contains(err.Error(), "does not support the Referrers API")
}
