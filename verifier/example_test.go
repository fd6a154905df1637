package verifier_test

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hallmark-dev/hallmark/verifier"
)

// The policy of GitLab's tutorial: the job's identity and issuer, and the
// tag annotation. Signatures of both formats count: cosign v3's bundles
// and cosign v2's simple-signing signatures.
func ExampleVerify() {
	digest, err := name.NewDigest("registry.example.com/app@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := verifier.Verify(context.Background(), digest, verifier.Options{
		Policy: verifier.Policy{
			Identity:    "https://gitlab.example.com/group/app//.gitlab-ci.yml@refs/heads/main",
			Issuer:      "https://gitlab.example.com",
			Annotations: map[string]string{"tag": "v1.2.3"},
		},
	})
	if err != nil {
		fmt.Println(err) // a *verifier.NoMatchError says why each signature failed
		return
	}
	for _, v := range res.Verified {
		fmt.Println(v.Format, v.Layout) // e.g. "bundle bundle" or "simple-signing legacy"
	}
	out, _ := res.JSON() // what `cosign verify` prints
	fmt.Println(string(out))
}
