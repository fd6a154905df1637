// Command sbom-scanner is a BuildKit SBOM generator: it implements BuildKit's SBOM scanning
// protocol (docs/attestations/sbom-protocol.md in github.com/moby/buildkit) with syft as a
// library, as docker/buildkit-syft-scanner does (that module is not served by the Go module proxy
// these machines use, so the test bed builds this one instead).
//
// BuildKit runs the generator image with the build result's root filesystem mounted read-only at
// $BUILDKIT_SCAN_SOURCE, optional extra root filesystems under $BUILDKIT_SCAN_SOURCE_EXTRAS, and
// an empty $BUILDKIT_SCAN_DESTINATION. For each filesystem it writes
// $BUILDKIT_SCAN_DESTINATION/<name>.spdx.json: an in-toto statement, predicate type
// https://spdx.dev/Document, whose predicate is syft's SPDX JSON document of that filesystem,
// cataloged as an image (installed packages, binaries) rather than a source tree.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/cataloging"
	"github.com/anchore/syft/syft/cataloging/pkgcataloging"
	"github.com/anchore/syft/syft/format"
	"github.com/anchore/syft/syft/format/spdxjson"
	"github.com/anchore/syft/syft/source"
	"github.com/anchore/syft/syft/source/directorysource"
	_ "modernc.org/sqlite" // the RPM and Nix catalogers' database driver, as syft's own main registers it
)

const (
	envDestination  = "BUILDKIT_SCAN_DESTINATION"
	envSource       = "BUILDKIT_SCAN_SOURCE"
	envSourceExtras = "BUILDKIT_SCAN_SOURCE_EXTRAS"

	statementType = "https://in-toto.io/Statement/v0.1"
	predicateSPDX = "https://spdx.dev/Document"
)

// statement is the in-toto statement BuildKit reads from each output file. BuildKit sets the
// subjects itself (the image's platform manifest), so the scanner leaves them out.
type statement struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "sbom-scanner: error: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	dest, err := dirFromEnv(envDestination, true)
	if err != nil {
		return err
	}
	core, err := dirFromEnv(envSource, true)
	if err != nil {
		return err
	}
	targets := []string{core}
	extras, err := dirFromEnv(envSourceExtras, false)
	if err != nil {
		return err
	}
	if extras != "" {
		entries, err := os.ReadDir(extras)
		if err != nil {
			return fmt.Errorf("listing %s %s: %w", envSourceExtras, extras, err)
		}
		for _, e := range entries {
			targets = append(targets, filepath.Join(extras, e.Name()))
		}
	}
	for _, t := range targets {
		if err := scan(ctx, t, dest); err != nil {
			return err
		}
	}
	return nil
}

// dirFromEnv returns the directory named by an environment variable. An optional one that is
// unset, empty or missing is "" (the protocol: "no extras should be scanned").
func dirFromEnv(name string, required bool) (string, error) {
	dir := os.Getenv(name)
	if dir == "" {
		if required {
			return "", fmt.Errorf("%s is not set (this program is run by BuildKit as an SBOM generator)", name)
		}
		return "", nil
	}
	if _, err := os.Stat(dir); err != nil {
		if !required && errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return dir, nil
}

// scan writes DEST/<basename of dir>.spdx.json.
func scan(ctx context.Context, dir, dest string) error {
	src, err := directorysource.New(directorysource.Config{
		Path:  dir,
		Base:  dir, // paths in the SBOM are paths in the image
		Alias: source.Alias{Name: filepath.Base(dir)},
	})
	if err != nil {
		return fmt.Errorf("opening %s: %w", dir, err)
	}
	defer src.Close()
	cfg := syft.DefaultCreateSBOMConfig().
		WithCatalogerSelection(cataloging.NewSelectionRequest().WithDefaults(pkgcataloging.ImageTag))
	s, err := syft.CreateSBOM(ctx, src, cfg)
	if err != nil {
		return fmt.Errorf("cataloging %s: %w", dir, err)
	}
	enc, err := spdxjson.NewFormatEncoderWithConfig(spdxjson.DefaultEncoderConfig())
	if err != nil {
		return fmt.Errorf("spdx encoder: %w", err)
	}
	doc, err := format.Encode(*s, enc)
	if err != nil {
		return fmt.Errorf("encoding the SBOM of %s: %w", dir, err)
	}
	out, err := json.Marshal(statement{Type: statementType, PredicateType: predicateSPDX, Predicate: doc})
	if err != nil {
		return fmt.Errorf("encoding the statement of %s: %w", dir, err)
	}
	path := filepath.Join(dest, filepath.Base(dir)+".spdx.json")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
