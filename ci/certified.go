package ci

import (
	"crypto/x509"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// Certified is what a CI job's Fulcio certificate certifies about the
// job, as the values of the annotations hallmark attaches: the facts the
// CI provider vouched for in the OIDC token, which Fulcio copied into the
// certificate's extensions. A signature's annotation with one of these
// keys is bound to its certificate only when the values agree.
type Certified struct {
	// Values maps annotation keys to the certified value.
	Values map[string]string
	// Fields maps the same keys to the certificate field they come from,
	// for messages (e.g. "Source Repository Digest").
	Fields map[string]string
}

// The Fulcio certificate fields the annotations are checked against.
const (
	fieldSourceURI    = "Source Repository URI"
	fieldSourceDigest = "Source Repository Digest"
	fieldSourceRef    = "Source Repository Ref"
	fieldRunURI       = "Run Invocation URI"
	fieldBuildConfig  = "Build Config URI"
)

var (
	// GitLab's run invocation URI: {server}/{project_path}/-/jobs/{job_id}.
	gitLabJob = regexp.MustCompile(`^(https?://.+)/-/jobs/([0-9]+)$`)
	// GitHub's: {server}/{owner}/{repo}/actions/runs/{run_id}/attempts/{n}.
	gitHubRun = regexp.MustCompile(`^(https?://[^/]+/[^/]+/[^/]+/actions/runs/([0-9]+))(/attempts/([0-9]+))?$`)
	// GitHub's build config URI: {server}/{workflow ref}.
	gitHubWorkflow = regexp.MustCompile(`^https?://[^/]+/(.+@.+)$`)
)

// CertifiedByCertificate returns what cert certifies (see Certified). A
// certificate without CI extensions (a person's e-mail identity, a key)
// certifies nothing.
func CertifiedByCertificate(cert *x509.Certificate) (Certified, error) {
	ext, err := certificate.ParseExtensions(cert.Extensions)
	if err != nil {
		return Certified{}, fmt.Errorf("reading the certificate's Fulcio extensions: %w", err)
	}
	return CertifiedByExtensions(ext), nil
}

// CertifiedByExtensions returns what a Fulcio certificate with these
// extensions certifies. GitLab's annotations are certified when the run
// invocation URI is a GitLab job's, GitHub Actions' when it is a workflow
// run's; the OCI source and revision by any CI certificate.
func CertifiedByExtensions(ext certificate.Extensions) Certified {
	c := Certified{Values: map[string]string{}, Fields: map[string]string{}}
	add := func(key, value, field string) {
		if value != "" {
			c.Values[key], c.Fields[key] = value, field
		}
	}
	add(KeySource, ext.SourceRepositoryURI, fieldSourceURI)
	add(KeyRevision, ext.SourceRepositoryDigest, fieldSourceDigest)
	if m := gitLabJob.FindStringSubmatch(ext.RunInvocationURI); m != nil {
		add("com.gitlab.ci.commit.sha", ext.SourceRepositoryDigest, fieldSourceDigest)
		add("com.gitlab.ci.commit.ref.name", refName(ext.SourceRepositoryRef), fieldSourceRef)
		add("com.gitlab.ci.job.url", ext.RunInvocationURI, fieldRunURI)
		add("com.gitlab.ci.job.id", m[2], fieldRunURI)
		add("com.gitlab.ci.project.path", urlPath(ext.SourceRepositoryURI), fieldSourceURI)
	}
	if m := gitHubRun.FindStringSubmatch(ext.RunInvocationURI); m != nil {
		add("com.github.actions.sha", ext.SourceRepositoryDigest, fieldSourceDigest)
		add("com.github.actions.ref", ext.SourceRepositoryRef, fieldSourceRef)
		add("com.github.actions.run.url", m[1], fieldRunURI)
		add("com.github.actions.run.id", m[2], fieldRunURI)
		add("com.github.actions.repository", urlPath(ext.SourceRepositoryURI), fieldSourceURI)
		if m[4] != "" {
			add("com.github.actions.run.attempt", m[4], fieldRunURI)
			add("com.github.actions.run.invocation.url", ext.RunInvocationURI, fieldRunURI)
		}
		if w := gitHubWorkflow.FindStringSubmatch(ext.BuildConfigURI); w != nil {
			add("com.github.actions.workflow.url", ext.BuildConfigURI, fieldBuildConfig)
			add("com.github.actions.workflow.ref", w[1], fieldBuildConfig)
		}
	}
	return c
}

// refName is a branch or tag name from a full ref (refs/heads/main ->
// main), as CI_COMMIT_REF_NAME has it.
func refName(ref string) string {
	for _, p := range []string{"refs/heads/", "refs/tags/"} {
		if name, ok := strings.CutPrefix(ref, p); ok {
			return name
		}
	}
	return ref
}

// urlPath is the path of u without its leading slash ("group/app").
func urlPath(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(p.Path, "/")
}

// AnnotationMismatch is an annotation whose value disagrees with what the
// certificate certifies for its key.
type AnnotationMismatch struct {
	Key       string
	Value     string // the annotation's value
	Certified string // the certificate's value
	Field     string // the certificate field it comes from
}

// UnboundError reports annotations that disagree with the certificate.
// It names each key, the annotation's value and the certificate's.
type UnboundError struct{ Mismatches []AnnotationMismatch }

func (e *UnboundError) Error() string {
	parts := make([]string, len(e.Mismatches))
	for i, m := range e.Mismatches {
		parts[i] = fmt.Sprintf("annotation %s=%q disagrees with the certificate's %s %q", m.Key, m.Value, m.Field, m.Certified)
	}
	return strings.Join(parts, "; ")
}

// Bind checks annotations against what the certificate certifies: it
// returns the keys bound to the certificate (certified and equal) and the
// keys only signed (nothing certifies them: a user name, a pipeline, the
// tag), both sorted, or an *UnboundError when any certified key disagrees.
func (c Certified) Bind(annotations map[string]string) (bound, signedOnly []string, err error) {
	var bad []AnnotationMismatch
	for _, k := range slices.Sorted(maps.Keys(annotations)) {
		want, ok := c.Values[k]
		switch {
		case !ok:
			signedOnly = append(signedOnly, k)
		case annotations[k] == want:
			bound = append(bound, k)
		default:
			bad = append(bad, AnnotationMismatch{Key: k, Value: annotations[k], Certified: want, Field: c.Fields[k]})
		}
	}
	if len(bad) > 0 {
		return bound, signedOnly, &UnboundError{Mismatches: bad}
	}
	return bound, signedOnly, nil
}

// CheckBound reports whether annotations are bound to cert: nil when
// every annotation the certificate certifies agrees with it (the others
// are only signed), else an *UnboundError naming each disagreement. It
// fits signer.Options.CheckAnnotations.
func CheckBound(cert *x509.Certificate, annotations map[string]string) error {
	c, err := CertifiedByCertificate(cert)
	if err != nil {
		return err
	}
	_, _, err = c.Bind(annotations)
	return err
}

// RunURL is the CI run the certificate certifies — a GitLab job's URL or
// a GitHub Actions workflow run's — the builder id of the provenance of
// what it built; "" when it certifies none.
func (c Certified) RunURL() string {
	if u := c.Values["com.gitlab.ci.job.url"]; u != "" {
		return u
	}
	return c.Values["com.github.actions.run.url"]
}
