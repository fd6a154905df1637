package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/hallmark-dev/hallmark/internal/e2etest"
	"github.com/hallmark-dev/hallmark/internal/faultproxy"
	"github.com/hallmark-dev/hallmark/internal/testutil"
	"github.com/hallmark-dev/hallmark/verifier"
)

// TestConcurrentSignCLI runs 10 `hallmark sign` processes at once on one
// digest, each with its own annotation, on the registry without the
// referrers API (distribution), in the legacy and the oci-1-1 layout: all
// 10 signatures must be there afterwards. The same with the cosign CLI is
// logged for comparison (cosign 2.6 loses some; not asserted).
func TestConcurrentSignCLI(t *testing.T) {
	b := bed(t)
	const n, password = 10, "pw-concurrent-4c1d"
	priv, pub := keyPair(t, password)
	reg := b.PlainRegistry()
	for _, mode := range []string{"legacy", "oci-1-1", "bundle"} {
		// The modes run one after the other: 20 signers at once on 2 cores
		// test the machine's scheduler more than the signer.
		t.Run(mode, func(t *testing.T) {
			repo, digest := pushedImage(t, reg)
			// The default path: a bundle in Rekor v2 with a TSA timestamp;
			// simple signatures TSA-only (defaultPathSign).
			sign, _ := defaultPathSign(t, b, mode)
			trust := verifier.Trust{TrustedRoot: flagValue(t, sign, "--trusted-root"), IgnoreTlog: mode != "bundle"}
			start := time.Now()
			var wg sync.WaitGroup
			results := make([]result, n)
			procs := make([]*running, n)
			for i := range n {
				args := append(append([]string{"sign", "--insecure-registry", reg, "--key", priv}, sign...), storageArgs(mode)...)
				procs[i] = startHallmark(t, []string{"COSIGN_PASSWORD=" + password}, append(args, "--no-ci-annotations", "--tag", "v1",
					"-a", fmt.Sprintf("writer=%d", i), repo+"@"+digest)...)
			}
			for i, p := range procs {
				wg.Go(func() { results[i] = p.wait(t, 3*time.Minute) })
			}
			wg.Wait()
			took := time.Since(start)
			for i, r := range results {
				if r.Code != 0 {
					t.Errorf("hallmark sign %d failed:\n%s", i, r)
				}
			}
			kept := writersKept(t, repo+"@"+digest, pub, n, trust)
			t.Logf("hallmark: %d concurrent signs (%s layout, no referrers API) in %v kept %d of %d signatures", n, mode, took.Round(time.Millisecond), len(kept), n)
			if len(kept) != n {
				t.Errorf("hallmark kept the signatures of writers %v only, want all %d", kept, n)
				for i, r := range results {
					if !slices.Contains(kept, i) {
						t.Logf("writer %d, whose signature is missing, reported: %s", i, r.Stderr)
					}
				}
			}

			cosignRepo, cosignDigest := pushedImage(t, reg)
			start = time.Now()
			exits := cosignConcurrentSign(t, b, n, mode, priv, password, cosignRepo+"@"+cosignDigest)
			took = time.Since(start)
			kept = writersKept(t, cosignRepo+"@"+cosignDigest, pub, n, verifier.Trust{IgnoreTlog: true}) // cosign signs without a log here
			t.Logf("cosign CLI: %d concurrent signs (%s layout, no referrers API) in %v, exit codes %v, kept %d of %d signatures", n, mode, took.Round(time.Millisecond), exits, len(kept), n)
		})
	}
}

// cosignConcurrentSign runs n `cosign sign` at once with the key (no
// transparency log, so nothing public is contacted) and returns their exit
// codes.
func cosignConcurrentSign(t *testing.T, b testbed, n int, mode, key, password, ref string) []int {
	t.Helper()
	cosign := b.Getenv("HALLMARK_TEST_COSIGN")
	tuf := t.TempDir()
	exits := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			args := []string{"sign", "--yes", "--key", key, "--tlog-upload=false", "--allow-insecure-registry", "--allow-http-registry",
				"-a", fmt.Sprintf("writer=%d", i)}
			if mode == "oci-1-1" {
				args = append(args, "--registry-referrers-mode", "oci-1-1")
			}
			cmd := exec.CommandContext(ctx, cosign, append(args, ref)...)
			cmd.Env = append(e2etest.CleanEnv(nil), "COSIGN_PASSWORD="+password, "COSIGN_EXPERIMENTAL=1", "TUF_ROOT="+tuf)
			out, err := cmd.CombinedOutput()
			if err != nil {
				exits[i] = cmd.ProcessState.ExitCode()
				t.Logf("cosign sign %d: %v: %s", i, err, lastLine(string(out)))
			}
		})
	}
	wg.Wait()
	return exits
}

