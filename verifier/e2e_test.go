package verifier_test

// Interop tests on the test bed: hallmark's signatures verified by the real
// cosign CLI, and the cosign CLI's signatures verified by hallmark, keyed
// and keyless, in every storage mode, on the registry with and the one
// without the referrers API. They skip without the bed unless CI=true.

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
	"github.com/hallmark-dev/hallmark/verifier"
)

// cosign runs the bed's cosign CLI (2.6); env adds variables.
func cosign(t *testing.T, bed *signertest.Bed, env []string, args ...string) (string, error) {
	t.Helper()
	return runCosign(t, bed.Cosign, env, args...)
}

// runCosign runs the cosign CLI bin; env adds variables.
func runCosign(t *testing.T, bin string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), append([]string{"COSIGN_YES=true", "TUF_ROOT=" + t.TempDir()}, env...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		t.Logf("cosign %s:\n%s", strings.Join(args, " "), errOut.String())
	}
	return out.String(), err
}

var cosignRegistryFlags = []string{"--allow-insecure-registry", "--allow-http-registry"}

// cosignVerify runs `cosign verify` with the policy of the test (key or the
// bed identity) and the private-bed trust flags.
func cosignVerify(t *testing.T, bed *signertest.Bed, d name.Digest, key string, ann map[string]string, oci11 bool) error {
	t.Helper()
	args := append([]string{"verify", "--insecure-ignore-tlog"}, cosignRegistryFlags...)
	if key != "" {
		args = append(args, "--key", key)
	} else {
		args = append(args, "--certificate-identity", bed.Identity("group/app"), "--certificate-oidc-issuer", bed.Issuer,
			"--trusted-root", bed.TrustedRoot, "--insecure-ignore-sct", "--use-signed-timestamps")
	}
	for k, v := range ann {
		args = append(args, "-a", k+"="+v)
	}
	if oci11 {
		args = append(args, "--experimental-oci11")
	}
	_, err := cosign(t, bed, nil, append(args, d.String())...)
	return err
}

func hallmarkVerify(t *testing.T, bed *signertest.Bed, reg *signertest.Registry, d name.Digest, key string, ann map[string]string) (*verifier.Result, error) {
	t.Helper()
	p := verifier.Policy{Key: key, Annotations: ann}
	tr := verifier.Trust{IgnoreTlog: true}
	if key == "" {
		p.Identity, p.Issuer = bed.Identity("group/app"), bed.Issuer
		tr.TrustedRoot, tr.IgnoreSCT = bed.TrustedRoot, true
	}
	return verifier.Verify(context.Background(), d, verifier.Options{RemoteOptions: reg.Options, Policy: p, Trust: tr})
}

type interopCase struct {
	name    string
	keyless bool
}

func interopCases(bed *signertest.Bed) []interopCase {
	cases := []interopCase{{"keyed", false}}
	if bed.FulcioURL != "" {
		cases = append(cases, interopCase{"keyless", true})
	}
	return cases
}

func TestE2EHallmarkSignCosignVerify(t *testing.T) {
	bed := signertest.RequireBed(t)
	bed.RequireCosign(t)
	ann := map[string]string{"tag": "interop", "com.gitlab.ci.pipeline.id": "4004"}
	for _, ic := range interopCases(bed) {
		for _, reg := range bed.Registries {
			for _, mode := range signer.Modes {
				t.Run(ic.name+"/"+signertest.Name(reg.Referrers)+"/"+string(mode), func(t *testing.T) {
					d := reg.Image(t, "hallmark-e2e/interop")
					kp := signertest.Keys(t, "a")
					o := signer.Options{RemoteOptions: reg.Options, Mode: mode, SkipTlogUpload: true}
					if ic.keyless {
						o.IdentityToken = bed.Token(t, url.Values{"project_path": {"group/app"}})
						o.FulcioURL, o.InsecureSkipSCT, o.TimestampServerURL = bed.FulcioURL, true, bed.TSAURL
					} else {
						o.Key, o.Password = kp.Private, kp.Password
					}
					s, err := signer.New(context.Background(), o)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := s.Sign(context.Background(), signer.Subject{Digest: d}, ann); err != nil {
						t.Fatal(err)
					}
					pub := ""
					if !ic.keyless {
						pub = kp.Public
					}
					// cosign 2.6 reads the legacy tag, or with --experimental-oci11 the last referrer.
					if err := cosignVerify(t, bed, d, pub, ann, mode == signer.ModeOCI11); err != nil {
						t.Fatalf("cosign verify rejects hallmark's signature: %v", err)
					}
					if err := cosignVerify(t, bed, d, pub, map[string]string{"tag": "other"}, mode == signer.ModeOCI11); err == nil {
						t.Fatal("cosign verify accepts a wrong annotation")
					}
					if _, err := hallmarkVerify(t, bed, reg, d, pub, ann); err != nil {
						t.Fatal(err)
					}
				})
			}
		}
	}
}

