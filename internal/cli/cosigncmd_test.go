package cli

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hallmark-dev/hallmark/verifier"
)

func TestEquivalentCosign(t *testing.T) {
	d, err := name.NewDigest("reg.example.com/app@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	img := d.String()
	bundle := verifier.Verified{Format: verifier.FormatBundle, Layout: verifier.LayoutBundleReferrers}
	legacy := verifier.Verified{Format: verifier.FormatSimpleSigning, Layout: verifier.LayoutLegacy}
	referrer := verifier.Verified{Format: verifier.FormatSimpleSigning, Layout: verifier.LayoutFallback}
	keyless := verifier.Policy{Identity: "https://gitlab.example.com/g/p//.gitlab-ci.yml@refs/heads/main", Issuer: "https://gitlab.example.com",
		Annotations: map[string]string{"tag": "v1", "note": "it's $HOME"}}
	tests := []struct {
		name     string
		res      verifier.Result
		policy   verifier.Policy
		trust    verifier.Trust
		http     bool
		line     string
		withNote bool
	}{
		{"bundle, keyless, quoted annotation, plain HTTP", verifier.Result{Verified: []verifier.Verified{legacy, bundle}}, keyless,
			verifier.Trust{TrustedRoot: "/etc/trusted root.json", IgnoreTlog: true, IgnoreSCT: true}, true,
			"cosign verify --certificate-identity https://gitlab.example.com/g/p//.gitlab-ci.yml@refs/heads/main --certificate-oidc-issuer https://gitlab.example.com " +
				`--annotations 'note=it'"'"'s $HOME' --annotations tag=v1 --trusted-root '/etc/trusted root.json' --insecure-ignore-tlog --insecure-ignore-sct --allow-http-registry ` + img, false},
		{"legacy .sig, key, every check on", verifier.Result{Verified: []verifier.Verified{referrer, legacy}}, verifier.Policy{Key: "cosign.pub"},
			verifier.Trust{}, false, "cosign verify --key cosign.pub " + img, false},
		{"simple-signing referrer alone", verifier.Result{Verified: []verifier.Verified{referrer}},
			verifier.Policy{IdentityRegexp: "^https://.*$", IssuerRegexp: "^https://gitlab[.]example[.]com$", GitHubWorkflow: verifier.GitHubWorkflow{Trigger: "push", Ref: "refs/heads/main"}},
			verifier.Trust{RekorURL: "https://rekor.example.com"}, false,
			"cosign verify --experimental-oci11 --certificate-identity-regexp '^https://.*$' --certificate-oidc-issuer-regexp '^https://gitlab[.]example[.]com$' " +
				"--certificate-github-workflow-trigger push --certificate-github-workflow-ref refs/heads/main --rekor-url https://rekor.example.com " + img, true},
		{"simple signature beside a bundle that fails", verifier.Result{Verified: []verifier.Verified{legacy},
			Failures: []*verifier.CheckError{{Check: verifier.CheckIdentity, Layout: verifier.LayoutBundleFallback}}}, keyless, verifier.Trust{}, false, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.res.Digest = d
			got := equivalentCosign(&tt.res, tt.policy, tt.trust, tt.http)
			if got.line != tt.line {
				t.Errorf("line\n got %s\nwant %s", got.line, tt.line)
			}
			if (got.note != "") != tt.withNote {
				t.Errorf("note %q, want one: %v", got.note, tt.withNote)
			}
		})
	}
}
