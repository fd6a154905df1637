package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"maps"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/empty"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// forgery prepares one image whose signatures hallmark verify must reject
// (or, with ok, accept) and says how to verify it.
type forgery struct {
	name string
	// make signs and tampers; it returns the image (repo@digest) and the
	// verify flags (policy and trust; the registry flag is added).
	make func(t *testing.T, f *forger) (ref string, flags []string)
	// says are fragments the error line must contain: the failed check.
	says []string
	ok   bool
}

// forger holds what the forgery cases share: the bed, a registry, keys.
type forger struct {
	b          testbed
	reg        string
	privA, pub string // key A
	privB      string // key B
	password   string
}

func (f *forger) identity() string {
	return f.b.Issuer() + "/group/app//.gitlab-ci.yml@refs/heads/main"
}

// keyless are the verify flags for the bed's identity and trust.
func (f *forger) keyless() []string {
	_, trust := f.b.Sigstore()
	return append([]string{"--certificate-identity", f.identity(), "--certificate-oidc-issuer", f.b.Issuer()}, trust...)
}

func (f *forger) keyed() []string { return []string{"--key", f.pub, "--insecure-ignore-tlog"} }

// image pushes a fresh image and returns repo and digest.
func (f *forger) image(t *testing.T) (string, string) { return pushedImage(t, f.reg) }

// signKeyless signs ref with hallmark on the bed's Sigstore, for the
// project in the token, with tag=v1; extra flags override.
func (f *forger) signKeyless(t *testing.T, ref, project string, extra ...string) {
	t.Helper()
	sign, _ := f.b.Sigstore()
	tok := f.b.Token(t, url.Values{"project_path": {project}, "ref": {"main"}}.Encode())
	// The forgeries edit simple-signing signatures in the .sig tag; bundle
	// forgeries are the verifier's tests (verifier/bundle_*_test.go).
	args := append(append([]string{"sign", "--insecure-registry", f.reg, "--new-bundle-format=false", "--no-ci-annotations", "--tag", "v1"}, sign...), extra...)
	mustSucceed(t, hallmark(t, []string{"SIGSTORE_ID_TOKEN=" + tok}, append(args, ref)...))
}

// signKeyed signs ref with hallmark with key priv, tag=v1.
func (f *forger) signKeyed(t *testing.T, ref, priv string) {
	t.Helper()
	mustSucceed(t, hallmark(t, []string{"COSIGN_PASSWORD=" + f.password}, "sign", "--insecure-registry", f.reg, "--new-bundle-format=false",
		"--no-ci-annotations", "--tag", "v1", "--key", priv, "--tlog-upload=false", ref))
}

// signWith signs ref through the signer library with other Sigstore
// services (a second, untrusted CA or TSA).
func (f *forger) signWith(t *testing.T, ref string, o signer.Options) {
	t.Helper()
	d, err := name.NewDigest(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	o.RemoteOptions, o.InsecureSkipSCT, o.SkipTlogUpload = plainOptions(t.Context()), true, true
	s, err := signer.New(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"tag": "v1"}); err != nil {
		t.Fatal(err)
	}
}

