package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/builder/pool"
	"github.com/hallmark-dev/hallmark/internal/e2etest"
	"github.com/hallmark-dev/hallmark/release"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/verifier"
)

// TestReleaseOutputShape checks the release JSON (issue 16 item 7): a
// single-platform image has no "platforms", key mode names the key and its
// fingerprint rather than a sentence, every shape matches
// docs/schema/release.schema.json, and the dotenv's IMAGE_DIGEST is the
// REPO@sha256:... GitLab's tutorial signs (item 2).
func TestReleaseOutputShape(t *testing.T) {
	h := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	p := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("cd", 32)}
	img, err := name.NewDigest("registry.example/g/app@" + h.String())
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sig := &signer.Result{Digest: img, Annotations: map[string]string{"tag": "v1"},
		Layouts: []signer.Written{{Format: signer.FormatBundle}}}
	keyless := verifier.Policy{Identity: "https://gitlab.example/g/app//.gitlab-ci.yml@refs/heads/main", Issuer: "https://gitlab.example"}
	for _, tc := range []struct {
		name      string
		platforms []builder.PlatformDigest
		policy    verifier.Policy
		nodes     []release.PlatformNode
		down      []pool.Skip
		key       string
		want      []string // fragments of the JSON
		notWant   []string
	}{
		{"single-platform keyless", nil, keyless, nil, nil, "", []string{`"identity":`, `"issuer":`}, []string{`"platforms"`, `"key"`, `"nodes"`, `"down"`}},
		{"multi-platform keyless", []builder.PlatformDigest{{Platform: "linux/amd64", Digest: p}, {Platform: "linux/arm64", Digest: h}}, keyless, nil, nil, "",
			[]string{`"platforms":[{"platform":"linux/amd64"`}, nil},
		{"key", nil, verifier.Policy{PublicKey: priv.Public()}, nil, nil, "cosign.key", []string{`"key":"cosign.key"`, `"keySHA256":"sha256:`}, []string{"signer's public key", `"identity"`}},
		// The nodes' errors name flags, not the library's options.
		{"pool with a node down and one skipped", nil, keyless,
			[]release.PlatformNode{{Platform: "linux/amd64", Node: "bk-1", Addr: "tcp://bk-1:1234", Digest: h,
				Skipped: []pool.Skip{{Node: "bk-0", Err: "cannot reach buildkitd at tcp://bk-0:1234: EOF; point {builder.ConnectOptions.Addr} at a running one"}}}},
			[]pool.Skip{{Node: "bk-2", Err: "cannot reach buildkitd at tcp://bk-2:1234: EOF; point {builder.ConnectOptions.Addr} at a running one"}}, "",
			[]string{`"nodes":[{"platform":"linux/amd64","node":"bk-1"`, `"down":[{"node":"bk-2"`, "point --addr / BUILDKIT_HOST at"}, []string{"{builder."}},
		// --max-load-factor: the nodes passed over for their load.
		{"pool with a busy node passed over", nil, keyless,
			[]release.PlatformNode{{Platform: "linux/amd64", Node: "bk-1", Addr: "tcp://bk-1:1234", Digest: h,
				Busy: []pool.Busy{{Node: "bk-0", Builds: 26, Cap: 25}}}}, nil, "",
			[]string{`"node":"bk-1"`, `"busy":[{"node":"bk-0","builds":26,"cap":25}]`}, []string{`"skipped"`, `"down"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &release.Result{Build: &builder.Result{Image: img, Digest: h, Tags: []string{"registry.example/g/app:v1"}, Platforms: tc.platforms},
				Signatures: []*signer.Result{sig}, Policy: tc.policy, Nodes: tc.nodes, Down: tc.down}
			rel := newReleaseResult(res, tc.key)
			b, err := json.Marshal(rel)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("JSON lacks %s: %s", w, b)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(string(b), w) {
					t.Errorf("JSON has %s: %s", w, b)
				}
			}
			e2etest.CheckSchema(t, "release.schema.json", b)
			env := dotenv(rel)
			if want := "IMAGE_DIGEST=" + img.String() + "\nIMAGE_DIGEST_BARE=" + h.String() + "\n"; !strings.HasPrefix(env, want) {
				t.Errorf("dotenv %q, want it to start with %q", env, want)
			}
		})
	}
}

// TestSchemaRejects makes sure the schemas can fail: outputs of the old
// shape do not pass.
func TestSchemaRejects(t *testing.T) {
	bad := `{"image":"r/a@sha256:` + strings.Repeat("a", 64) + `","digest":"sha256:` + strings.Repeat("a", 64) +
		`","tags":["r/a:v1"],"platforms":[],"signatures":[{"digest":"sha256:` + strings.Repeat("a", 64) +
		`","formats":["bundle"],"annotations":{}}],"verified":{"key":"signer's public key"}}`
	ft := &fakeT{TB: t}
	e2etest.CheckSchema(ft, "release.schema.json", []byte(bad))
	if !ft.failed {
		t.Error("the old release output (platforms: [], a sentence as the key) passed the schema")
	}
}

// fakeT records failures instead of failing the test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Errorf(string, ...any)          { f.failed = true }
func (f *fakeT) Fatalf(format string, a ...any) { f.failed = true; f.TB.Logf(format, a...) }
func (f *fakeT) Helper()                        {}
