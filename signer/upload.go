package signer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"

	"github.com/hallmark-dev/hallmark/layout"
)

// Two blobs are known before anything is read or signed, and a Sign call
// uploads them in the background while it reads the layouts and signs:
// the simple-signing payload (the signature layer) and the empty config of
// a bundle referrer. The payload's annotations make it new for each
// signing, so it goes up without asking the registry first (a freshBlob);
// re-signing with the same annotations uploads it again, harmlessly. The
// empty config is the same for every bundle: it goes up once per
// repository and Signer, after asking the registry whether it has it.

// blobRounds is how many times writeBlob runs a blob upload in all when
// each run failed transiently. go-containerregistry retries an upload as a
// whole (its HEAD, POST and PUT) with the transport's backoff, 6 tries with
// registry.RemoteOptions; at 30% registry faults 1 upload in 12 still ran
// out (e2e TestReleaseFaultFigures: 7 of 100 releases failed there). A
// blob is content-addressed, so sending it again is always safe, unlike a
// conditional manifest write.
const blobRounds = 4

// writeBlob uploads l to repo, running the upload again after a short
// jittered pause (under a second: the call's context, in c.ropts, ends
// the next run at once) when the transport's own retries ran out on
// transient failures, up to blobRounds times in all.
//
// A freshBlob goes up as a stream, whose error go-containerregistry's
// pusher keeps for good: later runs upload the blob itself, by digest
// (asking the registry first: a lost answer may have stored it).
func (c *signCall) writeBlob(repo name.Repository, l v1.Layer) error {
	for round := 1; ; round++ {
		if fb, ok := l.(*freshBlob); ok && round > 1 {
			l = fb.Layer
		}
		err := remote.WriteLayer(repo, l, c.ropts...)
		if err == nil || round >= blobRounds || !transientFailure(err) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		c.s.o.Logger.Info("transient registry failures ran out an upload's retries; uploading again", "repo", repo.String(), "round", round+1, "err", err)
		d := 200 * time.Millisecond << (round - 1)
		time.Sleep(d/2 + rand.N(d/2))
	}
}

// upload is a blob upload running in the background.
type upload struct {
	done chan struct{}
	err  error
}

func startUpload(f func() error) *upload {
	u := &upload{done: make(chan struct{})}
	go func() {
		defer close(u.done)
		u.err = f()
	}()
	return u
}

// wait waits for the upload and returns its error; nil for no upload.
func (u *upload) wait() error {
	if u == nil {
		return nil
	}
	<-u.done
	return u.err
}

// startUploads starts uploading the payload blob (simple) and the empty
// config (bundle) to the image's repository.
func (c *signCall) startUploads(simple, bundle bool) {
	repo := c.digest.Context()
	if simple {
		c.payloadUp = startUpload(func() error {
			layer := newFreshBlob(static.NewLayer(c.payload, ctypes.SimpleSigningMediaType))
			if err := c.writeBlob(repo, layer); err != nil {
				return fmt.Errorf("uploading signature blob: %w", err)
			}
			return nil
		})
	}
	if _, known := c.s.emptyIn.Load(repo.String()); bundle && !known {
		c.emptyUp = startUpload(func() error {
			layer := static.NewLayer([]byte(layout.EmptyJSON), types.MediaType(layout.EmptyMediaType))
			if err := c.writeBlob(repo, layer); err != nil {
				return fmt.Errorf("uploading the empty config blob: %w", err)
			}
			c.s.emptyIn.Store(repo.String(), true)
			return nil
		})
	}
}

// payloadUploaded waits for the payload's upload and returns its error.
func (c *signCall) payloadUploaded() error { return c.payloadUp.wait() }

// uploadsDone waits for the uploads to end.
func (c *signCall) uploadsDone() {
	c.payloadUp.wait() //nolint:errcheck // a layout that needed it has checked
	c.emptyUp.wait()   //nolint:errcheck // idem
}
