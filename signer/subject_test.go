package signer_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestSignKnownDescriptor: with the subject's descriptor given, an
// OCI 1.1 signature is the same as when signing reads it, one request less.
func TestSignKnownDescriptor(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		t.Run(signertest.Name(referrers), func(t *testing.T) {
			reg := signertest.NewRegistry(t, referrers)
			s := keyedSigner(t, reg, signer.ModeOCI11, "subject")
			ann := map[string]string{"tag": "v1"}
			warm, read, known := reg.Image(t, "app"), reg.Image(t, "app"), reg.Image(t, "app")
			if _, err := s.Sign(context.Background(), signer.Subject{Digest: warm}, ann); err != nil { // pings and handshakes
				t.Fatal(err)
			}
			desc, err := remote.Head(known, reg.Options...)
			if err != nil {
				t.Fatal(err)
			}
			before := reg.Requests.Load()
			if _, err := s.Sign(context.Background(), signer.Subject{Digest: read}, ann); err != nil {
				t.Fatal(err)
			}
			mid := reg.Requests.Load()
			res, err := s.Sign(context.Background(), signer.Subject{Digest: known, MediaType: desc.MediaType, Size: desc.Size}, ann)
			if err != nil {
				t.Fatal(err)
			}
			after := reg.Requests.Load()
			if n, m := mid-before, after-mid; m != n-1 {
				t.Errorf("requests: %d reading the subject, %d with its descriptor; want one less", n, m)
			}
			ref, err := name.NewDigest(res.Layouts[0].Ref)
			if err != nil {
				t.Fatal(err)
			}
			got, err := remote.Get(ref, reg.Options...)
			if err != nil {
				t.Fatal(err)
			}
			var m struct {
				Subject struct {
					MediaType, Digest string
					Size              int64
				}
			}
			if err := json.Unmarshal(got.Manifest, &m); err != nil {
				t.Fatal(err)
			}
			if m.Subject.Digest != known.DigestStr() || m.Subject.MediaType != string(desc.MediaType) || m.Subject.Size != desc.Size {
				t.Errorf("referrer subject %+v, want %s %s %d", m.Subject, desc.MediaType, known.DigestStr(), desc.Size)
			}
		})
	}
}
