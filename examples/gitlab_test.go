package examples_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// GitLab CI keywords (docs.gitlab.com/ci/yaml): top-level globals, and the
// keys a job, its image, services and artifacts may have.
var (
	gitlabGlobals     = []string{"default", "include", "stages", "variables", "workflow", "spec"}
	gitlabJobKeys     = []string{"after_script", "allow_failure", "artifacts", "before_script", "cache", "coverage", "dast_configuration", "dependencies", "environment", "extends", "hooks", "identity", "id_tokens", "image", "inherit", "interruptible", "manual_confirmation", "needs", "pages", "parallel", "release", "resource_group", "retry", "rules", "run", "script", "secrets", "services", "stage", "tags", "timeout", "trigger", "variables", "when"}
	gitlabImageKeys   = []string{"name", "entrypoint", "docker", "pull_policy", "kubernetes"}
	gitlabServiceKeys = []string{"name", "alias", "entrypoint", "command", "variables", "pull_policy", "docker", "kubernetes"}
	gitlabArtifactKey = []string{"paths", "exclude", "expire_in", "expose_as", "name", "public", "access", "reports", "untracked", "when"}
)

// gitlabJobs returns the jobs of a .gitlab-ci.yml (hidden ones included)
// with extends resolved, and the global variables.
func gitlabJobs(t *testing.T) (jobs map[string]map[string]any, globals map[string]any) {
	t.Helper()
	top := loadMap(t, gitlabCI)
	raw := map[string]map[string]any{}
	for name, v := range top {
		if slices.Contains(gitlabGlobals, name) {
			continue
		}
		job, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: %s is %T, not a job", gitlabCI, name, v)
		}
		if unknown := unknownKeys(job, gitlabJobKeys); len(unknown) > 0 {
			t.Errorf("job %s: unknown keywords %v", name, unknown)
		}
		raw[name] = job
	}
	jobs = map[string]map[string]any{}
	for name := range raw {
		jobs[name] = resolveExtends(t, raw, name, 0)
	}
	return jobs, mapAt(top, "variables")
}

// resolveExtends merges a job over the job it extends, as GitLab does:
// mappings deep-merged, everything else (lists included) replaced.
func resolveExtends(t *testing.T, raw map[string]map[string]any, name string, depth int) map[string]any {
	t.Helper()
	if depth > 10 {
		t.Fatalf("extends loop at %s", name)
	}
	job := raw[name]
	base := strAt(job, "extends")
	if base == "" {
		return job
	}
	if _, ok := raw[base]; !ok {
		t.Fatalf("job %s extends %s, which does not exist", name, base)
	}
	return deepMerge(resolveExtends(t, raw, base, depth+1), job)
}

func deepMerge(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		bm, ok1 := out[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = deepMerge(bm, om)
		} else {
			out[k] = v
		}
	}
	delete(out, "extends")
	return out
}

// script returns a job's script as one shell script.
func script(job map[string]any) string { return strings.Join(stringList(job["script"]), "\n") }