func sigTag(t *testing.T, ref string) name.Tag {
	t.Helper()
	d, err := name.NewDigest(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return signer.SignatureTag(d)
}

// legacySignatures reads the signatures under ref's signature tag.
func legacySignatures(t *testing.T, ref string) []oci.Signature {
	t.Helper()
	sigs, err := ociremote.Signatures(sigTag(t, ref), ociremote.WithRemoteOptions(plainOptions(t.Context())...))
	if err != nil {
		t.Fatal(err)
	}
	list, err := sigs.Get()
	if err != nil || len(list) == 0 {
		t.Fatalf("reading the signatures of %s: %d, %v", ref, len(list), err)
	}
	return list
}

// putSignatures replaces ref's signature manifest with one holding sigs.
func putSignatures(t *testing.T, ref string, sigs ...oci.Signature) {
	t.Helper()
	img, err := mutate.AppendSignatures(empty.Signatures(), false, sigs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(sigTag(t, ref), img, plainOptions(t.Context())...); err != nil {
		t.Fatal(err)
	}
}

// rewrite returns sig with its payload and base64 signature replaced and
// every other annotation (certificate, chain, timestamp, bundle) kept.
func rewrite(t *testing.T, sig oci.Signature, payload []byte, b64 string) oci.Signature {
	t.Helper()
	ann, err := sig.Annotations()
	if err != nil {
		t.Fatal(err)
	}
	ann = maps.Clone(ann)
	delete(ann, static.SignatureAnnotationKey)
	out, err := static.NewSignature(payload, b64, static.WithAnnotations(ann))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func payloadOf(t *testing.T, sig oci.Signature) []byte {
	t.Helper()
	p, err := sig.Payload()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func b64Of(t *testing.T, sig oci.Signature) string {
	t.Helper()
	s, err := sig.Base64Signature()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestVerifyRejectsForgeries builds tampered and forged signatures with
// go-containerregistry and cosign's static layers and checks that hallmark
// verify rejects each with exit 5 and names the check that failed; and that
// it neither crashes nor fails on an image carrying a good signature beside
// one timestamped by an untrusted TSA.
func TestVerifyRejectsForgeries(t *testing.T) {
	b := bed(t)
	const password = "pw-forge-91a0"
	privA, pubA := keyPair(t, password)
	privB, _ := keyPair(t, password)
	f := &forger{b: b, reg: b.PlainRegistry(), privA: privA, pub: pubA, privB: privB, password: password}
	// A second Sigstore (its own Fulcio CA and TSA) that the bed's trusted
	// root does not list; its certificates name the bed's issuer unless a
	// case says otherwise.
	fake := signertest.NewSigstore(t)
	fake.Issuer = b.Issuer()
	evil := signertest.NewSigstore(t)
	evil.Issuer = "https://gitlab.evil.example"
	expired := signertest.NewSigstore(t)
	expired.Issuer = b.Issuer()
	expired.CertNotBefore = func() time.Time { return time.Now().Add(-30 * time.Minute) }

	tests := []forgery{
		{name: "edited payload", says: []string{"signature:", "tampered"}, make: func(t *testing.T, f *forger) (string, []string) {
			repo, d := f.image(t)
			ref := repo + "@" + d
			f.signKeyless(t, ref, "group/app")
			sig := legacySignatures(t, ref)[0]
			p := bytes.Replace(payloadOf(t, sig), []byte(`"docker-reference":"`), []byte(`"docker-reference":"evil.example/`), 1)
			putSignatures(t, ref, rewrite(t, sig, p, b64Of(t, sig)))
			return ref, f.keyless()
		}},
		{name: "edited annotation", says: []string{"signature:", "tampered"}, make: func(t *testing.T, f *forger) (string, []string) {
			repo, d := f.image(t)
			ref := repo + "@" + d
			f.signKeyless(t, ref, "group/app")
			sig := legacySignatures(t, ref)[0]
			p := bytes.Replace(payloadOf(t, sig), []byte(`"tag":"v1"`), []byte(`"tag":"v2"`), 1)
			putSignatures(t, ref, rewrite(t, sig, p, b64Of(t, sig)))
			return ref, append(f.keyless(), "-a", "tag=v2")
		}},
		{name: "edited signature annotation", says: []string{"key:", "does not verify with the given key"}, make: func(t *testing.T, f *forger) (string, []string) {
			repo, d := f.image(t)
			ref := repo + "@" + d
			f.signKeyed(t, ref, f.privA)
			sig := legacySignatures(t, ref)[0]
			raw, err := base64.StdEncoding.DecodeString(b64Of(t, sig))
			if err != nil {
				t.Fatal(err)
			}
			raw[len(raw)/2] ^= 0x01
			putSignatures(t, ref, rewrite(t, sig, payloadOf(t, sig), base64.StdEncoding.EncodeToString(raw)))
			return ref, f.keyed()
		}},
		{name: "another identity", says: []string{"identity:", "other/app"}, make: func(t *testing.T, f *forger) (string, []string) {
			repo, d := f.image(t)
			f.signKeyless(t, repo+"@"+d, "other/app")
			return repo + "@" + d, f.keyless()
		}},
		{name: "another issuer", says: []string{"issuer:", "gitlab.evil.example"}, make: func(t *testing.T, f *forger) (string, []string) {
			repo, d := f.image(t)
			f.signWith(t, repo+"@"+d, signer.Options{FulcioURL: evil.FulcioURL, TimestampServerURL: evil.TSAURL,
				IdentityToken: evil.Token("group/app", "sigstore", time.Now().Add(time.Hour))})
			// Trust the issuing CA: only the issuer is wrong.
			return repo + "@" + d, []string{"--certificate-identity", evil.Identity("group/app"), "--certificate-oidc-issuer", f.b.Issuer(),
				"--trusted-root", evil.TrustedRoot, "--insecure-ignore-tlog", "--insecure-ignore-sct"}
		}},
		{name: "certificate chain not from the trusted root", says: []string{"certificate:"}, make: func(t *testing.T, f *forger) (string, []string) {
			repo, d := f.image(t)
			f.signWith(t, repo+"@"+d, signer.Options{FulcioURL: fake.FulcioURL, TimestampServerURL: f.b.Getenv("HALLMARK_TEST_TSA_URL"),
				IdentityToken: fake.Token("group/app", "sigstore", time.Now().Add(time.Hour))})
			return repo + "@" + d, f.keyless()
		}},
		{name: "timestamp from an untrusted TSA", says: []string{"timestamp:", "not from a timestamp authority of the trusted root"}, make: func(t *testing.T, f *forger) (string, []string) {
			repo, d := f.image(t)
			f.signKeyless(t, repo+"@"+d, "group/app", "--timestamp-server-url", fake.TSAURL)
			return repo + "@" + d, f.keyless()
		}},
		{name: "good signature beside one from an untrusted TSA", ok: true, make: func(t *testing.T, f *forger) (string, []string) {
			repo, d := f.image(t)
			f.signKeyless(t, repo+"@"+d, "group/app", "--timestamp-server-url", fake.TSAURL)
			f.signKeyless(t, repo+"@"+d, "group/app", "-a", "second=1")
			return repo + "@" + d, f.keyless()
		}},
		{name: "moved from another digest", says: []string{"digest:", "another image"}, make: func(t *testing.T, f *forger) (string, []string) {
			repo, d := f.image(t)
			f.signKeyless(t, repo+"@"+d, "group/app")
			_, other := f.image(t)
			target := repo + "@" + other
			if err := remote.Write(sigTag(t, target), mustSignatures(t, repo+"@"+d), plainOptions(t.Context())...); err != nil {
				t.Fatal(err)
			}
			return target, f.keyless()
		}},
		{name: "expired certificate without a timestamp", says: []string{"certificate:", "expired"}, make: func(t *testing.T, f *forger) (string, []string) {
			repo, d := f.image(t)
			f.signWith(t, repo+"@"+d, signer.Options{FulcioURL: expired.FulcioURL,
				IdentityToken: expired.Token("group/app", "sigstore", time.Now().Add(time.Hour))})
			return repo + "@" + d, []string{"--certificate-identity", f.identity(), "--certificate-oidc-issuer", f.b.Issuer(),
				"--trusted-root", expired.TrustedRoot, "--insecure-ignore-tlog", "--insecure-ignore-sct"}
		}},
		{name: "signed by a different key", says: []string{"key:", "does not verify with the given key"}, make: func(t *testing.T, f *forger) (string, []string) {
			repo, d := f.image(t)
			f.signKeyed(t, repo+"@"+d, f.privB)
			return repo + "@" + d, f.keyed()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ref, flags := tt.make(t, f)
			r := hallmark(t, nil, append(append([]string{"verify", "--insecure-registry", f.reg}, flags...), ref)...)
			if tt.ok {
				mustSucceed(t, r)
				if !strings.Contains(r.Stderr, "1 of 2 signatures match") {
					t.Errorf("want the good one of two signatures verified:\n%s", r.Stderr)
				}
				return
			}
			t.Logf("%s: %s", tt.name, lastLine(r.Stderr))
			assertOneLineError(t, r, exitVerify, append([]string{"no signature of"}, tt.says...)...)
			if r.Stdout != "" {
				t.Errorf("stdout must be empty when verification fails, got %q", r.Stdout)
			}
		})
	}
}

// mustSignatures reads ref's signature manifest as an image, to copy it.
func mustSignatures(t *testing.T, ref string) oci.Signatures {
	t.Helper()
	sigs, err := ociremote.Signatures(sigTag(t, ref), ociremote.WithRemoteOptions(plainOptions(context.Background())...))
	if err != nil {
		t.Fatal(err)
	}
	return sigs
}

// TestNoInsecureDefaults checks that every relaxation needs its explicit
// flag: without --insecure-ignore-tlog a signature without a transparency
// log entry fails, without --insecure-ignore-sct a certificate without a
// verifiable SCT fails (the bed's Fulcio embeds one from a CT log that
// HALLMARK_TEST_TRUSTED_ROOT does not list; signing refuses Fulcio's
// certificate without --insecure-skip-verify), a registry not named
// --insecure-registry is not reached over plain HTTP, and a tcp://
// buildkitd needs TLS.
func TestNoInsecureDefaults(t *testing.T) {
	b := bed(t)
	const password = "pw-defaults-5e3c"
	priv, pub := keyPair(t, password)
	reg := b.PlainRegistry()
	f := &forger{b: b, reg: reg, privA: priv, pub: pub, password: password}
	repo, d := f.image(t)
	ref := repo + "@" + d
	f.signKeyless(t, ref, "group/app")
	keyedRepo, keyedDigest := f.image(t)
	keyedRef := keyedRepo + "@" + keyedDigest
	f.signKeyed(t, keyedRef, priv)
	trustedRoot := b.Getenv("HALLMARK_TEST_TRUSTED_ROOT")
	identity := []string{"--certificate-identity", f.identity(), "--certificate-oidc-issuer", b.Issuer()}
	sign, _ := b.Sigstore()
	ctxDir, df := buildContext(t, b)
	unsigned, unsignedDigest := f.image(t)
	tok := b.Token(t, "project_path=group/app&ref=main")

	tests := []struct {
		name string
		env  []string
		args []string
		code int
		says []string
	}{
		{"keyless verify without --insecure-ignore-tlog", nil,
			append(append([]string{"verify", "--insecure-registry", reg, "--trusted-root", trustedRoot, "--insecure-ignore-sct"}, identity...), ref),
			exitVerify, []string{"tlog:"}},
		{"keyed verify without --insecure-ignore-tlog", nil,
			[]string{"verify", "--insecure-registry", reg, "--key", pub, "--trusted-root", trustedRoot, keyedRef},
			exitVerify, []string{"tlog:"}},
		{"verify without --insecure-ignore-sct", nil,
			append(append([]string{"verify", "--insecure-registry", reg, "--trusted-root", trustedRoot, "--insecure-ignore-tlog"}, identity...), ref),
			exitVerify, []string{"sct:", "SCT"}},
		{"sign without --insecure-skip-verify", []string{"SIGSTORE_ID_TOKEN=" + tok},
			[]string{"sign", "--insecure-registry", reg, "--fulcio-url", b.Getenv("HALLMARK_TEST_FULCIO_URL"), "--timestamp-server-url", b.Getenv("HALLMARK_TEST_TSA_URL"),
				"--trusted-root", trustedRoot, "--tlog-upload=false", unsigned + "@" + unsignedDigest},
			exitSign, []string{"SCT", "--insecure-skip-verify"}},
		{"verify over plain HTTP without --insecure-registry", nil,
			append([]string{"verify", "--key", pub, "--insecure-ignore-tlog"}, keyedRef),
			exitUsage, []string{"plain HTTP", reg, "--insecure-registry"}},
		{"sign over plain HTTP without --insecure-registry", []string{"COSIGN_PASSWORD=" + password},
			[]string{"sign", "--key", priv, "--tlog-upload=false", unsigned + "@" + unsignedDigest},
			exitUsage, []string{"plain HTTP", reg, "--insecure-registry"}},
		{"keyless sign over plain HTTP without --insecure-registry", []string{"SIGSTORE_ID_TOKEN=" + tok},
			append(append([]string{"sign"}, sign...), unsigned+"@"+unsignedDigest),
			exitUsage, []string{"plain HTTP", reg, "--insecure-registry"}},
		{"build push over plain HTTP without --insecure-registry", nil,
			[]string{"build", "--addr", b.BuildkitUnix(), "--progress", "quiet", "-f", df, "--tag", unsigned + ":built", ctxDir},
			exitUsage, []string{"plain HTTP", reg, "--insecure-registry"}},
		{"release with a tcp buildkitd without TLS", []string{"COSIGN_PASSWORD=" + password},
			[]string{"release", "--addr", b.BuildkitTCP(), "--insecure-registry", reg, "--context", ctxDir, "-f", df, "--image", unsigned,
				"--tag", "tcp", "--key", priv, "--tlog-upload=false", "--insecure-ignore-tlog"},
			exitUsage, []string{"without TLS", "--tlscacert", "--insecure-buildkit-tcp"}},
	}
	t.Run("cases", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				r := hallmark(t, tt.env, tt.args...)
				t.Logf("%s: %s", tt.name, lastLine(r.Stderr))
				assertOneLineError(t, r, tt.code, tt.says...)
			})
		}
	})
	assertNothingSigned(t, unsigned, unsignedDigest)
	if _, err := remoteHead(mustRef(t, unsigned+":built")); err == nil {
		t.Errorf("a build pushed %s:built over plain HTTP without --insecure-registry", unsigned)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}
