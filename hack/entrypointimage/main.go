// Command entrypointimage pushes a one-binary OCI image: the binary at
// /NAME (mode 0755), an empty /tmp, and the binary as the entrypoint. The
// test bed (hack/testbed.sh) pushes the BuildKit SBOM generator it builds
// (hack/tools/sbom-scanner) with it, without a Docker daemon.
//
//	entrypointimage -binary PATH -ref REGISTRY/REPO:TAG
//
// The image is reproducible (fixed times, no history), so pushing the same
// binary twice pushes the same digest. It prints REGISTRY/REPO:TAG@DIGEST.
// A loopback registry is spoken to in plain HTTP.
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func main() {
	binary := flag.String("binary", "", "the static binary to put in the image")
	ref := flag.String("ref", "", "where to push the image (REGISTRY/REPO:TAG)")
	flag.Parse()
	if *binary == "" || *ref == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: entrypointimage -binary PATH -ref REGISTRY/REPO:TAG")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out, err := run(ctx, *binary, *ref)
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(out)
}

func run(ctx context.Context, binary, ref string) (string, error) {
	tag, err := name.NewTag(ref, name.Insecure) // loopback registries are plain HTTP
	if err != nil {
		return "", fmt.Errorf("parsing -ref %q: %w", ref, err)
	}
	img, err := image(binary)
	if err != nil {
		return "", err
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("pushing %s: %w", tag, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return tag.String() + "@" + d.String(), nil
}

// image is the OCI image of binary for this machine's platform.
func image(binary string) (v1.Image, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("reading -binary: %w", err)
	}
	base := filepath.Base(binary)
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar(base, bin))), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("making the layer: %w", err)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, fmt.Errorf("making the image: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = runtime.GOOS, runtime.GOARCH
	cfg.Config.Entrypoint = []string{"/" + base}
	cfg.Config.WorkingDir = "/"
	cfg.Config.Env = []string{"PATH=/", "TMPDIR=/tmp"}
	cfg.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	return mutate.ConfigFile(img, cfg)
}

// layerTar is a tar of /tmp and /NAME, with fixed times and owners.
func layerTar(base string, bin []byte) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	// Writes to a bytes.Buffer do not fail.
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777, ModTime: epoch, Format: tar.FormatPAX})
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: base, Mode: 0o755, Size: int64(len(bin)), ModTime: epoch, Format: tar.FormatPAX})
	_, _ = tw.Write(bin)
	_ = tw.Close()
	return buf.Bytes()
}
