package signer_test

import (
	"context"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/signer"
)

// Keyless signing in a GitLab job (id_tokens: SIGSTORE_ID_TOKEN, aud
// sigstore), as an OCI 1.1 referrer, with a timestamp.
func ExampleNew_keyless() {
	ctx := context.Background()
	s, err := signer.New(ctx, signer.Options{
		RemoteOptions:      []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)},
		Mode:               signer.ModeOCI11,
		IdentityToken:      os.Getenv("SIGSTORE_ID_TOKEN"),
		TimestampServerURL: "https://timestamp.sigstore.dev/api/v1/timestamp",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	digest, err := name.NewDigest("registry.example.com/app@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := s.Sign(ctx, signer.Subject{Digest: digest}, map[string]string{"tag": "v1.2.3"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Added(), res.Layouts[0].Ref)
}

// Keyless signing as cosign v3 does by default: a Sigstore bundle with a
// timestamp, logged in Rekor, stored as an OCI 1.1 referrer; and, for
// consumers older than cosign 2.6.3, a simple-signing signature in the
// legacy layout too (leave Mode empty for the bundle alone; only then can
// RekorVersion be 2, Rekor v2 logging bundles only).
func ExampleNew_bundle() {
	ctx := context.Background()
	s, err := signer.New(ctx, signer.Options{
		RemoteOptions:      []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)},
		Bundle:             true,
		Mode:               signer.ModeLegacy,
		IdentityToken:      os.Getenv("SIGSTORE_ID_TOKEN"),
		TimestampServerURL: "https://timestamp.sigstore.dev/api/v1/timestamp",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	digest, err := name.NewDigest("registry.example.com/app@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := s.Sign(ctx, signer.Subject{Digest: digest}, map[string]string{"tag": "v1.2.3"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range res.Layouts {
		fmt.Println(w.Format, w.Location, w.Ref, w.Existing)
	}
}
