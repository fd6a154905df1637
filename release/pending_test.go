package release

import (
	"context"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/testutil"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestPendingSigner: the certificate requested during the build is used
// when it is still valid long enough, and requested again otherwise.
func TestPendingSigner(t *testing.T) {
	ss := signertest.NewSigstore(t)
	opts := signer.Options{
		IdentityToken: ss.Token("g/p", "sigstore", time.Now().Add(time.Hour)), FulcioURL: ss.FulcioURL,
		InsecureSkipSCT: true, SkipTlogUpload: true,
	}
	p := StartSigner(context.Background(), opts)
	s, err := p.Signer(context.Background())
	p.Stop()
	if err != nil || s == nil {
		t.Fatalf("signer: %v", err)
	}
	if n := ss.FulcioRequests.Load(); n != 1 {
		t.Errorf("fresh certificate: %d Fulcio requests, want 1", n)
	}

	// Certificates that expire in 2 minutes: one more request after the wait.
	ss.CertNotBefore = func() time.Time { return time.Now().Add(-8 * time.Minute) }
	p = StartSigner(context.Background(), opts)
	s, err = p.Signer(context.Background())
	p.Stop()
	if err != nil || s == nil {
		t.Fatalf("signer: %v", err)
	}
	if n := ss.FulcioRequests.Load(); n != 3 {
		t.Errorf("certificate expiring soon: %d Fulcio requests in all, want 3", n)
	}

	// A Fulcio failure is reported when the signer is needed.
	opts.FulcioURL = testutil.ClosedURL(t)
	p = StartSigner(context.Background(), opts)
	defer p.Stop()
	if _, err := p.Signer(context.Background()); err == nil {
		t.Error("unreachable Fulcio: no error")
	}
}
