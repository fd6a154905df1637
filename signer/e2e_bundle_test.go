package signer_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestE2EBundleCosignVerify signs bundles with hallmark's library on both
// bed registries, keyless (the bed's Fulcio and TSA) and keyed, and has
// cosign v3.1's `cosign verify` check them with the tutorial's line
// (identity, issuer, --annotations) plus only the trust flags the private
// bed needs (its trusted root; no tlog, no CT log) — no experimental flag
// — and cosign v2.6's `verify`, which finds bundles too (but ignores
// --annotations for them: issue 11).
func TestE2EBundleCosignVerify(t *testing.T) {
	bed := signertest.RequireBed(t)
	bed.RequireSigning(t)
	bed.RequireCosign(t)
	bed.RequireCosign3(t)
	for _, reg := range bed.Registries {
		for _, keyless := range []bool{true, false} {
			kind := map[bool]string{true: "keyless", false: "key"}[keyless]
			t.Run(signertest.Name(reg.Referrers)+"/"+kind, func(t *testing.T) {
				ctx := t.Context()
				d := reg.Image(t, "hallmark-e2e/bundle")
				var o signer.Options
				trust := []string{"--trusted-root", bed.TrustedRoot, "--insecure-ignore-tlog"}
				if keyless {
					o = signer.Options{IdentityToken: bed.Token(t, url.Values{"project_path": {"group/app"}}),
						FulcioURL: bed.FulcioURL, InsecureSkipSCT: true, TimestampServerURL: bed.TSAURL}
					trust = append([]string{"--certificate-identity", bed.Identity("group/app"), "--certificate-oidc-issuer", bed.Issuer},
						append(trust, "--insecure-ignore-sct")...)
				} else {
					kp := signertest.Keys(t, "a")
					o = signer.Options{Key: kp.Private, Password: kp.Password}
					trust = append([]string{"--key", kp.Public}, trust...)
				}
				o.RemoteOptions, o.Bundle, o.SkipTlogUpload = reg.Options, true, true
				s, err := signer.New(ctx, o)
				if err != nil {
					t.Fatal(err)
				}
				res, err := s.Sign(ctx, signer.Subject{Digest: d}, map[string]string{"tag": "e2e", "org.opencontainers.image.revision": "abc"})
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("signed: %+v", res.Layouts)
				for _, c := range []struct {
					name, cosign, annotation string
					ok                       bool
					says                     string // in the output
				}{
					{"cosign v3.1", bed.Cosign3, "tag=e2e", true, `"optional":{"org.opencontainers.image.revision":"abc","tag":"e2e"}`},
					{"cosign v3.1 with another annotation", bed.Cosign3, "tag=other", false, "missing or incorrect annotation"},
					{"cosign v2.6", bed.Cosign, "tag=e2e", true, `"type":"https://sigstore.dev/cosign/sign/v1"`},
				} {
					out, err := cosignVerify(ctx, t, c.cosign, append(trust, "--annotations", c.annotation, d.String()))
					if ok := err == nil; ok != c.ok || !strings.Contains(out, c.says) {
						t.Errorf("%s: verify ok=%v, want %v saying %s: %v\n%s", c.name, ok, c.ok, c.says, err, out)
					} else {
						t.Logf("%s: ok=%v: %s", c.name, ok, lastLine(out))
					}
				}
			})
		}
	}
}

// cosignVerify runs `cosign verify args...` with a home of its own.
func cosignVerify(ctx context.Context, t *testing.T, cosign string, args []string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cosign, append([]string{"verify"}, args...)...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}

