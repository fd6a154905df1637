package verifier_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/empty"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
	"github.com/hallmark-dev/hallmark/verifier"
)

func sign(t *testing.T, reg *signertest.Registry, d name.Digest, mode signer.Mode, key string, ann map[string]string) *signer.Result {
	t.Helper()
	kp := signertest.Keys(t, key)
	s, err := signer.New(context.Background(), signer.Options{
		RemoteOptions: reg.Options, Mode: mode, Key: kp.Private, Password: kp.Password, SkipTlogUpload: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Sign(context.Background(), signer.Subject{Digest: d}, ann)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func verifyKey(t *testing.T, reg *signertest.Registry, d name.Digest, key string, ann map[string]string) (*verifier.Result, error) {
	t.Helper()
	return verifier.Verify(context.Background(), d, verifier.Options{
		RemoteOptions: reg.Options,
		Policy:        verifier.Policy{Key: signertest.Keys(t, key).Public, Annotations: ann},
		Trust:         verifier.Trust{IgnoreTlog: true},
	})
}

// failed returns the checks that failed, in order.
func failed(t *testing.T, err error) []verifier.Check {
	t.Helper()
	var nm *verifier.NoMatchError
	if !errors.As(err, &nm) {
		t.Fatalf("want a *NoMatchError, got %v", err)
	}
	t.Log(err)
	var out []verifier.Check
	for _, f := range nm.Failures {
		out = append(out, f.Check)
	}
	return out
}

func forEachLayout(t *testing.T, f func(t *testing.T, reg *signertest.Registry, mode signer.Mode)) {
	for _, referrers := range []bool{true, false} {
		for _, mode := range signer.Modes {
			t.Run(fmt.Sprintf("%s/%s", signertest.Name(referrers), mode), func(t *testing.T) {
				f(t, signertest.NewRegistry(t, referrers), mode)
			})
		}
	}
}

func TestVerifyKeyed(t *testing.T) {
	ann := map[string]string{"tag": "v1", "com.gitlab.ci.pipeline.id": "42"}
	forEachLayout(t, func(t *testing.T, reg *signertest.Registry, mode signer.Mode) {
		d := reg.Image(t, "app")
		sign(t, reg, d, mode, "a", ann)
		for _, tc := range []struct {
			name string
			key  string
			ann  map[string]string
			want []verifier.Check // nil: passes
		}{
			{"no annotations required", "a", nil, nil},
			{"all annotations", "a", ann, nil},
			{"one annotation", "a", map[string]string{"tag": "v1"}, nil},
			{"wrong annotation", "a", map[string]string{"tag": "v2"}, []verifier.Check{verifier.CheckAnnotation}},
			{"missing annotation", "a", map[string]string{"tag": "v1", "other": "x"}, []verifier.Check{verifier.CheckAnnotation}},
			{"wrong key", "b", ann, []verifier.Check{verifier.CheckKey}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res, err := verifyKey(t, reg, d, tc.key, tc.ann)
				if tc.want == nil {
					if err != nil {
						t.Fatal(err)
					}
					if res.Checked() != len(res.Verified) || len(res.Verified) == 0 {
						t.Fatalf("verified %d of %d", len(res.Verified), res.Checked())
					}
					return
				}
				got := failed(t, err)
				for _, c := range got {
					if c != tc.want[0] {
						t.Fatalf("failed checks %v, want all %v (%v)", got, tc.want[0], err)
					}
				}
			})
		}
	})
}

func TestVerifyOutputIsCosignJSON(t *testing.T) {
	reg := signertest.NewRegistry(t, true)
	d := reg.Image(t, "app")
	sign(t, reg, d, signer.ModeLegacy, "a", map[string]string{"tag": "v1"})
	res, err := verifyKey(t, reg, d, "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := res.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var out []struct {
		Critical struct {
			Identity struct {
				DockerReference string `json:"docker-reference"`
			} `json:"identity"`
			Image struct {
				Digest string `json:"docker-manifest-digest"`
			} `json:"image"`
			Type string `json:"type"`
		} `json:"critical"`
		Optional map[string]any `json:"optional"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if len(out) != 1 || out[0].Critical.Image.Digest != d.DigestStr() ||
		out[0].Critical.Identity.DockerReference != d.Context().Name() ||
		out[0].Critical.Type != "cosign container image signature" || out[0].Optional["tag"] != "v1" {
		t.Fatalf("output: %s", b)
	}
}

// TestVerifyFindsMatchingAmongMany puts two signatures on one digest and
// checks each policy finds its own in every layout (cosign 2.6's
// --experimental-oci11 looks only at the last referrer).
func TestVerifyFindsMatchingAmongMany(t *testing.T) {
	forEachLayout(t, func(t *testing.T, reg *signertest.Registry, mode signer.Mode) {
		d := reg.Image(t, "app")
		sign(t, reg, d, mode, "a", map[string]string{"tag": "v1"})
		sign(t, reg, d, mode, "b", map[string]string{"tag": "v2"})
		copies := 1 // each signature is stored once per layout
		if mode == signer.ModeBoth {
			copies = 2
		}
		for _, tc := range []struct {
			key, tag string
			ok       bool
		}{{"a", "v1", true}, {"b", "v2", true}, {"a", "v2", false}, {"b", "v1", false}} {
			res, err := verifyKey(t, reg, d, tc.key, map[string]string{"tag": tc.tag})
			if tc.ok != (err == nil) {
				t.Fatalf("key %s tag %s: %v", tc.key, tc.tag, err)
			}
			if tc.ok && (len(res.Verified) != copies || len(res.Failures) != copies) {
				t.Fatalf("key %s tag %s: verified %d, failed %d", tc.key, tc.tag, len(res.Verified), len(res.Failures))
			}
		}
	})
}

// TestVerifyMixedLayouts finds signatures written in different layouts.
func TestVerifyMixedLayouts(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		t.Run(signertest.Name(referrers), func(t *testing.T) {
			reg := signertest.NewRegistry(t, referrers)
			d := reg.Image(t, "app")
			sign(t, reg, d, signer.ModeLegacy, "a", nil)
			sign(t, reg, d, signer.ModeOCI11, "b", nil)
			for _, key := range []string{"a", "b"} {
				res, err := verifyKey(t, reg, d, key, nil)
				if err != nil {
					t.Fatalf("key %s: %v", key, err)
				}
				if res.Checked() != 2 {
					t.Fatalf("checked %d signatures, want 2", res.Checked())
				}
			}
		})
	}
}

func TestVerifyNoSignatures(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		reg := signertest.NewRegistry(t, referrers)
		d := reg.Image(t, "app")
		_, err := verifyKey(t, reg, d, "a", nil)
		if !errors.Is(err, verifier.ErrNoSignatures) {
			t.Fatalf("%s: got %v", signertest.Name(referrers), err)
		}
	}
}

func TestVerifyPolicyRequired(t *testing.T) {
	for _, p := range []verifier.Policy{
		{},
		{Identity: "https://example.com/x"},
		{Issuer: "https://example.com"},
		{Annotations: map[string]string{"tag": "v1"}},
	} {
		d, err := name.NewDigest("example.com/x@sha256:" + fmt.Sprintf("%064x", 1))
		if err != nil {
			t.Fatal(err)
		}
		_, err = verifier.Verify(context.Background(), d, verifier.Options{Policy: p})
		if !errors.Is(err, verifier.ErrNoPolicy) {
			t.Errorf("policy %+v: got %v, want ErrNoPolicy", p, err)
		}
	}
}

// writeLegacySig replaces the signature tag of d with one holding sig.
func writeLegacySig(t *testing.T, reg *signertest.Registry, d name.Digest, sig oci.Signature) {
	t.Helper()
	img, err := mutate.AppendSignatures(empty.Signatures(), false, sig)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(signer.SignatureTag(d), img, reg.Options...); err != nil {
		t.Fatal(err)
	}
}

func legacySig(t *testing.T, reg *signertest.Registry, d name.Digest) oci.Signature {
	t.Helper()
	sl, err := ociremote.Signatures(signer.SignatureTag(d), ociremote.WithRemoteOptions(reg.Options...))
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := sl.Get()
	if err != nil || len(sigs) != 1 {
		t.Fatalf("%d signatures, %v", len(sigs), err)
	}
	return sigs[0]
}

func TestVerifyRejectsCopiedSignature(t *testing.T) {
	reg := signertest.NewRegistry(t, false)
	a, b := reg.Image(t, "app"), reg.Image(t, "app")
	sign(t, reg, a, signer.ModeLegacy, "a", map[string]string{"tag": "v1"})
	writeLegacySig(t, reg, b, legacySig(t, reg, a))
	_, err := verifyKey(t, reg, b, "a", nil)
	if got := failed(t, err); len(got) != 1 || got[0] != verifier.CheckDigest {
		t.Fatalf("failed checks %v: %v", got, err)
	}
}

func TestVerifyRejectsTamperedPayload(t *testing.T) {
	reg := signertest.NewRegistry(t, false)
	d := reg.Image(t, "app")
	sign(t, reg, d, signer.ModeLegacy, "a", map[string]string{"tag": "v1"})
	orig := legacySig(t, reg, d)
	b64, err := orig.Base64Signature()
	if err != nil {
		t.Fatal(err)
	}
	forged, err := signer.Payload(d, map[string]string{"tag": "v2"})
	if err != nil {
		t.Fatal(err)
	}
	tampered, err := static.NewSignature(forged, b64)
	if err != nil {
		t.Fatal(err)
	}
	writeLegacySig(t, reg, d, tampered)
	_, err = verifyKey(t, reg, d, "a", map[string]string{"tag": "v2"})
	if got := failed(t, err); len(got) != 1 || got[0] != verifier.CheckKey {
		t.Fatalf("failed checks %v: %v", got, err)
	}
}
