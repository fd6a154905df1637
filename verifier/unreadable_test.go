package verifier_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
	"github.com/hallmark-dev/hallmark/verifier"
)

// brokenManifest is a manifest no signature reader can parse.
type brokenManifest struct{}

func (brokenManifest) RawManifest() ([]byte, error) {
	return []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":"none"}`), nil
}
func (brokenManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// breakLegacy puts a manifest no reader parses under d's signature tag.
func breakLegacy(t *testing.T, reg *signertest.Registry, d name.Digest) {
	t.Helper()
	if err := remote.Put(layout.SignatureTag(d), brokenManifest{}, reg.Options...); err != nil {
		t.Fatal(err)
	}
}

// breakFallback puts an image, not an index, under d's fallback tag.
func breakFallback(t *testing.T, reg *signertest.Registry, d name.Digest) {
	t.Helper()
	img, err := random.Image(10, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(layout.FallbackTag(d), img, reg.Options...); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyUnreadableLayout: a layout that cannot be read (a broken .sig
// manifest, a fallback tag that is no index) does not fail a verification
// that another layout's valid signature decides, as cosign verifies it: it
// is reported in Result.Unreadable. Alone, it is the verification's error.
func TestVerifyUnreadableLayout(t *testing.T) {
	cases := []struct {
		name   string
		mode   signer.Mode // the valid signature's layout; "" none
		breaks func(*testing.T, *signertest.Registry, name.Digest)
		broken verifier.Layout
	}{
		{"broken .sig, valid oci-1-1", signer.ModeOCI11, breakLegacy, verifier.LayoutLegacy},
		{"broken fallback index, valid legacy", signer.ModeLegacy, breakFallback, verifier.LayoutFallback},
		{"broken .sig alone", "", breakLegacy, verifier.LayoutLegacy},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg := signertest.NewRegistry(t, false)
			d := reg.Image(t, "app")
			if c.mode != "" {
				sign(t, reg, d, c.mode, "k", nil)
			}
			c.breaks(t, reg, d)
			res, err := verifyKey(t, reg, d, "k", nil)
			if c.mode == "" {
				if err == nil || !errors.Is(err, verifier.ErrNoSignatures) || !strings.Contains(err.Error(), string(c.broken)+" unreadable") {
					t.Fatalf("err = %v, want the unreadable %s and no signatures", err, c.broken)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Verified) != 1 || len(res.Unreadable) != 1 || res.Unreadable[0].Layout != c.broken {
				t.Fatalf("verified %d, unreadable %v; want 1 and %s", len(res.Verified), res.Unreadable, c.broken)
			}
			t.Log(res.Unreadable)
		})
	}
}
