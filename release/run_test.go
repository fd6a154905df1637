package release

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
	"github.com/hallmark-dev/hallmark/verifier"
)

// recorder is an Observer that records the events of a release, and the
// stand-in build's, in order.
type recorder struct{ events []string }

func (r *recorder) add(e string) { r.events = append(r.events, e) }

func (r *recorder) Stage(s Stage, _ string) func() {
	r.add(s.String() + " start")
	return func() { r.add(s.String() + " end") }
}
func (r *recorder) Signed(*signer.Result, string)              { r.add("signed") }
func (r *recorder) Verified(*verifier.Result, verifier.Policy) { r.add("verified") }

// fakeBuild stands in for buildkitd: it waits for BeforeExport as the
// builder does, then "pushes" a random image to reg.
func fakeBuild(t *testing.T, reg *signertest.Registry, rec *recorder) func(context.Context, BuildOptions) (*builder.Result, error) {
	return func(ctx context.Context, o BuildOptions) (*builder.Result, error) {
		rec.add("built")
		if !o.Request.PushByDigest {
			t.Error("a release's build pushes tags")
		}
		if err := o.Request.BeforeExport(ctx); err != nil {
			return nil, err
		}
		rec.add("pushed")
		d := reg.Image(t, "app")
		h, err := v1.NewHash(d.DigestStr())
		if err != nil {
			t.Fatal(err)
		}
		return &builder.Result{Image: d, Digest: h, Tags: o.Tags}, nil
	}
}

// keyedRelease returns the options of a release signed with a key, into
// reg, and the key pair.
func keyedRelease(t *testing.T, reg *signertest.Registry, rec *recorder) (Options, *signertest.KeyPair) {
	kp := signertest.Keys(t, "release")
	r := registry.New(registry.Config{Insecure: []string{reg.Host}})
	return Options{
		Build:       BuildOptions{Tags: []string{reg.Host + "/app:v1"}, Registry: r},
		Signer:      signer.Options{Key: kp.Private, Password: kp.Password, SkipTlogUpload: true, RemoteOptions: r.RemoteOptions(t.Context())},
		Annotations: map[string]string{"tag": "v1"},
		Policy:      verifier.Policy{Annotations: map[string]string{"tag": "v1"}},
		Trust:       verifier.Trust{IgnoreTlog: true},
		Observer:    rec,
	}, kp
}

func standInBuild(t *testing.T, f func(context.Context, BuildOptions) (*builder.Result, error)) {
	saved := buildStage
	buildStage = f
	t.Cleanup(func() { buildStage = saved })
}

// TestRunOrder: the signer is ready before the push; signing, then
// verifying with the signer's public key, each in its stage.
func TestRunOrder(t *testing.T) {
	reg := signertest.NewRegistry(t, true)
	rec := &recorder{}
	standInBuild(t, fakeBuild(t, reg, rec))
	o, _ := keyedRelease(t, reg, rec)
	res, err := Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"build start", "built", "pushed", "build end", "sign start", "signed", "sign end", "verify start", "verified", "verify end", "tag start", "tag end"}
	if !slices.Equal(rec.events, want) {
		t.Errorf("events\n%v\nwant\n%v", rec.events, want)
	}
	if len(res.Signatures) != 1 || len(res.Verifications) != 1 || res.Policy.PublicKey == nil {
		t.Errorf("result: %d signatures, %d verifications, public key %v", len(res.Signatures), len(res.Verifications), res.Policy.PublicKey)
	}
	if got := tagDigest(t, o.Build.Tags[0]); got != res.Build.Digest.String() {
		t.Errorf("tag %s names %q, want the signed %s", o.Build.Tags[0], got, res.Build.Digest)
	}
	if !slices.Equal(res.Build.Tags, o.Build.Tags) {
		t.Errorf("result tags %v, want %v", res.Build.Tags, o.Build.Tags)
	}
}

// tagDigest is the digest tag names, "" when it does not exist.
func tagDigest(t *testing.T, tag string) string {
	t.Helper()
	ref, err := name.NewTag(tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref)
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return ""
	}
	if err != nil {
		t.Fatalf("HEAD %s: %v", tag, err)
	}
	return desc.Digest.String()
}

// TestRunNothingPushedWhenSigningCannotHappen: a wrong key password stops
// the release at BeforeExport, with nothing pushed; no token stops it
// before the build.
func TestRunNothingPushedWhenSigningCannotHappen(t *testing.T) {
	reg := signertest.NewRegistry(t, false)

	rec := &recorder{}
	standInBuild(t, fakeBuild(t, reg, rec))
	o, _ := keyedRelease(t, reg, rec)
	o.Signer.Password = []byte("wrong")
	_, err := Run(t.Context(), o)
	if StageOf(err) != StageSign || !errors.Is(err, signer.ErrKeyPassword) {
		t.Errorf("wrong password: %v (stage %s), want a sign-stage ErrKeyPassword", err, StageOf(err))
	}
	if slices.Contains(rec.events, "pushed") || slices.Contains(rec.events, "sign start") {
		t.Errorf("events %v: pushed or signed without a signer", rec.events)
	}

	rec = &recorder{}
	standInBuild(t, fakeBuild(t, reg, rec))
	o, _ = keyedRelease(t, reg, rec)
	o.Signer.Key = ""
	_, err = Run(t.Context(), o)
	var te *signer.TokenError
	if StageOf(err) != StageSign || !errors.As(err, &te) {
		t.Errorf("no token: %v, want a sign-stage TokenError", err)
	}
	if len(rec.events) != 0 {
		t.Errorf("events %v: the build started without a token", rec.events)
	}
}

// TestRunVerifyFailure: a policy the signature cannot satisfy fails the
// verify stage after signing.
func TestRunVerifyFailure(t *testing.T) {
	reg := signertest.NewRegistry(t, true)
	rec := &recorder{}
	standInBuild(t, fakeBuild(t, reg, rec))
	o, _ := keyedRelease(t, reg, rec)
	o.Policy.Annotations = map[string]string{"tag": "v2"}
	_, err := Run(t.Context(), o)
	if StageOf(err) != StageVerify || !strings.Contains(err.Error(), "signature written but verification failed") {
		t.Fatalf("got %v (stage %s), want a verify-stage failure", err, StageOf(err))
	}
	if !slices.Contains(rec.events, "signed") || slices.Contains(rec.events, "verified") || slices.Contains(rec.events, "tag start") {
		t.Errorf("events %v", rec.events)
	}
	if got := tagDigest(t, o.Build.Tags[0]); got != "" {
		t.Errorf("a failed release left tag %s naming %s", o.Build.Tags[0], got)
	}
}
