package signer

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
)

// The signature layer is the payload itself, known before anything is
// read or signed: a Sign call uploads it in the background while it reads
// the layouts and signs. Its annotations make it new for each signing, so
// it goes up without asking the registry first (a freshBlob); re-signing
// with the same annotations uploads it again, harmlessly.

// startUpload starts uploading the payload blob to the image's repository.
func (j *job) startUpload() {
	j.uploaded = make(chan struct{})
	go func() {
		defer close(j.uploaded)
		layer := newFreshBlob(static.NewLayer(j.payload, ctypes.SimpleSigningMediaType))
		if err := remote.WriteLayer(j.digest.Context(), layer, j.ropts...); err != nil {
			j.uploadErr = fmt.Errorf("uploading signature blob: %w", err)
		}
	}()
}

// payloadUploaded waits for the upload and returns its error.
func (j *job) payloadUploaded() error {
	<-j.uploaded
	return j.uploadErr
}
