package verifier_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/ci"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/verifier"
)

// TestE2EAnnotationBinding signs at the bed's Fulcio (GitLab's template:
// the certificate certifies the token's sha, job and project) through the
// signer library, which binds nothing by default, in both formats; the
// verifier binds each certifiable annotation to the certificate, rejects
// a false one naming it, and accepts it only when told to.
func TestE2EAnnotationBinding(t *testing.T) {
	j := bedGitLabJob(t)
	truth := map[string]string{
		"com.gitlab.ci.commit.sha": j.sha, ci.KeyRevision: j.sha, ci.KeySource: j.project,
		"com.gitlab.ci.job.url": j.job, "com.gitlab.ci.job.id": "5005", "com.gitlab.ci.project.path": "group/app",
		"com.gitlab.ci.commit.ref.name": "main", "com.gitlab.ci.pipeline.id": "4004", ci.KeyTag: "v1",
	}
	spoofed := maps.Clone(truth)
	spoofed["com.gitlab.ci.commit.sha"] = strings.Repeat("f", 40)
	for _, format := range []string{"bundle", "simple-signing"} {
		tests := []struct {
			name         string
			ann          map[string]string
			allowUnbound bool
			ok           bool
		}{
			{"true annotations", truth, false, true},
			{"false commit sha", spoofed, false, false},
			{"false commit sha allowed", spoofed, true, true},
		}
		for _, tt := range tests {
			t.Run(format+"/"+tt.name, func(t *testing.T) {
				ctx := t.Context()
				d := j.reg.Image(t, "hallmark-e2e/binding")
				s := j.signer(t, "group/app", format == "bundle")
				if _, err := s.Sign(ctx, signer.Subject{Digest: d}, tt.ann); err != nil {
					t.Fatal(err)
				}
				vo := bedVerifyOptions(t, j.bed, j.reg, nil, map[string]string{ci.KeyTag: "v1"})
				vo.AllowUnboundAnnotations = tt.allowUnbound
				res, err := verifier.Verify(context.Background(), d, vo)
				if !tt.ok {
					var ce *verifier.CheckError
					if !errors.As(err, &ce) || ce.Check != verifier.CheckBinding {
						t.Fatalf("want a %s failure, got %v", verifier.CheckBinding, err)
					}
					for _, frag := range []string{"com.gitlab.ci.commit.sha", spoofed["com.gitlab.ci.commit.sha"], j.sha, "Source Repository Digest"} {
						if !strings.Contains(err.Error(), frag) {
							t.Errorf("error %q does not name %q", err, frag)
						}
					}
					t.Logf("rejected: %v", err)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				b := res.Verified[0].Binding
				wantBound := []string{"com.gitlab.ci.commit.ref.name", "com.gitlab.ci.commit.sha", "com.gitlab.ci.job.id",
					"com.gitlab.ci.job.url", "com.gitlab.ci.project.path", ci.KeyRevision, ci.KeySource}
				wantUnbound := 0
				if tt.allowUnbound {
					wantBound, wantUnbound = slices.DeleteFunc(wantBound, func(k string) bool { return k == "com.gitlab.ci.commit.sha" }), 1
				}
				if !slices.Equal(b.BoundKeys(), wantBound) || !slices.Equal(b.SignedOnly, []string{"com.gitlab.ci.pipeline.id", ci.KeyTag}) || len(b.Unbound) != wantUnbound {
					t.Errorf("binding %+v\nwant bound %v, only signed [pipeline.id tag], %d unbound", b, wantBound, wantUnbound)
				}
				out, err := res.JSON()
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(out), `"com.gitlab.ci.commit.ref.name":"Source Repository Ref"`) {
					t.Errorf("JSON does not list the bound ref: %s", out)
				}
				t.Logf("JSON: %s", out)
			})
		}
	}
}