// TestE2EConcurrentBundleSigners runs 10 bundle signers of one digest at
// once on each bed registry: all 10 bundles must be kept.
func TestE2EConcurrentBundleSigners(t *testing.T) {
	const n = 10
	bed := signertest.RequireBed(t)
	for _, reg := range bed.Registries {
		t.Run(signertest.Name(reg.Referrers), func(t *testing.T) {
			d := reg.Image(t, "hallmark-e2e/concurrent-bundle")
			s := bundleSigner(t, reg, nil, identity{false, "a"}, "")
			start := time.Now()
			var wg sync.WaitGroup
			errs := make([]error, n)
			rounds := make([]int, n)
			for i := range n {
				wg.Go(func() {
					res, err := s.Sign(t.Context(), signer.Subject{Digest: d}, map[string]string{"writer": fmt.Sprint(i)})
					errs[i] = err
					if res != nil {
						rounds[i] = res.Layouts[0].Attempts
					}
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			got := len(bundleReferrers(t, reg, d))
			t.Logf("%d signers in %v: %d bundles, write rounds per signer %v", n, time.Since(start).Round(time.Millisecond), got, rounds)
			if got != n {
				t.Fatalf("lost bundles: %d of %d", got, n)
			}
		})
	}
}

// TestE2EBundleRekorV2 signs a bundle keyless with the bed's whole
// Sigstore — Fulcio with its CT log, the TSA, Rekor v2 — and has cosign
// v3.1 verify it with the tutorial's line and the bed's trusted root
// only: no insecure flag. It skips while the bed runs no Rekor v2.
func TestE2EBundleRekorV2(t *testing.T) {
	bed := requireRekorV2(t)
	bed.RequireCosign3(t)
	for _, reg := range bed.Registries {
		t.Run(signertest.Name(reg.Referrers), func(t *testing.T) {
			ctx := t.Context()
			d := reg.Image(t, "hallmark-e2e/bundle-rekor")
			s := rekorV2Signer(t, bed, reg, bed.RekorURL, nil)
			ann := map[string]string{"tag": "e2e"}
			if _, err := s.Sign(ctx, signer.Subject{Digest: d}, ann); err != nil {
				t.Fatal(err)
			}
			again, err := s.Sign(ctx, signer.Subject{Digest: d}, ann)
			if err != nil || again.Added() {
				t.Fatalf("re-sign: %v added=%v", err, again != nil && again.Added())
			}
			cosign3VerifyAll(ctx, t, bed, d)
		})
	}
}

// TestE2ECosign3BundleIsEquivalent: a bundle `cosign sign` v3.1 wrote
// with the same key and annotations counts as this signer's own — hallmark
// reads cosign v3's layout on both registries and adds nothing — while
// other annotations still add a bundle, which cosign v3 then verifies.
func TestE2ECosign3BundleIsEquivalent(t *testing.T) {
	bed := signertest.RequireBed(t)
	bed.RequireCosign3(t)
	kp := signertest.Keys(t, "a")
	for _, reg := range bed.Registries {
		t.Run(signertest.Name(reg.Referrers), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			d := reg.Image(t, "hallmark-e2e/cosign3-bundle")
			cmd := exec.CommandContext(ctx, bed.Cosign3, "sign", "--key", kp.Private, "--tlog-upload=false",
				"--use-signing-config=false", "-y", "-a", "tag=e2e", d.String())
			cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "COSIGN_PASSWORD=" + string(kp.Password)}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("cosign v3.1 sign: %v\n%s", err, out)
			}
			s := bundleSigner(t, reg, nil, identity{false, "a"}, "")
			res, err := s.Sign(ctx, signer.Subject{Digest: d}, map[string]string{"tag": "e2e"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Added() {
				t.Fatalf("cosign v3.1's bundle was not taken as equivalent: %+v", res.Layouts)
			}
			if res, err = s.Sign(ctx, signer.Subject{Digest: d}, map[string]string{"tag": "other"}); err != nil || !res.Added() {
				t.Fatalf("other annotations: %v, %+v", err, res)
			}
			out, err := cosignVerify(ctx, t, bed.Cosign3, []string{"--key", kp.Public, "--insecure-ignore-tlog",
				"--trusted-root", bed.TrustedRoot, "--annotations", "tag=other", d.String()})
			if err != nil {
				t.Fatalf("cosign v3.1 verify next to its own bundle: %v\n%s", err, out)
			}
			if n := len(bundleReferrers(t, reg, d)); n != 2 {
				t.Fatalf("%d bundles, want 2", n)
			}
		})
	}
}
