package verifier_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer/signertest"
	"github.com/hallmark-dev/hallmark/verifier"
)

// The forgery tests: bundles made against the bed's whole Sigstore
// (Fulcio with its CT log's SCTs, the TSA, Rekor v2), each altered — or
// checked against an altered trusted root — in one way, and rejected with
// the check that failed named.

// bedBundle signs d's statement as cosign v3 does against the bed: a
// Fulcio certificate (with its embedded SCT), a timestamp from the TSA and
// a Rekor v2 entry.
func bedBundle(t *testing.T, bed *signertest.Bed, d name.Digest) *protobundle.Bundle {
	t.Helper()
	return bedBundleCA(t, bed, d, fulcioV1{bed.FulcioURL}, bed.Token(t, url.Values{"project_path": {"group/app"}}))
}

// bedBundleCA is bedBundle with the certificate from another CA.
func bedBundleCA(t *testing.T, bed *signertest.Bed, d name.Digest, ca sgsign.CertificateProvider, token string) *protobundle.Bundle {
	t.Helper()
	st, err := layout.SignStatement{Digest: mustHash(t, d), Annotations: map[string]string{"tag": "v1"}}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	kp, err := sgsign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sgsign.Bundle(&sgsign.DSSEData{Data: st, PayloadType: layout.InTotoPayloadType}, kp, sgsign.BundleOptions{
		Context:                    t.Context(),
		CertificateProvider:        ca,
		CertificateProviderOptions: &sgsign.CertificateProviderOptions{IDToken: token},
		TimestampAuthorities:       []*sgsign.TimestampAuthority{sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: bed.TSAURL, Timeout: 30 * time.Second})},
		TransparencyLogs:           []sgsign.Transparency{sgsign.NewRekor(&sgsign.RekorOptions{BaseURL: bed.RekorURL, Version: 2, Timeout: 30 * time.Second})},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// trustVariant writes the trusted root at base, edited, to a new file.
func trustVariant(t *testing.T, base string, edit func(tr *prototrustroot.TrustedRoot)) string {
	t.Helper()
	tr := readTrustedRoot(t, base)
	edit(tr)
	b, err := protojson.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func readTrustedRoot(t *testing.T, path string) *prototrustroot.TrustedRoot {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tr prototrustroot.TrustedRoot
	if err := protojson.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	return &tr
}

// freshKey is a new P-256 public key (DER) and its log ID.
func freshKey(t *testing.T) (der, id []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if der, err = x509.MarshalPKIXPublicKey(&k.PublicKey); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return der, sum[:]
}

// flip flips a byte in the middle of b.
func flip(b []byte) { b[len(b)/2] ^= 0x01 }

func TestE2EForgeriesRejected(t *testing.T) {
	bed := signertest.RequireBed(t)
	bed.RequireSigning(t)
	if bed.RekorURL == "" || bed.SigstoreTrustedRoot == "" {
		t.Skip("the bed runs no Rekor v2 (HALLMARK_TEST_REKOR_URL, HALLMARK_TEST_SIGSTORE_TRUSTED_ROOT)")
	}
	reg := bed.Registries[1]
	p := verifier.Policy{Identity: bed.Identity("group/app"), Issuer: bed.Issuer, Annotations: map[string]string{"tag": "v1"}}
	full := verifier.Trust{TrustedRoot: bed.SigstoreTrustedRoot}

	// A bundle that verifies with every check on: the baseline each case
	// departs from in one way.
	good := reg.Image(t, "hallmark-e2e/forgery")
	storeBundle(t, reg, good, bedBundle(t, bed, good), layout.PredicateTypeSign)
	if _, err := verifyBundle(t, reg, good, p, full); err != nil {
		t.Fatalf("the unaltered bundle: %v", err)
	}
	other := bedBundle(t, bed, reg.Image(t, "hallmark-e2e/forgery"))

	// A CA without a CT log (signertest's fake Fulcio), in the bed's
	// trusted root instead of the bed's Fulcio; its certificates carry no
	// SCT. The expired one's were valid from 30 to 20 minutes ago.
	ss, expired := signertest.NewSigstore(t), signertest.NewSigstore(t)
	expired.CertNotBefore = func() time.Time { return time.Now().Add(-30 * time.Minute) }
	withCA := func(ss *signertest.Sigstore) func(t *testing.T) string {
		return func(t *testing.T) string {
			cas := readTrustedRoot(t, ss.TrustedRoot).CertificateAuthorities
			return trustVariant(t, bed.SigstoreTrustedRoot, func(tr *prototrustroot.TrustedRoot) { tr.CertificateAuthorities = cas })
		}
	}
	selfMade := func(ss *signertest.Sigstore) func(t *testing.T, d name.Digest) *protobundle.Bundle {
		return func(t *testing.T, d name.Digest) *protobundle.Bundle {
			return bedBundleCA(t, bed, d, fulcioV1{ss.FulcioURL}, ss.Token("group/app", "sigstore", time.Now().Add(time.Hour)))
		}
	}
	selfMadePolicy := verifier.Policy{Identity: ss.Identity("group/app"), Issuer: ss.Issuer, Annotations: p.Annotations}

	tests := []struct {
		name      string
		sign      func(t *testing.T, d name.Digest) *protobundle.Bundle // nil: bedBundle
		edit      func(b *protobundle.Bundle)
		trust     func(t *testing.T) string // the trusted root; nil: the bed's
		ignoreSCT bool
		policy    *verifier.Policy // nil: the bed's identity
		want      verifier.Check
		says      string // in the error, besides the check
	}{{
		name: "tlog entry of another payload",
		edit: func(b *protobundle.Bundle) {
			b.VerificationMaterial.TlogEntries = []*protorekor.TransparencyLogEntry{proto.Clone(other.VerificationMaterial.TlogEntries[0]).(*protorekor.TransparencyLogEntry)}
		},
		want: verifier.CheckTlog,
	}, {
		name: "inclusion proof forged",
		edit: func(b *protobundle.Bundle) { flip(b.VerificationMaterial.TlogEntries[0].InclusionProof.Hashes[0]) },
		want: verifier.CheckTlog,
	}, {
		name: "checkpoint forged",
		edit: func(b *protobundle.Bundle) {
			cp := b.VerificationMaterial.TlogEntries[0].InclusionProof.Checkpoint
			body := []byte(cp.Envelope)
			body[len(body)-10] ^= 0x01 // in the signature
			cp.Envelope = string(body)
		},
		want: verifier.CheckTlog,
	}, {
		name: "log key not in the trusted root",
		trust: func(t *testing.T) string {
			return trustVariant(t, bed.SigstoreTrustedRoot, func(tr *prototrustroot.TrustedRoot) { tr.Tlogs = nil })
		},
		want: verifier.CheckTlog,
	}, {
		name: "log key replaced in the trusted root",
		trust: func(t *testing.T) string {
			return trustVariant(t, bed.SigstoreTrustedRoot, func(tr *prototrustroot.TrustedRoot) {
				der, _ := freshKey(t)
				tr.Tlogs[0].PublicKey.RawBytes = der
			})
		},
		want: verifier.CheckTlog,
	}, {
		name: "SCT from a log the trusted root does not list",
		trust: func(t *testing.T) string {
			return trustVariant(t, bed.SigstoreTrustedRoot, func(tr *prototrustroot.TrustedRoot) {
				der, id := freshKey(t)
				tr.Ctlogs[0].PublicKey.RawBytes, tr.Ctlogs[0].LogId.KeyId = der, id
			})
		},
		want: verifier.CheckSCT,
	}, {
		name:   "certificate without SCT, CT logs trusted",
		sign:   selfMade(ss),
		trust:  withCA(ss),
		policy: &selfMadePolicy,
		want:   verifier.CheckSCT,
	}, {
		name:      "timestamp outside the certificate's validity",
		sign:      selfMade(expired),
		trust:     withCA(expired),
		ignoreSCT: true,
		policy:    &selfMadePolicy,
		want:      verifier.CheckCertificate,
		says:      "not valid when timestamped",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := reg.Image(t, "hallmark-e2e/forgery")
			sign := func(t *testing.T, d name.Digest) *protobundle.Bundle { return bedBundle(t, bed, d) }
			if tt.sign != nil {
				sign = tt.sign
			}
			b := sign(t, d)
			if tt.edit != nil {
				tt.edit(b)
			}
			storeBundle(t, reg, d, b, layout.PredicateTypeSign)
			trust, policy := full, p
			if tt.trust != nil {
				trust.TrustedRoot = tt.trust(t)
			}
			if tt.policy != nil {
				policy = *tt.policy
			}
			trust.IgnoreSCT = tt.ignoreSCT
			_, err := verifyBundle(t, reg, d, policy, trust)
			wantChecks(t, err, tt.want)
			if !strings.Contains(err.Error(), string(tt.want)+":") || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("error %q does not name the %s check (%q)", err, tt.want, tt.says)
			}
			t.Logf("%s: %v", tt.name, err)
		})
	}
}
