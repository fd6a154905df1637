package layout_test

import (
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark/layout"
)

const hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestTags(t *testing.T) {
	d := name.MustParseReference("registry.example/group/app@sha256:" + hex).(name.Digest)
	for _, tc := range []struct {
		got  name.Tag
		want string
	}{
		{layout.SignatureTag(d), "registry.example/group/app:sha256-" + hex + ".sig"},
		{layout.FallbackTag(d), "registry.example/group/app:sha256-" + hex},
	} {
		if tc.got.String() != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
}

func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		in        string
		want      layout.Mode
		locations []layout.Location
		err       bool
	}{
		{"", layout.ModeLegacy, []layout.Location{layout.LocationLegacy}, false},
		{"legacy", layout.ModeLegacy, []layout.Location{layout.LocationLegacy}, false},
		{"oci-1-1", layout.ModeOCI11, []layout.Location{layout.LocationReferrers, layout.LocationFallback}, false},
		{"both", layout.ModeBoth, []layout.Location{layout.LocationLegacy, layout.LocationReferrers, layout.LocationFallback}, false},
		{"oci11", "", nil, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := layout.ParseMode(tc.in)
			if tc.err {
				if !errors.Is(err, layout.ErrUnknownMode) {
					t.Fatalf("ParseMode(%q) = %v, want ErrUnknownMode", tc.in, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseMode(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			locs := got.Locations()
			if len(locs) != len(tc.locations) {
				t.Fatalf("%s.Locations() = %v, want %v", got, locs, tc.locations)
			}
			for i := range locs {
				if locs[i] != tc.locations[i] {
					t.Fatalf("%s.Locations() = %v, want %v", got, locs, tc.locations)
				}
			}
		})
	}
}

// TestListReferrers puts a referrer of an image to registries with and
// without the referrers API (go-containerregistry then maintains the
// fallback index) and lists it in the places asked for.
func TestListReferrers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		referrers bool
		api       bool
		fallback  bool
		want      layout.Location // "" for none
	}{
		{"api registry, both asked", true, true, true, layout.LocationReferrers},
		{"api registry, fallback only", true, false, true, ""},
		{"plain registry, both asked", false, true, true, layout.LocationFallback},
		{"plain registry, api only", false, true, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(tc.referrers)))
			t.Cleanup(srv.Close)
			u, _ := url.Parse(srv.URL)
			repo, err := name.NewRepository(u.Host + "/test/app")
			if err != nil {
				t.Fatal(err)
			}
			img, err := random.Image(64, 1)
			if err != nil {
				t.Fatal(err)
			}
			h, _ := img.Digest()
			d := repo.Digest(h.String())
			if err := remote.Write(d, img); err != nil {
				t.Fatal(err)
			}
			desc, err := remote.Head(d)
			if err != nil {
				t.Fatal(err)
			}
			ref := mutate.Subject(mutate.ConfigMediaType(empty.Image, types.MediaType(layout.BundleMediaType)), *desc).(v1.Image)
			rh, _ := ref.Digest()
			if err := remote.Write(repo.Digest(rh.String()), ref); err != nil {
				t.Fatal(err)
			}
			got, err := layout.ListReferrers(d, []remote.Option{remote.WithReferrersTagFallback(false)}, tc.api, tc.fallback)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if len(got) != 0 {
					t.Fatalf("listed %v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Location != tc.want || got[0].Descriptor.Digest != rh {
				t.Fatalf("listed %+v, want %s in %s", got, rh, tc.want)
			}
		})
	}
}
