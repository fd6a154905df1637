package verifier

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"testing"
)

// TestCheckWorkflow checks the GitHub Actions extensions of a
// certificate as cosign's --certificate-github-workflow-* flags do.
func TestCheckWorkflow(t *testing.T) {
	ext := func(n int, v string) pkix.Extension {
		return pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, n}, Value: []byte(v)}
	}
	cert := &x509.Certificate{Extensions: []pkix.Extension{ext(2, "push"), ext(3, "abc123"), ext(4, "release"), ext(5, "octo/app"), ext(6, "refs/heads/main")}}
	for _, tc := range []struct {
		name    string
		w       GitHubWorkflow
		wantKey string // "" passes
	}{
		{"none", GitHubWorkflow{}, ""},
		{"all match", GitHubWorkflow{Trigger: "push", SHA: "abc123", Name: "release", Repository: "octo/app", Ref: "refs/heads/main"}, ""},
		{"repository", GitHubWorkflow{Repository: "octo/other"}, "repository"},
		{"ref", GitHubWorkflow{Repository: "octo/app", Ref: "refs/tags/v1"}, "ref"},
		{"trigger", GitHubWorkflow{Trigger: "pull_request"}, "trigger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cerr := checkWorkflow(tc.w, cert)
			switch {
			case tc.wantKey == "" && cerr != nil:
				t.Fatalf("want a match, got %v", cerr)
			case tc.wantKey != "" && (cerr == nil || cerr.Check != CheckWorkflow || cerr.Key != tc.wantKey):
				t.Fatalf("want a %s %s failure, got %v", CheckWorkflow, tc.wantKey, cerr)
			}
		})
	}
	if err := checkWorkflow(GitHubWorkflow{Repository: "octo/app"}, &x509.Certificate{}); err == nil {
		t.Error("a certificate without GitHub extensions passed a repository constraint")
	}
	p := Policy{Key: "cosign.pub", GitHubWorkflow: GitHubWorkflow{Repository: "octo/app"}}
	if err := p.validate(); !errors.Is(err, ErrPolicy) {
		t.Errorf("a key with workflow constraints: %v, want ErrPolicy", err)
	}
}