// writersKept reads every signature of ref (all layouts) that verifies with
// the public key with trust and returns the writer annotations found,
// sorted.
func writersKept(t *testing.T, ref, pub string, n int, trust verifier.Trust) []int {
	t.Helper()
	d, err := name.NewDigest(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	res, err := verifier.Verify(t.Context(), d, verifier.Options{
		RemoteOptions: plainOptions(t.Context()),
		Policy:        verifier.Policy{Key: pub},
		Trust:         trust,
	})
	if err != nil {
		t.Logf("reading the signatures of %s: %v", ref, err)
		return nil
	}
	var kept []int
	for _, v := range res.Verified {
		var writer string
		if v.Format == verifier.FormatBundle {
			writer = v.Statement.Annotations["writer"]
		} else {
			p, err := v.Signature.Payload()
			if err != nil {
				t.Fatal(err)
			}
			var ss payload.SimpleContainerImage
			if err := json.Unmarshal(p, &ss); err != nil {
				t.Fatal(err)
			}
			writer, _ = ss.Optional["writer"].(string)
		}
		for i := range n {
			if writer == fmt.Sprint(i) && !slices.Contains(kept, i) {
				kept = append(kept, i)
			}
		}
	}
	slices.Sort(kept)
	return kept
}

// TestConcurrentSignSameContentCLI runs 4 `hallmark sign` processes at once
// on one digest with the same key and annotations (as concurrent releases
// of the same content do), in the legacy layout, and as OCI 1.1 referrers
// (simple signing) and Sigstore bundles on the registry with and the one
// without the referrers API, through a
// proxy that holds their first reads of the signature tag or the
// referrers listing until all 4 have read it: each writes its own. Each
// succeeds and one signature is left, not one per process (issue 15 item
// 13), which cosign v3 verifies.
func TestConcurrentSignSameContentCLI(t *testing.T) {
	b := bed(t)
	const n, password = 4, "pw-same-content-7e2a"
	priv, pub := keyPair(t, password)
	_, trust := b.Sigstore()
	tests := []struct {
		mode string
		reg  string
	}{{"legacy", b.PlainRegistry()}, {"oci-1-1", b.PlainRegistry()}, {"oci-1-1", b.ReferrersRegistry()},
		{"bundle", b.PlainRegistry()}, {"bundle", b.ReferrersRegistry()}}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+registryName(b, tt.reg), func(t *testing.T) {
			firstReads := testutil.NewBarrier(n)
			barrier := func(r *http.Request) time.Duration {
				if r.Method == http.MethodGet && signatureListing(r.URL.Path) {
					firstReads.Wait()
				}
				return 0
			}
			_, addr, _ := testutil.FaultProxy(t, "http://"+tt.reg, faultproxy.Options{Delay: barrier})
			repoOnReg, digest := pushedImage(t, tt.reg)
			repo := addr + strings.TrimPrefix(repoOnReg, tt.reg)
			procs := make([]*running, n)
			for i := range n {
				args := []string{"sign", "--insecure-registry", addr, "--key", priv, "--tlog-upload=false", "--no-ci-annotations", "--tag", "v1"}
				if tt.mode == "bundle" {
					args = append(args, "--timestamp-server-url", b.Getenv("HALLMARK_TEST_TSA_URL"))
				}
				procs[i] = startHallmark(t, []string{"COSIGN_PASSWORD=" + password}, append(append(args, storageArgs(tt.mode)...), repo+"@"+digest)...)
			}
			results := make([]result, n)
			var wg sync.WaitGroup
			for i, p := range procs {
				wg.Go(func() { results[i] = p.wait(t, 3*time.Minute) })
			}
			wg.Wait()
			for i, r := range results {
				if r.Code != 0 {
					t.Errorf("hallmark sign %d failed:\n%s", i, r)
				}
			}
			if k := firstReads.Calls(); k < n {
				t.Errorf("%d reads of the signatures, want at least %d", k, n)
			}
			d, err := name.NewDigest(repoOnReg+"@"+digest, name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			res, err := verifier.Verify(t.Context(), d, verifier.Options{RemoteOptions: plainOptions(t.Context()),
				Policy: verifier.Policy{Key: pub, Annotations: map[string]string{"tag": "v1"}},
				Trust:  verifier.Trust{TrustedRoot: b.Getenv("HALLMARK_TEST_TRUSTED_ROOT"), IgnoreTlog: true}})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(res.Verified); got != 1 {
				t.Errorf("%d processes signing the same content left %d signatures (%v), want 1", n, got, res.Layouts())
			}
			if tt.mode != "bundle" {
				return
			}
			r := hallmark(t, nil, append(append([]string{"verify", "--insecure-registry", tt.reg, "--key", pub, "--annotations", "tag=v1"}, trust...), d.String())...)
			mustSucceed(t, r)
			if r := pasteCosign(t, b.Cosign3(), printedCosignCommand(t, r.Stderr)); r.Code != 0 {
				t.Errorf("cosign v3 does not verify the signature left:\n%s", r)
			}
		})
	}
}

// signatureListing reports whether a registry request path reads where
// signers look for an existing signature: the legacy signature tag, the
// referrers API or the referrers fallback tag.
func signatureListing(path string) bool {
	tag := path[strings.LastIndex(path, "/")+1:]
	return strings.HasSuffix(path, ".sig") || strings.Contains(path, "/referrers/") ||
		strings.Contains(path, "/manifests/") && strings.HasPrefix(tag, "sha256-") && len(tag) == len("sha256-")+64
}
