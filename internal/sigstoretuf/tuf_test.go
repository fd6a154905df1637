package sigstoretuf_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark/internal/sigstoretuf"
	"github.com/hallmark-dev/hallmark/internal/testutil"
)

// TestFetch reads the trusted root and signing config of a TUF
// repository served on loopback, starting from its root.json.
func TestFetch(t *testing.T) {
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02,
		[]root.Service{{URL: "https://fulcio.example", MajorAPIVersion: 1, ValidityPeriodStart: time.Now().AddDate(-1, 0, 0)}},
		nil, nil, root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY},
		nil, root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY})
	if err != nil {
		t.Fatal(err)
	}
	scJSON, err := sc.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	trJSON, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	mirror, rootPath := testutil.TUFRepo(t, map[string][]byte{"trusted_root.json": trJSON, "signing_config.v0.2.json": scJSON})
	o := sigstoretuf.Options{Mirror: mirror, Root: rootPath, CachePath: t.TempDir()}

	gotSC, err := sigstoretuf.SigningConfig(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if cas := gotSC.FulcioCertificateAuthorityURLs(); len(cas) != 1 || cas[0].URL != "https://fulcio.example" {
		t.Fatalf("signing config from TUF: %v", cas)
	}
	_, src, err := sigstoretuf.TrustedRootFrom(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	// testutil.TUFRepo writes version 1 of root and targets.
	if want := (sigstoretuf.Source{Mirror: mirror, RootVersion: 1, TargetsVersion: 1}); src != want {
		t.Fatalf("source %+v, want %+v", src, want)
	}
	if got, want := src.String(), "TUF mirror "+mirror+" (root v1, targets v1)"; got != want {
		t.Fatalf("source %q, want %q", got, want)
	}

	// A root.json the repository is not signed with is refused; a
	// mirror without a root.json too.
	_, otherRoot := testutil.TUFRepo(t, nil)
	if _, err := sigstoretuf.TrustedRoot(t.Context(), sigstoretuf.Options{Mirror: mirror, Root: otherRoot, CachePath: t.TempDir()}); err == nil {
		t.Fatal("a repository was trusted with another repository's root.json")
	}
	if _, err := sigstoretuf.TrustedRoot(t.Context(), sigstoretuf.Options{Mirror: mirror, CachePath: t.TempDir()}); !errors.Is(err, sigstoretuf.ErrMirrorRoot) {
		t.Fatalf("mirror without root: %v", err)
	}
	if _, err := sigstoretuf.TrustedRoot(t.Context(), sigstoretuf.Options{Mirror: mirror, Root: filepath.Join(t.TempDir(), "none.json")}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing root file: %v", err)
	}
}