func TestE2ECosignSignHallmarkVerify(t *testing.T) {
	bed := signertest.RequireBed(t)
	bed.RequireCosign(t)
	for _, ic := range interopCases(bed) {
		for _, reg := range bed.Registries {
			for _, mode := range []signer.Mode{signer.ModeLegacy, signer.ModeOCI11} {
				t.Run(ic.name+"/"+signertest.Name(reg.Referrers)+"/"+string(mode), func(t *testing.T) {
					d := reg.Image(t, "hallmark-e2e/interop")
					kp := signertest.Keys(t, "a")
					args := append([]string{"sign", "--tlog-upload=false", "-a", "tag=interop", "--registry-referrers-mode", string(mode)}, cosignRegistryFlags...)
					env := []string{"COSIGN_EXPERIMENTAL=1", "COSIGN_PASSWORD=" + string(kp.Password)}
					pub := ""
					if ic.keyless {
						args = append(args, "--identity-token", bed.Token(t, url.Values{"project_path": {"group/app"}}),
							"--fulcio-url", bed.FulcioURL, "--insecure-skip-verify", "--timestamp-server-url", bed.TSAURL,
							"--trusted-root", bed.TrustedRoot)
					} else {
						args, pub = append(args, "--key", kp.Private), kp.Public
					}
					if _, err := cosign(t, bed, env, append(args, d.String())...); err != nil {
						t.Fatalf("cosign sign: %v", err)
					}
					res, err := hallmarkVerify(t, bed, reg, d, pub, map[string]string{"tag": "interop"})
					if err != nil {
						t.Fatalf("hallmark rejects cosign's signature: %v", err)
					}
					t.Logf("verified: %v", res.Layouts())
					if _, err := hallmarkVerify(t, bed, reg, d, pub, map[string]string{"tag": "other"}); err == nil {
						t.Fatal("hallmark accepts a wrong annotation")
					}
				})
			}
		}
	}
}

// TestE2ETwoCosignReferrers signs one digest twice with the cosign CLI in
// oci-1-1 mode; hallmark finds the signature matching each policy, which
// `cosign verify --experimental-oci11` (last referrer only) may miss.
func TestE2ETwoCosignReferrers(t *testing.T) {
	bed := signertest.RequireBed(t)
	bed.RequireCosign(t)
	for _, reg := range bed.Registries {
		t.Run(signertest.Name(reg.Referrers), func(t *testing.T) {
			d := reg.Image(t, "hallmark-e2e/interop")
			for _, k := range []struct{ key, tag string }{{"a", "one"}, {"b", "two"}} {
				kp := signertest.Keys(t, k.key)
				args := append([]string{"sign", "--tlog-upload=false", "--registry-referrers-mode", "oci-1-1", "-a", "tag=" + k.tag, "--key", kp.Private}, cosignRegistryFlags...)
				if _, err := cosign(t, bed, []string{"COSIGN_EXPERIMENTAL=1", "COSIGN_PASSWORD=" + string(kp.Password)}, append(args, d.String())...); err != nil {
					t.Fatal(err)
				}
			}
			for _, k := range []struct{ key, tag string }{{"a", "one"}, {"b", "two"}} {
				kp := signertest.Keys(t, k.key)
				if _, err := hallmarkVerify(t, bed, reg, d, kp.Public, map[string]string{"tag": k.tag}); err != nil {
					t.Fatalf("key %s: %v", k.key, err)
				}
				cerr := cosignVerify(t, bed, d, kp.Public, map[string]string{"tag": k.tag}, true)
				t.Logf("cosign verify --experimental-oci11 with key %s: err=%v", k.key, cerr)
			}
		})
	}
}
