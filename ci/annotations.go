package ci

import (
	"errors"
	"fmt"
	"maps"
	"strings"
)

// Annotation keys shared by every provider.
const (
	KeyTag      = "tag"                               // the image tag the digest was built or resolved as
	KeySource   = "org.opencontainers.image.source"   // where the source lives (project URL)
	KeyRevision = "org.opencontainers.image.revision" // the commit built
)

// ErrAnnotation is wrapped by every error ParseAnnotations returns.
var ErrAnnotation = errors.New("invalid annotation")

// Annotations returns the provenance annotations derived from the CI
// variables, plus tag under KeyTag. On GitLab these are the 11 keys of
// GitLab's "annotate container images with build provenance" pipeline; on
// GitHub Actions the com.github.actions.* equivalents; in a generic
// environment only the tag (see ResolveAnnotations for the git checkout).
// Keys whose value would be empty are left out.
func (e Env) Annotations(tag string) map[string]string {
	var pairs [][2]string
	switch e.Provider {
	case GitLab:
		pairs = e.gitLabAnnotations()
	case GitHubActions:
		pairs = e.gitHubAnnotations()
	}
	pairs = append(pairs, [2]string{KeyTag, tag})
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		if p[1] != "" {
			out[p[0]] = p[1]
		}
	}
	return out
}

func (e Env) gitLabAnnotations() [][2]string {
	return [][2]string{
		{"com.gitlab.ci.user.name", e.get("GITLAB_USER_NAME")},
		{"com.gitlab.ci.pipeline.id", e.get("CI_PIPELINE_ID")},
		{"com.gitlab.ci.pipeline.url", e.get("CI_PIPELINE_URL")},
		{"com.gitlab.ci.job.id", e.get("CI_JOB_ID")},
		{"com.gitlab.ci.job.url", e.get("CI_JOB_URL")},
		{"com.gitlab.ci.commit.sha", e.get("CI_COMMIT_SHA")},
		{"com.gitlab.ci.commit.ref.name", e.get("CI_COMMIT_REF_NAME")},
		{"com.gitlab.ci.project.path", e.get("CI_PROJECT_PATH")},
		{KeySource, e.get("CI_PROJECT_URL")},
		{KeyRevision, e.get("CI_COMMIT_SHA")},
	}
}

// gitHubAnnotations are the job's variables, with what Fulcio's GitHub
// certificate also records: the workflow ref (its Build Config URI is
// $GITHUB_SERVER_URL/$GITHUB_WORKFLOW_REF, also recorded) and the run
// attempt (its Run Invocation URI is the run URL + /attempts/N).
func (e Env) gitHubAnnotations() [][2]string {
	server, repo, run := e.get("GITHUB_SERVER_URL"), e.get("GITHUB_REPOSITORY"), e.get("GITHUB_RUN_ID")
	attempt, workflow := e.get("GITHUB_RUN_ATTEMPT"), e.get("GITHUB_WORKFLOW_REF")
	return [][2]string{
		{"com.github.actions.actor", e.get("GITHUB_ACTOR")},
		{"com.github.actions.run.id", run},
		{"com.github.actions.run.url", join(server, repo, "actions/runs", run)},
		{"com.github.actions.run.attempt", attempt},
		{"com.github.actions.run.invocation.url", join(server, repo, "actions/runs", run, "attempts", attempt)},
		{"com.github.actions.workflow.ref", workflow},
		{"com.github.actions.workflow.url", join(server, workflow)},
		{"com.github.actions.job", e.get("GITHUB_JOB")},
		{"com.github.actions.sha", e.get("GITHUB_SHA")},
		{"com.github.actions.ref", e.get("GITHUB_REF")},
		{"com.github.actions.repository", repo},
		{KeySource, join(server, repo)},
		{KeyRevision, e.get("GITHUB_SHA")},
	}
}

// join joins URL parts with "/", or returns "" when any part is empty, so a
// half-known URL is left out rather than emitted wrong.
func join(parts ...string) string {
	for i, p := range parts {
		if p == "" {
			return ""
		}
		if i == 0 {
			parts[i] = strings.TrimRight(p, "/")
		}
	}
	return strings.Join(parts, "/")
}

// AnnotationRequest says which annotations ResolveAnnotations assembles.
type AnnotationRequest struct {
	// Tag is recorded under KeyTag when non-empty, also with NoCI.
	Tag string
	// Explicit holds the user's annotations (-a k=v); they win over
	// automatic values with the same key.
	Explicit map[string]string
	// NoCI leaves out everything derived from CI variables or the git
	// checkout.
	NoCI bool
	// Dir is where a generic environment looks for a git checkout (this
	// directory or a parent); "" means the current directory.
	Dir string
	// Warn, when set, is told about provenance left out, e.g. a git remote
	// with no web URL to record as the source.
	Warn func(msg string)
}

// ResolveAnnotations returns the annotations to attach to a signature: the
// automatic provenance set (Annotations; outside CI the source URL and
// revision of the git checkout in req.Dir, if there is one), overridden by
// req.Explicit. A missing checkout is not an error; a broken one is.
func (e Env) ResolveAnnotations(req AnnotationRequest) (map[string]string, error) {
	auto := map[string]string{}
	if req.Tag != "" {
		auto[KeyTag] = req.Tag
	}
	if !req.NoCI {
		auto = e.Annotations(req.Tag)
		if e.Provider == Generic {
			dir := req.Dir
			if dir == "" {
				dir = "."
			}
			co, err := ReadCheckout(dir)
			switch {
			case errors.Is(err, ErrNoCheckout):
			case err != nil:
				return nil, err
			default:
				if co.Remote != "" && co.Source == "" && req.Warn != nil {
					req.Warn(fmt.Sprintf("git remote %q has no web URL: %s left out", co.Remote, KeySource))
				}
				maps.Copy(auto, co.Annotations())
			}
		}
	}
	return Merge(auto, req.Explicit), nil
}

// Merge returns a new map with the automatic annotations overridden by the
// explicit ones. Neither argument is modified; either may be nil.
func Merge(automatic, explicit map[string]string) map[string]string {
	out := make(map[string]string, len(automatic)+len(explicit))
	maps.Copy(out, automatic)
	maps.Copy(out, explicit)
	return out
}

// ParseAnnotations parses "key=value" strings, one per annotation.
// The value may be empty or contain '='; the key may not be empty and the
// '=' is required. A repeated key keeps its last value. Errors wrap
// ErrAnnotation and quote the offending argument.
func ParseAnnotations(args []string) (map[string]string, error) {
	out := make(map[string]string, len(args))
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("%w %q: want key=value, missing '='", ErrAnnotation, a)
		case strings.TrimSpace(k) == "":
			return nil, fmt.Errorf("%w %q: empty key", ErrAnnotation, a)
		case strings.TrimSpace(k) != k:
			return nil, fmt.Errorf("%w %q: key has leading or trailing spaces", ErrAnnotation, a)
		}
		out[k] = v
	}
	return out, nil
}

// BuildContext is what a CI job tells the provenance of its build: the
// builder id (the job's URL on GitLab, the workflow run's on GitHub
// Actions), the source repository and the commit. Empty outside CI.
func (e Env) BuildContext() (builderID, source, revision string) {
	a := e.Annotations("")
	builderID = a["com.gitlab.ci.job.url"]
	if builderID == "" {
		builderID = a["com.github.actions.run.url"]
	}
	return builderID, a[KeySource], a[KeyRevision]
}