// jobRunning returns the visible jobs whose script runs `hallmark SUB`.
func jobsRunning(t *testing.T, jobs map[string]map[string]any, sub string, hidden bool) []string {
	var out []string
	for name, job := range jobs {
		if strings.HasPrefix(name, ".") != hidden {
			continue
		}
		for _, c := range hallmarkCommands(t, script(job)) {
			if c.subcommand() == sub {
				out = append(out, name)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// gitlabVar returns a job variable, falling back to the global one.
func gitlabVar(job, globals map[string]any, k string) string {
	if v, ok := mapAt(job, "variables")[k]; ok {
		s, _ := v.(string)
		return s
	}
	return strAt(globals, k)
}

func TestGitLabRelease(t *testing.T) {
	jobs, globals := gitlabJobs(t)
	names := jobsRunning(t, jobs, "release", false)
	if len(names) != 1 {
		t.Fatalf("want one job running hallmark release, got %v", names)
	}
	job := jobs[names[0]]
	checkGitLabJobShape(t, names[0], job)

	aud := stringList(mapAt(mapAt(job, "id_tokens"), "SIGSTORE_ID_TOKEN")["aud"])
	if !slices.Equal(aud, []string{"sigstore"}) {
		t.Errorf("id_tokens.SIGSTORE_ID_TOKEN.aud = %v, want sigstore", aud)
	}

	release := hallmarkCommands(t, script(job))[0]
	dotenv := flagValue(t, release, "dotenv")
	report := strAt(mapAt(mapAt(job, "artifacts"), "reports"), "dotenv")
	if dotenv == "" || dotenv != report {
		t.Errorf("hallmark release --dotenv %q, but artifacts:reports:dotenv is %q", dotenv, report)
	}
	if md := flagValue(t, release, "metadata-file"); md != "" && !slices.Contains(stringList(mapAt(job, "artifacts")["paths"]), md) {
		t.Errorf("--metadata-file %s is not kept as an artifact", md)
	}

	svc := buildkitService(t, job)
	addr := buildkitTCPListen(t, svc)
	if !slices.Contains(stringList(svc["command"]), "--oci-worker-no-process-sandbox") {
		t.Errorf("buildkit service command %v lacks --oci-worker-no-process-sandbox (rootless in a container)", svc["command"])
	}
	if got := strAt(mapAt(svc, "variables"), "HEALTHCHECK_TCP_PORT"); got != addr.Port() {
		t.Errorf("service HEALTHCHECK_TCP_PORT = %q, want buildkitd's port %s", got, addr.Port())
	}
	host := gitlabVar(job, globals, "BUILDKIT_HOST")
	if want := "tcp://" + strAt(svc, "alias") + ":" + addr.Port(); host != want {
		t.Errorf("BUILDKIT_HOST = %q, want the service's alias and port, %s", host, want)
	}
	// No TLS files: plain tcp, which hallmark refuses unless told, and
	// which only a network of the job's own keeps private.
	if gitlabVar(job, globals, "HALLMARK_TLSCACERT") == "" {
		if gitlabVar(job, globals, "HALLMARK_INSECURE_BUILDKIT_TCP") != "true" {
			t.Error("plain tcp to buildkitd without HALLMARK_INSECURE_BUILDKIT_TCP=true: hallmark would refuse it")
		}
		if gitlabVar(job, globals, "FF_NETWORK_PER_BUILD") != "true" {
			t.Error("plain tcp to buildkitd without FF_NETWORK_PER_BUILD: other jobs' containers could reach it")
		}
	}
}

// checkGitLabJobShape checks the keys of a job's image, services and
// artifacts, and its script's shell syntax.
func checkGitLabJobShape(t *testing.T, name string, job map[string]any) {
	t.Helper()
	if img := mapAt(job, "image"); img != nil {
		if unknown := unknownKeys(img, gitlabImageKeys); len(unknown) > 0 {
			t.Errorf("job %s: image has unknown keys %v", name, unknown)
		}
		// hallmark's image has hallmark as entrypoint; GitLab needs the shell.
		if strings.Contains(strAt(img, "name"), "/hallmark") && !slices.Equal(stringList(img["entrypoint"]), []string{""}) {
			t.Errorf("job %s: hallmark's image needs entrypoint [\"\"] for GitLab to run the script", name)
		}
	}
	for _, s := range listAt(job, "services") {
		if m, ok := s.(map[string]any); ok {
			if unknown := unknownKeys(m, gitlabServiceKeys); len(unknown) > 0 {
				t.Errorf("job %s: service has unknown keys %v", name, unknown)
			}
		}
	}
	if a := mapAt(job, "artifacts"); a != nil {
		if unknown := unknownKeys(a, gitlabArtifactKey); len(unknown) > 0 {
			t.Errorf("job %s: artifacts has unknown keys %v", name, unknown)
		}
	}
	checkShellSyntax(t, "sh", script(job))
}

// buildkitService returns a job's rootless BuildKit service.
func buildkitService(t *testing.T, job map[string]any) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, s := range listAt(job, "services") {
		m, _ := s.(map[string]any)
		if strings.HasPrefix(strAt(m, "name"), "moby/buildkit:") {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one moby/buildkit service, got %d", len(found))
	}
	svc := found[0]
	if !strings.HasSuffix(strAt(svc, "name"), "rootless") {
		t.Errorf("buildkit service image %s is not the rootless one", strAt(svc, "name"))
	}
	if strAt(svc, "alias") == "" {
		t.Error("buildkit service has no alias to reach it by")
	}
	return svc
}

// buildkitTCPListen returns the tcp address buildkitd listens on, which
// must be every interface of the service container (the job is another
// container).
func buildkitTCPListen(t *testing.T, svc map[string]any) *url.URL {
	t.Helper()
	var tcp []*url.URL
	for _, a := range flagValues(stringList(svc["command"]), "addr") {
		u, err := url.Parse(a)
		if err != nil {
			t.Fatalf("buildkitd --addr %q: %v", a, err)
		}
		if u.Scheme == "tcp" {
			tcp = append(tcp, u)
		}
	}
	if len(tcp) != 1 {
		t.Fatalf("buildkitd command %v: want one --addr tcp://, got %d", svc["command"], len(tcp))
	}
	if tcp[0].Hostname() != "0.0.0.0" || tcp[0].Port() == "" {
		t.Errorf("buildkitd listens on %s; the job reaches the service over the network: want tcp://0.0.0.0:PORT", tcp[0])
	}
	return tcp[0]
}

// TestGitLabReleaseMTLS checks the hidden mutual-TLS variant: buildkitd's
// and hallmark's certificates sit where create-certs.sh puts them under one
// runner-mounted directory.
func TestGitLabReleaseMTLS(t *testing.T) {
	jobs, globals := gitlabJobs(t)
	names := jobsRunning(t, jobs, "release", true)
	if !slices.Equal(names, []string{".release-mtls"}) {
		t.Fatalf("hidden jobs running hallmark release: %v, want [.release-mtls]", names)
	}
	job := jobs[names[0]]
	checkGitLabJobShape(t, names[0], job)
	svc := buildkitService(t, job)
	addr := buildkitTCPListen(t, svc)
	if host := gitlabVar(job, globals, "BUILDKIT_HOST"); host != "tcp://"+strAt(svc, "alias")+":"+addr.Port() {
		t.Errorf("BUILDKIT_HOST = %q does not name the service %s:%s", host, strAt(svc, "alias"), addr.Port())
	}
	if gitlabVar(job, globals, "HALLMARK_INSECURE_BUILDKIT_TCP") == "true" {
		t.Error("the mutual-TLS job still allows plain tcp")
	}
	cmd := stringList(svc["command"])
	client := map[string]string{
		"tlscacert": gitlabVar(job, globals, "HALLMARK_TLSCACERT"),
		"tlscert":   gitlabVar(job, globals, "HALLMARK_TLSCERT"),
		"tlskey":    gitlabVar(job, globals, "HALLMARK_TLSKEY"),
	}
	// create-certs.sh's layout: daemon/ and client/, each ca.pem cert.pem key.pem.
	files := map[string]string{"tlscacert": "ca.pem", "tlscert": "cert.pem", "tlskey": "key.pem"}
	var roots []string
	for flag, file := range files {
		d := flagValue(t, cmd, flag)
		if !strings.HasSuffix(d, "/daemon/"+file) {
			t.Errorf("buildkitd --%s %q: want DIR/daemon/%s", flag, d, file)
		}
		if !strings.HasSuffix(client[flag], "/client/"+file) {
			t.Errorf("hallmark's %s file %q: want DIR/client/%s", flag, client[flag], file)
		}
		roots = append(roots, strings.TrimSuffix(d, "/daemon/"+file), strings.TrimSuffix(client[flag], "/client/"+file))
	}
	slices.Sort(roots)
	if roots = slices.Compact(roots); len(roots) != 1 {
		t.Errorf("certificates come from several directories %v; the runner mounts one", roots)
	}
	// The server name hallmark checks is the alias, which must be one of
	// create-certs.sh's default SANs (TestCreateCertsMatchPod checks them).
	if alias := strAt(svc, "alias"); !slices.Contains(defaultSANs, alias) {
		t.Errorf("service alias %q is not among create-certs.sh's default SANs %v", alias, defaultSANs)
	}
}

// TestGitLabVerify checks the later job: it verifies the digest the
// release job's dotenv report passes on, with the identity and issuer of
// GitLab's Sigstore tutorial.
func TestGitLabVerify(t *testing.T) {
	jobs, _ := gitlabJobs(t)
	names := jobsRunning(t, jobs, "verify", false)
	if len(names) != 1 {
		t.Fatalf("want one job running hallmark verify, got %v", names)
	}
	job := jobs[names[0]]
	checkGitLabJobShape(t, names[0], job)
	releases := jobsRunning(t, jobs, "release", false)
	var needs []string
	for _, n := range listAt(job, "needs") {
		switch n := n.(type) {
		case string:
			needs = append(needs, n)
		case map[string]any:
			if a, ok := n["artifacts"].(bool); !ok || a {
				needs = append(needs, strAt(n, "job"))
			}
		}
	}
	if len(releases) != 1 || !slices.Contains(needs, releases[0]) {
		t.Errorf("verify job needs %v (with artifacts), want the release job %v for its dotenv report", needs, releases)
	}
	v := hallmarkCommands(t, script(job))[0]
	if got, want := flagValue(t, v, "certificate-identity"), "$CI_PROJECT_URL//.gitlab-ci.yml@refs/heads/$CI_COMMIT_REF_NAME"; got != want {
		t.Errorf("--certificate-identity %q, want GitLab's tutorial identity %q", got, want)
	}
	if got, want := flagValue(t, v, "certificate-oidc-issuer"), "$CI_SERVER_URL"; got != want {
		t.Errorf("--certificate-oidc-issuer %q, want %q", got, want)
	}
	if last := v[len(v)-1]; last != "$IMAGE_REF" {
		t.Errorf("verifies %q, want $IMAGE_REF (REPO@sha256:... from the dotenv report)", last)
	}
	// The identity names refs/heads/: both jobs must run for branches only.
	for _, name := range append(releases, names[0]) {
		var ifs []string
		for _, r := range listAt(jobs[name], "rules") {
			m, _ := r.(map[string]any)
			ifs = append(ifs, strAt(m, "if"))
		}
		if !slices.Equal(ifs, []string{"$CI_COMMIT_BRANCH"}) {
			t.Errorf("job %s rules %v: want branch pipelines only (if: $CI_COMMIT_BRANCH)", name, ifs)
		}
	}
}
