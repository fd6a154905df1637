package signer

import (
	"fmt"

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
			if err := remote.WriteLayer(repo, layer, c.ropts...); err != nil {
				return fmt.Errorf("uploading signature blob: %w", err)
			}
			return nil
		})
	}
	if _, known := c.s.emptyIn.Load(repo.String()); bundle && !known {
		c.emptyUp = startUpload(func() error {
			layer := static.NewLayer([]byte(layout.EmptyJSON), types.MediaType(layout.EmptyMediaType))
			if err := remote.WriteLayer(repo, layer, c.ropts...); err != nil {
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
