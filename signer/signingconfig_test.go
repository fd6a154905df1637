package signer_test

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

func TestSelectServices(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	svc := func(u string, v uint32, start, end time.Time) root.Service {
		return root.Service{URL: u, MajorAPIVersion: v, ValidityPeriodStart: start, ValidityPeriodEnd: end, Operator: u}
	}
	old, older, later := now.AddDate(-1, 0, 0), now.AddDate(-2, 0, 0), now.AddDate(0, 1, 0)
	any1 := root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}
	exact1 := root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_EXACT, Count: 1}
	tests := []struct {
		name     string
		fulcio   []root.Service
		rekor    []root.Service
		tsa      []root.Service
		versions []uint32
		want     signer.Services
		wantErr  error
	}{{
		name:     "rekor v2 preferred, with its TSA",
		fulcio:   []root.Service{svc("https://fulcio", 1, old, time.Time{})},
		rekor:    []root.Service{svc("https://rekor-v1", 1, older, time.Time{}), svc("https://rekor-v2", 2, old, time.Time{})},
		tsa:      []root.Service{svc("https://tsa", 1, old, time.Time{})},
		versions: sign.RekorAPIVersions,
		want:     signer.Services{FulcioURL: "https://fulcio", RekorURL: "https://rekor-v2", RekorVersion: 2, TimestampServerURL: "https://tsa"},
	}, {
		name:     "simple signing: rekor v1 only",
		rekor:    []root.Service{svc("https://rekor-v1", 1, older, time.Time{}), svc("https://rekor-v2", 2, old, time.Time{})},
		versions: []uint32{1},
		want:     signer.Services{RekorURL: "https://rekor-v1", RekorVersion: 1},
	}, {
		name:     "expired and future services are skipped",
		fulcio:   []root.Service{svc("https://fulcio-old", 1, older, old), svc("https://fulcio-new", 1, old, time.Time{}), svc("https://fulcio-next", 1, later, time.Time{})},
		versions: sign.RekorAPIVersions,
		want:     signer.Services{FulcioURL: "https://fulcio-new"},
	}, {
		name:     "rekor v2 without a TSA",
		rekor:    []root.Service{svc("https://rekor-v2", 2, old, time.Time{})},
		versions: sign.RekorAPIVersions,
		wantErr:  signer.ErrRekorV2Timestamp,
	}, {
		name:     "no rekor of a supported version",
		rekor:    []root.Service{svc("https://rekor-v2", 2, old, time.Time{})},
		tsa:      []root.Service{svc("https://tsa", 1, old, time.Time{})},
		versions: []uint32{1},
		wantErr:  errAny,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := root.NewSigningConfig(root.SigningConfigMediaType02, tt.fulcio, nil, tt.rekor, any1, tt.tsa, exact1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := signer.SelectServices(sc, tt.versions, now)
			switch {
			case tt.wantErr == errAny && err != nil:
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			case tt.wantErr == nil && err != nil:
				t.Fatal(err)
			case tt.wantErr == nil && got != tt.want:
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

var errAny = errors.New("any error")

// TestSigningConfigRefusals: a signing config excludes explicit service
// URLs (as cosign v3's --signing-config does), and a bad file is bad
// input; both are refused before any request.
func TestSigningConfigRefusals(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "signing_config.json")
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02,
		[]root.Service{{URL: "http://127.0.0.1:1", MajorAPIVersion: 1, ValidityPeriodStart: time.Now().AddDate(-1, 0, 0)}},
		nil, nil, root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}, nil, root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY})
	if err != nil {
		t.Fatal(err)
	}
	b, err := sc.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	for p, c := range map[string][]byte{good: b, bad: []byte("{not json")} {
		if err := os.WriteFile(p, c, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	kp := signertest.Keys(t, "a")
	base := signer.Options{Key: kp.Private, Password: kp.Password, Bundle: true}
	tests := []struct {
		name    string
		mod     func(o *signer.Options)
		wantErr error
	}{
		{"fulcio url", func(o *signer.Options) { o.SigningConfig, o.FulcioURL = good, "https://fulcio" }, signer.ErrSigningConfigMixed},
		{"rekor url", func(o *signer.Options) { o.SigningConfig, o.RekorURL = good, "https://rekor" }, signer.ErrSigningConfigMixed},
		{"rekor version", func(o *signer.Options) { o.SigningConfig, o.RekorVersion = good, 2 }, signer.ErrSigningConfigMixed},
		{"tsa url", func(o *signer.Options) { o.SigningConfig, o.TimestampServerURL = good, "https://tsa" }, signer.ErrSigningConfigMixed},
		{"no rekor, upload on", func(o *signer.Options) { o.SigningConfig = good }, signer.ErrConfig},
		{"unparsable", func(o *signer.Options) { o.SigningConfig = bad }, signer.ErrConfig},
		{"missing", func(o *signer.Options) { o.SigningConfig = filepath.Join(dir, "none.json") }, signer.ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.mod(&o)
			_, err := signer.New(t.Context(), o)
			if !errors.Is(err, tt.wantErr) || !errors.Is(err, signer.ErrConfig) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestE2EBundleSigningConfig signs keyless with the bed's signing config
// as the only service setting — it selects Fulcio, Rekor v2 and the TSA —
// and cosign v3.1 verifies the bundle with every check on.
func TestE2EBundleSigningConfig(t *testing.T) {
	bed := signertest.RequireBed(t)
	bed.RequireSigning(t)
	bed.RequireCosign3(t)
	if bed.SigningConfig == "" || bed.SigstoreTrustedRoot == "" {
		t.Skip("the bed has no signing config (HALLMARK_TEST_SIGNING_CONFIG)")
	}
	reg := bed.Registries[1]
	ctx := t.Context()
	d := reg.Image(t, "hallmark-e2e/signing-config")
	s, err := signer.New(ctx, signer.Options{RemoteOptions: reg.Options, Bundle: true,
		IdentityToken: bed.Token(t, url.Values{"project_path": {"group/app"}}),
		TrustedRoot:   bed.SigstoreTrustedRoot, SigningConfig: bed.SigningConfig})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(ctx, signer.Subject{Digest: d}, map[string]string{"tag": "e2e"}); err != nil {
		t.Fatal(err)
	}
	cosign3VerifyAll(ctx, t, bed, d)
}
