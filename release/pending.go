package release

import (
	"context"
	"time"

	"github.com/hallmark-dev/hallmark/signer"
)

// certMargin is how long a keyless certificate requested during the build
// must still be valid when signing starts; after a longer build a new one
// is requested.
const certMargin = 3 * time.Minute

// PendingSigner prepares a signer while other work runs (a release's
// build, hallmark sign's image look-ups) — decrypts the key (scrypt, a few
// hundred milliseconds of CPU) or requests the keyless certificate from
// Fulcio — taking that off the critical path.
type PendingSigner struct {
	o      signer.Options
	done   chan struct{}
	s      *signer.Signer
	err    error
	cancel context.CancelFunc
}

// StartSigner starts preparing the signer for o; Stop must be called.
func StartSigner(ctx context.Context, o signer.Options) *PendingSigner {
	ctx, cancel := context.WithCancel(ctx)
	p := &PendingSigner{o: o, done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(p.done)
		p.s, p.err = signer.New(ctx, o)
	}()
	return p
}

// Signer waits for the signer and returns it, or one with a new
// certificate when the one requested would expire too soon. Errors are as
// signer.New's. It may be called more than once.
func (p *PendingSigner) Signer(ctx context.Context) (*signer.Signer, error) {
	select {
	case <-p.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if p.err != nil {
		return nil, p.err
	}
	if notAfter, ok := p.s.CertificateExpiry(); ok && time.Until(notAfter) < certMargin {
		if p.o.Logger != nil {
			p.o.Logger.DebugContext(ctx, "signing certificate requested during the build expires soon; requesting another", "not_after", notAfter)
		}
		s, err := signer.New(ctx, p.o)
		if err != nil {
			return nil, err
		}
		p.s = s
	}
	return p.s, nil
}

// Stop cancels a request still running (the build failed).
func (p *PendingSigner) Stop() { p.cancel() }
