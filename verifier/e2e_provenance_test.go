package verifier_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hallmark-dev/hallmark/layout"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/verifier"
)

// TestE2EVerifyProvenance attests SLSA v1 provenance at the bed's Fulcio
// (GitLab's template: the certificate certifies sha, job and project) and
// checks VerifyProvenance accepts the genuine one and rejects each
// forgery, naming the check: an edited predicate, provenance of another
// digest, provenance signed by another identity, and provenance whose
// revision its certificate disagrees with.
func TestE2EVerifyProvenance(t *testing.T) {
	j := bedGitLabJob(t)
	predicate := func(revision string) []byte {
		return []byte(`{"buildDefinition":{"buildType":"https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md",` +
			`"resolvedDependencies":[{"uri":"pkg:docker/busybox@1"}]},"runDetails":{"builder":{"id":"` + j.job + `"},` +
			`"metadata":{"buildkit_metadata":{"vcs":{"source":"` + j.project + `","revision":"` + revision + `"}}}}}`)
	}
	attest := func(t *testing.T, d name.Digest, projectPath string, pred []byte) *signer.Attestation {
		t.Helper()
		a, err := j.signer(t, projectPath, true).Attest(t.Context(), signer.Subject{Digest: d}, layout.PredicateTypeSLSAProvenance1, pred)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		name  string
		forge func(t *testing.T, d name.Digest)
		check verifier.Check // "" when it verifies
	}{
		{"genuine", func(t *testing.T, d name.Digest) { attest(t, d, "group/app", predicate(j.sha)) }, ""},
		{"edited predicate", func(t *testing.T, d name.Digest) {
			a := attest(t, j.reg.Image(t, "hallmark-e2e/provenance-other"), "group/app", predicate(j.sha))
			writeBundleReferrer(t, j.reg, d, editedPayload(t, a.Bundle, d, j.sha, strings.Repeat("e", 40)), layout.PredicateTypeSLSAProvenance1)
		}, verifier.CheckSignature},
		{"provenance of another digest", func(t *testing.T, d name.Digest) {
			a := attest(t, j.reg.Image(t, "hallmark-e2e/provenance-other"), "group/app", predicate(j.sha))
			writeBundleReferrer(t, j.reg, d, a.Bundle, layout.PredicateTypeSLSAProvenance1)
		}, verifier.CheckDigest},
		{"another identity", func(t *testing.T, d name.Digest) { attest(t, d, "other/app", predicate(j.sha)) }, verifier.CheckIdentity},
		{"revision disagrees with the certificate", func(t *testing.T, d name.Digest) {
			attest(t, d, "group/app", predicate(strings.Repeat("f", 40)))
		}, verifier.CheckProvenance},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := j.reg.Image(t, "hallmark-e2e/provenance")
			tt.forge(t, d)
			v, err := verifier.New(context.Background(), bedVerifyOptions(t, j.bed, j.reg, nil, nil))
			if err != nil {
				t.Fatal(err)
			}
			p, err := v.VerifyProvenance(context.Background(), d)
			if tt.check == "" {
				if err != nil {
					t.Fatal(err)
				}
				if p.VCSRevision != j.sha || p.BuilderID != j.job || p.VCSSource != j.project || p.BuildTrigger != "push" || len(p.Materials) != 1 {
					t.Errorf("provenance %+v", p)
				}
				return
			}
			var ce *verifier.CheckError
			if !errors.As(err, &ce) || ce.Check != tt.check {
				t.Fatalf("want a %s failure, got %v", tt.check, err)
			}
			t.Logf("rejected: %v", err)
		})
	}
}

// editedPayload is bundle with its DSSE payload replaced by a statement
// about d whose revision is changed from old to revision: the signature
// no longer matches.
func editedPayload(t *testing.T, bundle []byte, d name.Digest, old, revision string) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	env := b["dsseEnvelope"].(map[string]any)
	payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	st, err := layout.ParseAttestation(payload)
	if err != nil {
		t.Fatal(err)
	}
	st.Digest, st.Predicate = mustHash(t, d), []byte(strings.ReplaceAll(string(st.Predicate), old, revision))
	edited, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	env["payload"] = base64.StdEncoding.EncodeToString(edited)
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
