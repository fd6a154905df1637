package signer_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"os"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestSignBundleKeyWithCertificateChain: a key with a certificate and
// its chain (cosign's --certificate, --certificate-chain) writes, as
// cosign v3 does, the certificate and the intermediates — not the root —
// in the bundle, which verifies against a trusted root with that CA and
// is recognised when signing again.
func TestSignBundleKeyWithCertificateChain(t *testing.T) {
	reg := signertest.NewRegistry(t, false)
	d := reg.Image(t, "app")
	kp := signertest.Keys(t, "a")
	pemPub, err := os.ReadFile(kp.Public)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemPub)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rootKey, rootCert := signertest.NewCA(t, "root", nil, nil, now)
	interKey, interCert := signertest.NewCA(t, "intermediate", rootCert, rootKey, now)
	leaf := signertest.CreateCertificate(t, &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "signer"}, EmailAddresses: []string{"signer@example.com"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}, interCert, pub, interKey)
	dir := t.TempDir()
	certFile, chainFile := signertest.WritePEM(t, dir, "cert.pem", leaf), signertest.WritePEM(t, dir, "chain.pem", interCert, rootCert)
	s, err := signer.New(t.Context(), signer.Options{RemoteOptions: reg.Options, Key: kp.Private, Password: kp.Password,
		Certificate: certFile, CertificateChain: chainFile, SkipTlogUpload: true, Bundle: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"tag": "v1"})
	if err != nil {
		t.Fatal(err)
	}
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(res.Bundle, &pb); err != nil {
		t.Fatal(err)
	}
	chain := pb.GetVerificationMaterial().GetX509CertificateChain().GetCertificates()
	if len(chain) != 2 || string(chain[0].GetRawBytes()) != string(leaf.Raw) || string(chain[1].GetRawBytes()) != string(interCert.Raw) {
		t.Fatalf("bundle holds %d certificates, want the certificate and the intermediate", len(chain))
	}
	b, err := bundle.NewBundle(&pb, bundle.AllowCertificateChain())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, []root.CertificateAuthority{&root.FulcioCertificateAuthority{
		Root: rootCert, Intermediates: []*x509.Certificate{interCert}, ValidityPeriodStart: now.Add(-time.Hour)}}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sev, err := verify.NewVerifier(tr, verify.WithCurrentTime())
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := hex.DecodeString(d.DigestStr()[len("sha256:"):])
	if _, err := sev.Verify(b, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithoutIdentitiesUnsafe())); err != nil {
		t.Fatalf("sigstore-go rejects the bundle: %v", err)
	}
	again, err := s.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"tag": "v1"})
	if err != nil || again.Added() {
		t.Fatalf("re-sign: %v added=%v", err, again != nil && again.Added())
	}
}
