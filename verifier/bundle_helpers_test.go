package verifier_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// fulcioV1 gets certificates from signertest's fake Fulcio, which speaks
// Fulcio's v1 API (sigstore-go's sign.Fulcio speaks v2).
type fulcioV1 struct{ url string }

func (f fulcioV1) GetCertificate(ctx context.Context, kp sgsign.Keypair, opts *sgsign.CertificateProviderOptions) ([]byte, error) {
	parts := strings.Split(opts.IDToken, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("malformed token")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return nil, err
	}
	proof, _, err := kp.SignData(ctx, []byte(claims.Sub))
	if err != nil {
		return nil, err
	}
	pub, err := kp.GetPublicKeyPem()
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]any{
		"publicKey":          map[string]any{"content": []byte(pub), "algorithm": "ecdsa"},
		"signedEmailAddress": proof,
	})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url+"/api/v1/signingCert", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+opts.IDToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	chain, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("fulcio: %s %s %v", resp.Status, chain, err)
	}
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM(chain)
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("fulcio chain: %v", err)
	}
	return certs[0].Raw, nil
}

// bundleOpts say how a test bundle is made.
type bundleOpts struct {
	ss      *signertest.Sigstore // Fulcio and TSA; nil: signed with key
	key     sgsign.Keypair       // the key for a keyed bundle
	project string               // the identity's project (keyless)
	tsa     bool                 // with an RFC 3161 timestamp
}

// signStatement makes a bundle v0.3 of a DSSE envelope of statement, as
// cosign v3 signs (sigstore-go's sign.Bundle).
func signStatement(t *testing.T, statement []byte, o bundleOpts) *protobundle.Bundle {
	t.Helper()
	kp := o.key
	var bo sgsign.BundleOptions
	if o.ss != nil {
		var err error
		if kp, err = sgsign.NewEphemeralKeypair(nil); err != nil {
			t.Fatal(err)
		}
		bo.CertificateProvider = fulcioV1{o.ss.FulcioURL}
		bo.CertificateProviderOptions = &sgsign.CertificateProviderOptions{IDToken: o.ss.Token(o.project, "sigstore", time.Now().Add(time.Hour))}
		if o.tsa {
			bo.TimestampAuthorities = []*sgsign.TimestampAuthority{sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: o.ss.TSAURL, Timeout: 10 * time.Second})}
		}
	}
	b, err := sgsign.Bundle(&sgsign.DSSEData{Data: statement, PayloadType: layout.InTotoPayloadType}, kp, bo)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signImage signs d's digest with annotations, in cosign v3's statement.
func signImage(t *testing.T, d name.Digest, ann map[string]string, o bundleOpts) *protobundle.Bundle {
	t.Helper()
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	st, err := layout.SignStatement{Digest: h, Annotations: ann}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return signStatement(t, st, o)
}

// rawManifest is a manifest to put as is.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// writeBundleReferrer stores a bundle on d as cosign v3's WriteReferrer
// does: an OCI manifest with artifactType the bundle media type, the empty
// config, one layer (the bundle), d as subject, and the bundle
// annotations; go-containerregistry maintains the fallback index on a
// registry without the referrers API.
func writeBundleReferrer(t *testing.T, reg *signertest.Registry, d name.Digest, bundle []byte, predicateType string) v1.Hash {
	t.Helper()
	return writeReferrer(t, reg, d, bundle, layout.BundleMediaType, map[string]string{
		layout.AnnotationCreated:             time.Now().UTC().Format(time.RFC3339),
		layout.AnnotationBundleContent:       layout.BundleContentDSSE,
		layout.AnnotationBundlePredicateType: predicateType,
	}, layout.BundleMediaType)
}

// writeReferrer stores a referrer of d with the empty config and one
// layer; artifactType "" leaves it out of the manifest (the referrers
// listing then says the config's type).
func writeReferrer(t *testing.T, reg *signertest.Registry, d name.Digest, content []byte, mediaType string, ann map[string]string, artifactType string) v1.Hash {
	t.Helper()
	subject, err := remote.Head(d, reg.Options...)
	if err != nil {
		t.Fatal(err)
	}
	config := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	layer := static.NewLayer(content, types.MediaType(mediaType))
	descs := make([]v1.Descriptor, 2)
	for i, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(d.Context(), l, reg.Options...); err != nil {
			t.Fatal(err)
		}
		h, _ := l.Digest()
		n, _ := l.Size()
		mt, _ := l.MediaType()
		descs[i] = v1.Descriptor{MediaType: mt, Digest: h, Size: n}
	}
	descs[0].ArtifactType = artifactType
	m := v1.Manifest{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: artifactType,
		Config: descs[0], Layers: descs[1:],
		Subject:     &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations: ann,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(d.Context().Digest(h.String()), rawManifest{raw, types.OCIManifestSchema1}, reg.Options...); err != nil {
		t.Fatal(err)
	}
	return h
}

// storeBundle marshals b as cosign does (protojson) and stores it on d.
func storeBundle(t *testing.T, reg *signertest.Registry, d name.Digest, b *protobundle.Bundle, predicateType string) v1.Hash {
	t.Helper()
	raw, err := protojson.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return writeBundleReferrer(t, reg, d, raw, predicateType)
}
