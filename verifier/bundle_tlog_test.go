package verifier_test

import (
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"

	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer/signertest"
	"github.com/hallmark-dev/hallmark/verifier"
)

// virtualSigstore is sigstore-go's in-memory Fulcio, TSA and Rekor v1 (its
// test CA), with a trusted_root.json for it.
type virtualSigstore struct {
	*ca.VirtualSigstore
	trustedRoot string
}

func newVirtualSigstore(t *testing.T) *virtualSigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	// Its logs' IDs are hex strings; a trusted root holds the raw IDs.
	rawIDs := func(logs map[string]*root.TransparencyLog) map[string]*root.TransparencyLog {
		out := map[string]*root.TransparencyLog{}
		for id, l := range logs {
			c := *l
			if c.ID, err = hex.DecodeString(id); err != nil {
				t.Fatal(err)
			}
			out[id] = &c
		}
		return out
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, vs.FulcioCertificateAuthorities(),
		rawIDs(vs.CTLogs()), vs.TimestampingAuthorities(), rawIDs(vs.RekorLogs()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return &virtualSigstore{vs, p}
}

// attest signs statement for identity at time at, with a TSA timestamp
// and a Rekor v1 dsse entry (inclusion proof and promise), as a bundle
// v0.3.
func (vs *virtualSigstore) attest(t *testing.T, identity string, statement []byte, at time.Time) *protobundle.Bundle {
	t.Helper()
	e, err := vs.AttestAtTime(identity, "https://issuer.example", statement, at, true)
	if err != nil {
		t.Fatal(err)
	}
	vc, _ := e.VerificationContent()
	sc, _ := e.SignatureContent()
	env := sc.EnvelopeContent().RawEnvelope()
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := e.TlogEntries()
	tle := entries[0].TransparencyLogEntry()
	tle.KindVersion = &protorekor.KindVersion{Kind: "dsse", Version: "0.0.1"}
	logID, _ := vs.RekorLogID()
	set, err := vs.RekorSignPayload(tlog.RekorPayload{
		Body: base64.StdEncoding.EncodeToString(tle.CanonicalizedBody), IntegratedTime: tle.IntegratedTime, LogIndex: tle.LogIndex, LogID: logID,
	})
	if err != nil {
		t.Fatal(err)
	}
	tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}
	ts, _ := e.Timestamps()
	b := &protobundle.Bundle{
		MediaType: layout.BundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
			TlogEntries: []*protorekor.TransparencyLogEntry{tle},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: env.PayloadType, Signatures: []*protodsse.Signature{{Sig: sig, Keyid: env.Signatures[0].KeyID}},
		}},
	}
	for _, raw := range ts {
		if b.VerificationMaterial.TimestampVerificationData == nil {
			b.VerificationMaterial.TimestampVerificationData = &protobundle.TimestampVerificationData{}
		}
		b.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps = append(b.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps,
			&protocommon.RFC3161SignedTimestamp{SignedTimestamp: raw})
	}
	return b
}

// TestVerifyBundleTlog verifies bundles with Rekor v1 entries against a
// trusted root listing the log, with the transparency-log check on.
func TestVerifyBundleTlog(t *testing.T) {
	reg, vs := signertest.NewRegistry(t, true), newVirtualSigstore(t)
	const who = "dev@example.com"
	p := verifier.Policy{Identity: who, Issuer: "https://issuer.example", Annotations: map[string]string{"tag": "v1"}}
	for _, tc := range []struct {
		name   string
		edit   func(b *protobundle.Bundle)
		ignore bool // Trust.IgnoreTlog
		want   verifier.Check
	}{
		{"timestamp and log entry", nil, false, ""},
		{"log entry alone (its integrated time)", func(b *protobundle.Bundle) { b.VerificationMaterial.TimestampVerificationData = nil }, false, ""},
		{"no log entry", func(b *protobundle.Bundle) { b.VerificationMaterial.TlogEntries = nil }, false, verifier.CheckTlog},
		{"no log entry, log ignored", func(b *protobundle.Bundle) { b.VerificationMaterial.TlogEntries = nil }, true, ""},
		{"inclusion proof tampered", func(b *protobundle.Bundle) {
			b.VerificationMaterial.TlogEntries[0].InclusionProof.RootHash[0] ^= 0xff
		}, false, verifier.CheckTlog},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := reg.Image(t, "app")
			st, err := layout.SignStatement{Digest: mustHash(t, d), Annotations: map[string]string{"tag": "v1"}}.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			b := vs.attest(t, who, st, time.Now().Add(time.Minute)) // within the certificate's 10 minutes
			if tc.edit != nil {
				tc.edit(b)
			}
			storeBundle(t, reg, d, b, layout.PredicateTypeSign)
			_, err = verifyBundle(t, reg, d, p, verifier.Trust{TrustedRoot: vs.trustedRoot, IgnoreSCT: true, IgnoreTlog: tc.ignore})
			if tc.want != "" {
				wantChecks(t, err, tc.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
