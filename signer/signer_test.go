package signer_test

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

func keyedSigner(t *testing.T, reg *signertest.Registry, mode signer.Mode, label string) *signer.Signer {
	t.Helper()
	kp := signertest.Keys(t, label)
	s, err := signer.New(context.Background(), signer.Options{
		RemoteOptions:  reg.Options,
		Mode:           mode,
		Key:            kp.Private,
		Password:       kp.Password,
		SkipTlogUpload: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// stored counts the signatures in each layout, read with cosign's library.
func stored(t *testing.T, reg *signertest.Registry, d name.Digest) (legacy, referrers int) {
	t.Helper()
	sl, err := ociremote.Signatures(signer.SignatureTag(d), ociremote.WithRemoteOptions(reg.Options...))
	if err != nil {
		t.Fatal(err)
	}
	got, err := sl.Get()
	if err != nil {
		t.Fatal(err)
	}
	idx, err := ociremote.Referrers(d, signer.ArtifactType, ociremote.WithRemoteOptions(reg.Options...))
	if err != nil {
		t.Fatal(err)
	}
	return len(got), len(idx.Manifests)
}

// cosignVerifies checks the signature with cosign's own library (legacy
// tag, or the last OCI 1.1 referrer as `cosign verify --experimental-oci11`
// does), checking claims and annotations.
func cosignVerifies(t *testing.T, reg *signertest.Registry, d name.Digest, pub string, ann map[string]string, oci11 bool) error {
	t.Helper()
	raw, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := cryptoutils.UnmarshalPEMToPublicKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, err := signature.LoadVerifier(pk, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{}
	for k, val := range ann {
		want[k] = val
	}
	co := &cosign.CheckOpts{
		RegistryClientOpts: []ociremote.Option{ociremote.WithRemoteOptions(reg.Options...)},
		SigVerifier:        v,
		IgnoreTlog:         true,
		ClaimVerifier:      cosign.SimpleClaimVerifier,
		Annotations:        want,
		ExperimentalOCI11:  oci11,
	}
	_, _, err = cosign.VerifyImageSignatures(context.Background(), d, co)
	return err
}

// modeLayouts are the signatures one sign stores in each layout, per mode.
var modeLayouts = []struct {
	mode                      signer.Mode
	wantLegacy, wantReferrers int
}{
	{signer.ModeLegacy, 1, 0},
	{signer.ModeOCI11, 0, 1},
	{signer.ModeBoth, 1, 1},
}

func TestSignLayouts(t *testing.T) {
	ann := map[string]string{"tag": "v1", "org.opencontainers.image.revision": "abc123"}
	for _, referrers := range []bool{true, false} {
		for _, tc := range modeLayouts {
			t.Run(fmt.Sprintf("%s/%s", signertest.Name(referrers), tc.mode), func(t *testing.T) {
				reg := signertest.NewRegistry(t, referrers)
				d := reg.Image(t, "app")
				s := keyedSigner(t, reg, tc.mode, "a")
				res, err := s.Sign(context.Background(), signer.Subject{Digest: d}, ann)
				if err != nil {
					t.Fatal(err)
				}
				if !res.Added() || len(res.Layouts) != tc.wantLegacy+tc.wantReferrers {
					t.Fatalf("result: added=%v layouts=%+v", res.Added(), res.Layouts)
				}
				if l, r := stored(t, reg, d); l != tc.wantLegacy || r != tc.wantReferrers {
					t.Fatalf("stored legacy=%d referrers=%d, want %d %d", l, r, tc.wantLegacy, tc.wantReferrers)
				}
				if err := cosignVerifies(t, reg, d, signertest.Keys(t, "a").Public, ann, tc.mode == signer.ModeOCI11); err != nil {
					t.Fatalf("cosign library rejects the signature: %v", err)
				}
				if err := cosignVerifies(t, reg, d, signertest.Keys(t, "a").Public, map[string]string{"tag": "v2"}, tc.mode == signer.ModeOCI11); err == nil {
					t.Fatal("cosign library accepts a wrong annotation")
				}
			})
		}
	}
}

func TestSignIdempotent(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		for _, mode := range signer.Modes {
			t.Run(fmt.Sprintf("%s/%s", signertest.Name(referrers), mode), func(t *testing.T) {
				reg := signertest.NewRegistry(t, referrers)
				d := reg.Image(t, "app")
				s := keyedSigner(t, reg, mode, "a")
				ann := map[string]string{"tag": "v1"}
				if _, err := s.Sign(context.Background(), signer.Subject{Digest: d}, ann); err != nil {
					t.Fatal(err)
				}
				l0, r0 := stored(t, reg, d)
				again, err := s.Sign(context.Background(), signer.Subject{Digest: d}, ann)
				if err != nil {
					t.Fatal(err)
				}
				if again.Added() {
					t.Fatalf("re-signing added a signature: %+v", again.Layouts)
				}
				if l, r := stored(t, reg, d); l != l0 || r != r0 {
					t.Fatalf("re-signing changed the registry: legacy %d->%d referrers %d->%d", l0, l, r0, r)
				}
				other, err := s.Sign(context.Background(), signer.Subject{Digest: d}, map[string]string{"tag": "v2"})
				if err != nil {
					t.Fatal(err)
				}
				if !other.Added() {
					t.Fatal("different annotations were taken as already signed")
				}
				byOtherKey, err := keyedSigner(t, reg, mode, "b").Sign(context.Background(), signer.Subject{Digest: d}, ann)
				if err != nil {
					t.Fatal(err)
				}
				if !byOtherKey.Added() {
					t.Fatal("another key's signature was taken as already signed")
				}
			})
		}
	}
}

// TestSignBothCopiesExisting checks that a layout missing a signature the
// other layout has gets a copy, not a new signature.
func TestSignBothCopiesExisting(t *testing.T) {
	reg := signertest.NewRegistry(t, false)
	d := reg.Image(t, "app")
	ann := map[string]string{"tag": "v1"}
	first, err := keyedSigner(t, reg, signer.ModeLegacy, "a").Sign(context.Background(), signer.Subject{Digest: d}, ann)
	if err != nil {
		t.Fatal(err)
	}
	both, err := keyedSigner(t, reg, signer.ModeBoth, "a").Sign(context.Background(), signer.Subject{Digest: d}, ann)
	if err != nil {
		t.Fatal(err)
	}
	if !both.Layouts[0].Existing || both.Layouts[1].Existing {
		t.Fatalf("layouts: %+v", both.Layouts)
	}
	if both.Signature != first.Signature {
		t.Fatal("the oci-1-1 layout got a new signature instead of a copy")
	}
}

func TestConcurrentSigners(t *testing.T) {
	const n = 10
	for _, referrers := range []bool{false, true} {
		for _, mode := range signer.Modes {
			t.Run(fmt.Sprintf("%s/%s", signertest.Name(referrers), mode), func(t *testing.T) {
				reg := signertest.NewRegistry(t, referrers)
				d := reg.Image(t, "app")
				s := keyedSigner(t, reg, mode, "a")
				var wg sync.WaitGroup
				errs := make([]error, n)
				attempts := 0
				var mu sync.Mutex
				for i := range n {
					wg.Go(func() {
						res, err := s.Sign(context.Background(), signer.Subject{Digest: d}, map[string]string{"writer": fmt.Sprint(i)})
						errs[i] = err
						if err == nil {
							mu.Lock()
							for _, w := range res.Layouts {
								attempts += w.Attempts
							}
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				if err := errors.Join(errs...); err != nil {
					t.Fatal(err)
				}
				l, r := stored(t, reg, d)
				wantL, wantR := 0, 0
				if mode != signer.ModeOCI11 {
					wantL = n
				}
				if mode != signer.ModeLegacy {
					wantR = n
				}
				if l != wantL || r != wantR {
					t.Fatalf("after %d concurrent signers: legacy=%d referrers=%d, want %d %d", n, l, r, wantL, wantR)
				}
				t.Logf("%d writers, %d read-modify-write rounds in all, %d registry requests", n, attempts, reg.Requests.Load())
			})
		}
	}
}

func TestSignErrors(t *testing.T) {
	reg := signertest.NewRegistry(t, false)
	kp := signertest.Keys(t, "a")
	for _, tc := range []struct {
		name string
		opts signer.Options
		want error
	}{
		{"wrong password", signer.Options{Key: kp.Private, Password: []byte("nope")}, signer.ErrKeyPassword},
		{"unknown mode", signer.Options{Key: kp.Private, Password: kp.Password, Mode: "oci-2"}, signer.ErrUnknownMode},
		{"key and token", signer.Options{Key: kp.Private, IdentityToken: "x.y.z"}, signer.ErrConfig},
		{"neither key nor token", signer.Options{}, signer.ErrConfig},
		{"chain without certificate", signer.Options{Key: kp.Private, CertificateChain: "chain.pem"}, signer.ErrConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.RemoteOptions = reg.Options
			_, err := signer.New(context.Background(), tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSignUnknownImage(t *testing.T) {
	reg := signertest.NewRegistry(t, true)
	d := reg.Image(t, "app")
	missing := d.Context().Digest("sha256:" + fmt.Sprintf("%064x", 1))
	_, err := keyedSigner(t, reg, signer.ModeOCI11, "a").Sign(context.Background(), signer.Subject{Digest: missing}, nil)
	if err == nil {
		t.Fatal("signing a digest the registry does not have succeeded in oci-1-1 mode")
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]signer.Mode{"": signer.ModeLegacy, "legacy": signer.ModeLegacy, "oci-1-1": signer.ModeOCI11, "both": signer.ModeBoth} {
		if got, err := signer.ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := signer.ParseMode("oci11"); !errors.Is(err, signer.ErrUnknownMode) {
		t.Errorf("ParseMode(oci11): %v", err)
	}
}

// TestReadBackOnlyAfterReadModifyWrite: a signature is read back (to
// catch a concurrent writer's overwrite) after a read-modify-write of the
// .sig manifest or of the referrers fallback index, but not after a
// referrer manifest put to a registry with the referrers API, which lists
// it itself (there, one listing looks for a concurrent equivalent one).
func TestReadBackOnlyAfterReadModifyWrite(t *testing.T) {
	for _, tc := range []struct {
		referrers bool
		mode      signer.Mode
		written   string // the write a read-back may follow
		readBack  string // what reads it back
		want      int    // requests to read it back after the write
	}{
		{false, signer.ModeLegacy, "PUT /manifests/sha256-*.sig", "GET /manifests/sha256-*.sig", 2},
		{true, signer.ModeLegacy, "PUT /manifests/sha256-*.sig", "GET /manifests/sha256-*.sig", 2},
		{false, signer.ModeOCI11, "PUT /manifests/sha256-*", "GET /manifests/sha256-*", 2},
		// 2: go-containerregistry's own check for the API after a manifest
		// with a subject (this registry sends no OCI-Subject header), and
		// the one listing convergence reads to find a concurrent signer's
		// equivalent referrer (converge_referrers.go); no read-back, which
		// would make it 3.
		{true, signer.ModeOCI11, "PUT /manifests/sha256:*", "GET /referrers/sha256:*", 2},
	} {
		t.Run(fmt.Sprintf("%s/%s", signertest.Name(tc.referrers), tc.mode), func(t *testing.T) {
			reg := signertest.NewRegistry(t, tc.referrers)
			d := reg.Image(t, "app")
			s, err := signer.New(context.Background(), signer.Options{RemoteOptions: reg.Options, Mode: tc.mode,
				Key: signertest.Keys(t, "a").Private, Password: signertest.Keys(t, "a").Password, SkipTlogUpload: true,
				SettleDelay: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			before := len(reg.Served())
			if _, err := s.Sign(context.Background(), signer.Subject{Digest: d}, map[string]string{"tag": "v1"}); err != nil {
				t.Fatal(err)
			}
			served := reg.Served()[before:]
			last := -1
			for i, r := range served {
				if matchRequest(tc.written, r) {
					last = i
				}
			}
			if last < 0 {
				t.Fatalf("no %s among %q", tc.written, served)
			}
			n := 0
			for _, r := range served[last+1:] {
				if matchRequest(tc.readBack, r) {
					n++
				}
			}
			if n != tc.want {
				t.Errorf("%d read-backs (%s) after the last %s, want %d; requests: %q", n, tc.readBack, tc.written, tc.want, served)
			}
		})
	}
}

// matchRequest matches "METHOD /v2/<repo>/<rest>" against "METHOD /<pattern>",
// where the pattern's "*" stands for the rest of a path element.
func matchRequest(pattern, req string) bool {
	method, pat, _ := strings.Cut(pattern, " ")
	m, p, _ := strings.Cut(req, " ")
	if m != method {
		return false
	}
	p = strings.TrimPrefix(p, "/v2/")
	if i := strings.Index(p, "/"); i >= 0 {
		p = p[i:]
	}
	ok, err := path.Match(pat, p)
	return err == nil && ok
}

// TestFallbackIndexReadOnce: an OCI 1.1 signature on a registry without
// the referrers API reads the fallback index once before updating it (the
// read that looked for an equivalent signature), not again for the update.
func TestFallbackIndexReadOnce(t *testing.T) {
	reg := signertest.NewRegistry(t, false)
	d := reg.Image(t, "app")
	s := keyedSigner(t, reg, signer.ModeOCI11, "a")
	before := len(reg.Served())
	if _, err := s.Sign(context.Background(), signer.Subject{Digest: d}, map[string]string{"tag": "v1"}); err != nil {
		t.Fatal(err)
	}
	reads := 0
	for _, r := range reg.Served()[before:] {
		if matchRequest("PUT /manifests/sha256-*", r) {
			break
		}
		if matchRequest("GET /manifests/sha256-*", r) {
			reads++
		}
	}
	if reads != 1 {
		t.Errorf("fallback index read %d times before its update, want 1; requests: %q", reads, reg.Served()[before:])
	}
}

// TestSignWhenStored checks the stored callback: called once per sign,
// when the signature can already be read in every layout of the mode (the
// read-backs are yet to come), also when an equivalent signature was
// already there; not called when signing fails first.
func TestSignWhenStored(t *testing.T) {
	ann := map[string]string{"tag": "v1"}
	for _, referrers := range []bool{true, false} {
		for _, tc := range modeLayouts {
			t.Run(fmt.Sprintf("%s/%s", signertest.Name(referrers), tc.mode), func(t *testing.T) {
				reg := signertest.NewRegistry(t, referrers)
				d := reg.Image(t, "app")
				s := keyedSigner(t, reg, tc.mode, "a")
				// The first sign confirms its last write with read-backs
				// after the notification, unless that was a referrer on a
				// registry with the referrers API (nothing to read back).
				readBacks := tc.mode == signer.ModeLegacy || !referrers
				for i, round := range []string{"first sign", "sign again (already there)"} {
					calls, atCall := 0, 0
					_, err := s.Sign(t.Context(), signer.Subject{Digest: d}, ann, signer.WhenStored(func() {
						calls++
						if l, r := stored(t, reg, d); l != tc.wantLegacy || r != tc.wantReferrers {
							t.Errorf("%s: when notified, stored legacy=%d referrers=%d, want %d %d", round, l, r, tc.wantLegacy, tc.wantReferrers)
						}
						atCall = len(reg.Served())
					}))
					if err != nil {
						t.Fatalf("%s: %v", round, err)
					}
					if calls != 1 {
						t.Errorf("%s: notified %d times, want once", round, calls)
					}
					if after := len(reg.Served()); i == 0 && readBacks && after == atCall {
						t.Errorf("%s: no read-back after the notification (%d requests then, %d at the end)", round, atCall, after)
					}
				}
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				called := false
				if _, err := s.Sign(ctx, signer.Subject{Digest: reg.Image(t, "other")}, ann, signer.WhenStored(func() { called = true })); err == nil {
					t.Fatal("signing with a canceled context succeeded")
				}
				if called {
					t.Error("notified although signing failed")
				}
			})
		}
	}
}
