package verifier

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestVerifyWithCosignRecovers hands cosign, without the timestamp check in
// front, a signature whose timestamp is from a TSA the trusted root does not
// list: cosign 2.6.5 panics, and the panic becomes that signature's error.
func TestVerifyWithCosignRecovers(t *testing.T) {
	reg := signertest.NewRegistry(t, false)
	ss, other := signertest.NewSigstore(t), signertest.NewSigstore(t)
	s, err := signer.New(context.Background(), signer.Options{
		RemoteOptions: reg.Options, IdentityToken: ss.Token("g/p", "sigstore", time.Now().Add(time.Hour)),
		FulcioURL: ss.FulcioURL, InsecureSkipSCT: true, SkipTlogUpload: true, TimestampServerURL: other.TSAURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	d := reg.Image(t, "app")
	if _, err := s.Sign(context.Background(), signer.Subject{Digest: d}, nil); err != nil {
		t.Fatal(err)
	}
	p := &Policy{Identity: ss.Identity("g/p"), Issuer: ss.Issuer}
	co, err := checkOpts(context.Background(), p, &Trust{TrustedRoot: ss.TrustedRoot, IgnoreTlog: true, IgnoreSCT: true})
	if err != nil {
		t.Fatal(err)
	}
	sigs, bad := collect(d, reg.Options)
	if len(bad) > 0 || len(sigs) != 1 {
		t.Fatalf("collect: %d signatures, unreadable %v", len(sigs), bad)
	}
	h, _ := v1.NewHash(d.DigestStr())
	_, err = verifyWithCosign(context.Background(), sigs[0].sig, h, co)
	if err == nil || !strings.Contains(err.Error(), "cosign failed on this signature") {
		t.Fatalf("err = %v, want cosign's panic as an error", err)
	}
	if cerr := (&checker{policy: p, co: co, digest: h}).checkTimestamp(sigs[0].sig); cerr == nil || cerr.Check != CheckTimestamp {
		t.Fatalf("checkTimestamp = %v, want a timestamp failure", cerr)
	}
}
