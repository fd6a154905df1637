package signer

import (
	"io"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/stream"
)

// freshBlob is a blob this signer has just made and the registry is not
// expected to have — the config of a signature manifest, which names the
// new signature layer, and the signed payload. remote.WriteLayer asks the registry whether it has a
// blob (a HEAD) only when it knows the digest before reading the content,
// as it does not for a stream.Layer: freshBlob reports its digest only
// once read, which saves that request. Retries still check.
type freshBlob struct {
	v1.Layer
	read atomic.Bool
}

func newFreshBlob(l v1.Layer) *freshBlob { return &freshBlob{Layer: l} }

// Digest is stream.ErrNotComputed until the content has been read.
func (b *freshBlob) Digest() (v1.Hash, error) {
	if !b.read.Load() {
		return v1.Hash{}, stream.ErrNotComputed
	}
	return b.Layer.Digest()
}

// Compressed returns the content, after which Digest is known.
func (b *freshBlob) Compressed() (io.ReadCloser, error) {
	b.read.Store(true)
	return b.Layer.Compressed()
}
