package verifier_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
	"github.com/hallmark-dev/hallmark/verifier"
)

// TestCandidatesCapped: an image with more signature referrers than
// Options.MaxCandidates has only that many examined — a bounded number of
// requests — and the failure says so; a valid signature among the first
// still verifies, with Result.Skipped counting the rest.
func TestCandidatesCapped(t *testing.T) {
	const junk, limit = 120, 10
	reg := signertest.NewRegistry(t, true)
	d := reg.Image(t, "app")
	sign(t, reg, d, signer.ModeLegacy, "a", nil)
	payload := static.NewLayer([]byte(`{"critical":{}}`), types.MediaType(layout.SimpleSigningArtifactType))
	if err := remote.WriteLayer(d.Context(), payload, reg.Options...); err != nil {
		t.Fatal(err)
	}
	pd, _ := payload.Digest()
	subject, err := remote.Head(d, reg.Options...)
	if err != nil {
		t.Fatal(err)
	}
	empty := static.NewLayer([]byte("{}"), types.MediaType(layout.SimpleSigningArtifactType))
	if err := remote.WriteLayer(d.Context(), empty, reg.Options...); err != nil {
		t.Fatal(err)
	}
	ed, _ := empty.Digest()
	for i := range junk {
		m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"artifactType":%q,"config":{"mediaType":%q,"digest":%q,"size":2},`+
			`"layers":[{"mediaType":%q,"digest":%q,"size":15,"annotations":{"dev.cosignproject.cosign/signature":"MEUC%d"}}],`+
			`"subject":{"mediaType":%q,"digest":%q,"size":%d}}`,
			types.OCIManifestSchema1, layout.SimpleSigningArtifactType, layout.SimpleSigningArtifactType, ed,
			layout.SimpleSigningArtifactType, pd, i, subject.MediaType, subject.Digest, subject.Size)
		h, _, _ := v1.SHA256(strings.NewReader(m))
		if err := remote.Put(d.Context().Digest(h.String()), rawManifest{[]byte(m), types.OCIManifestSchema1}, reg.Options...); err != nil {
			t.Fatal(err)
		}
	}
	o := verifier.Options{RemoteOptions: reg.Options, MaxCandidates: limit, Layouts: []verifier.Layout{verifier.LayoutReferrers},
		Policy: verifier.Policy{Key: signertest.Keys(t, "a").Public}, Trust: verifier.Trust{IgnoreTlog: true}}
	before := reg.Requests.Load()
	_, err = verifier.Verify(context.Background(), d, o)
	requests := reg.Requests.Load() - before
	var nm *verifier.NoMatchError
	if !errors.As(err, &nm) || len(nm.Failures) != limit || !strings.Contains(err.Error(), fmt.Sprintf("only the first %d of %d signature candidates", limit, junk)) {
		t.Fatalf("got %v, want a no-match error saying %d of %d were examined", err, limit, junk)
	}
	if requests > 4*limit {
		t.Fatalf("%d requests for %d candidates", requests, limit)
	}
	t.Logf("%d referrers, %d examined in %d requests", junk, limit, requests)

	o.Layouts = nil // the legacy tag first: its valid signature is among the first
	res, err := verifier.Verify(context.Background(), d, o)
	if err != nil || len(res.Verified) != 1 || res.Skipped != junk+1-limit {
		t.Fatalf("got %+v, %v; want 1 verified, %d skipped", res, err, junk+1-limit)
	}
}
