package verifier_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
	"github.com/hallmark-dev/hallmark/verifier"
)

// TestVerifyForeignTimestamp verifies, with a trusted root, an image whose
// signature carries a timestamp from a TSA the root does not list (cosign
// 2.6.5 indexes an empty list of verified timestamps and panics there),
// alone and beside a good signature: the foreign one fails its timestamp
// check, the good one still verifies, nothing panics.
func TestVerifyForeignTimestamp(t *testing.T) {
	reg := signertest.NewRegistry(t, true)
	ss, other := signertest.NewSigstore(t), signertest.NewSigstore(t)
	foreign, err := signer.New(context.Background(), signer.Options{ // ss's Fulcio, the other's TSA
		RemoteOptions: reg.Options, IdentityToken: ss.Token("g/p", "sigstore", time.Now().Add(time.Hour)),
		FulcioURL: ss.FulcioURL, InsecureSkipSCT: true, SkipTlogUpload: true, TimestampServerURL: other.TSAURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	alone, mixed := reg.Image(t, "app"), reg.Image(t, "app")
	for _, d := range []name.Digest{alone, mixed} {
		if _, err := foreign.Sign(context.Background(), signer.Subject{Digest: d}, map[string]string{"n": "1"}); err != nil {
			t.Fatal(err)
		}
	}
	signKeyless(t, reg, ss, mixed, signer.ModeLegacy, "g/p", true, map[string]string{"n": "2"})
	opts := verifier.Options{
		RemoteOptions: reg.Options,
		Policy:        verifier.Policy{Identity: ss.Identity("g/p"), Issuer: ss.Issuer},
		Trust:         verifier.Trust{TrustedRoot: ss.TrustedRoot, IgnoreTlog: true, IgnoreSCT: true},
	}

	_, err = verifier.Verify(context.Background(), alone, opts)
	if got := failed(t, err); len(got) != 1 || got[0] != verifier.CheckTimestamp {
		t.Fatalf("failed checks %v, want [%s]: %v", got, verifier.CheckTimestamp, err)
	}
	res, err := verifier.Verify(context.Background(), mixed, opts)
	if err != nil {
		t.Fatalf("the good signature beside the foreign one does not verify: %v", err)
	}
	if len(res.Verified) != 1 || len(res.Failures) != 1 || res.Failures[0].Check != verifier.CheckTimestamp {
		t.Fatalf("verified %d, failures %v; want 1 and one timestamp failure", len(res.Verified), res.Failures)
	}
	var ce *verifier.CheckError
	if !errors.As(res.Failures[0], &ce) {
		t.Fatal("failure is not a *CheckError")
	}
}
