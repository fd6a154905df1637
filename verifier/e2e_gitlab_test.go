package verifier_test

import (
	"net/url"
	"testing"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// gitlabJob is the GitLab job the binding and provenance tests sign as:
// project group/app of the bed's issuer at commit sha, job 5005, on the
// bed's registry with the referrers API.
type gitlabJob struct {
	bed               *signertest.Bed
	reg               *signertest.Registry
	sha, project, job string
}

// bedGitLabJob returns the job, skipping (or under CI failing) without
// the bed's keyless services.
func bedGitLabJob(t *testing.T) gitlabJob {
	t.Helper()
	bed := signertest.RequireBed(t)
	bed.RequireSigning(t)
	project := bed.Issuer + "/group/app"
	return gitlabJob{bed: bed, reg: bed.Registries[len(bed.Registries)-1],
		sha: "89abcdef0123456789abcdef0123456789abcdef", project: project, job: project + "/-/jobs/5005"}
}

// signer is a keyless signer at the bed's Fulcio with a token for the job
// in projectPath (GitLab's template: the certificate certifies the sha,
// job and project), timestamped by the bed's TSA, without a transparency
// log; bundle chooses cosign v3's bundle format over simple signing.
func (j gitlabJob) signer(t *testing.T, projectPath string, bundle bool) *signer.Signer {
	t.Helper()
	s, err := signer.New(t.Context(), signer.Options{IdentityToken: j.bed.Token(t, url.Values{"project_path": {projectPath}, "sha": {j.sha}}),
		FulcioURL: j.bed.FulcioURL, InsecureSkipSCT: true, TimestampServerURL: j.bed.TSAURL,
		RemoteOptions: j.reg.Options, SkipTlogUpload: true, Bundle: bundle})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
