package signer_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/empty"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	"github.com/sigstore/cosign/v2/pkg/oci/static"

	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestSignSignatureTagEdges signs in the legacy layout over the signature
// tags cosign leaves or refuses: an empty .sig manifest (no layers), which
// cosign signs over, is signed over; a .sig already holding the 1000
// signatures cosign reads is not given a 1001st (that would hide them all
// from cosign): Sign fails with ErrSignatureTagFull and leaves it as it was.
func TestSignSignatureTagEdges(t *testing.T) {
	cases := []struct {
		name    string
		layers  int
		wantErr error
		want    int
	}{
		{"empty manifest", 0, nil, 1},
		{"at the cap", layout.MaxSignatureLayers, signer.ErrSignatureTagFull, layout.MaxSignatureLayers},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg := signertest.NewRegistry(t, false)
			d := reg.Image(t, "app")
			sigs := make([]oci.Signature, c.layers)
			for i := range sigs {
				sig, err := static.NewSignature([]byte(`{"other":"payload"}`), fmt.Sprintf("c2lnLSVk%d", i))
				if err != nil {
					t.Fatal(err)
				}
				sigs[i] = sig
			}
			var base oci.Signatures = empty.Signatures()
			if len(sigs) > 0 {
				var err error
				if base, err = mutate.AppendSignatures(base, false, sigs...); err != nil {
					t.Fatal(err)
				}
			}
			if err := remote.Write(signer.SignatureTag(d), base, reg.Options...); err != nil {
				t.Fatal(err)
			}
			s := keyedSigner(t, reg, signer.ModeLegacy, "a")
			_, err := s.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"k": "v"})
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("Sign: %v, want %v", err, c.wantErr)
			}
			if err != nil {
				t.Log(err)
			}
			if l, _ := stored(t, reg, d); l != c.want {
				t.Fatalf("%d signatures in the signature tag, want %d", l, c.want)
			}
		})
	}
}
