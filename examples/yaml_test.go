package examples_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/shlex"
	"go.yaml.in/yaml/v3"
)

// The example files, relative to this package's directory.
const (
	gitlabCI       = "gitlab/.gitlab-ci.yml"
	githubWorkflow = "github/release.yml"
	runnerPod      = "kubernetes/runner-pod.yaml"
	createCerts    = "kubernetes/create-certs.sh"
	buildkitdPool  = "kubernetes/buildkitd-pool.yaml"
	releaseJob     = "kubernetes/release-job.yaml"
)

// TestEveryYAMLParses parses every YAML file under examples/, hidden ones
// (.gitlab-ci.yml) included, every document of each.
func TestEveryYAMLParses(t *testing.T) {
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(path); !d.IsDir() && (ext == ".yml" || ext == ".yaml") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{gitlabCI, githubWorkflow, runnerPod, buildkitdPool, releaseJob} {
		if !slices.Contains(files, want) {
			t.Errorf("%s not found among the YAML files %v", want, files)
		}
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			docs := decodeAll(t, f)
			if len(docs) == 0 {
				t.Fatal("no YAML document")
			}
		})
	}
}

// decodeAll decodes every document of a YAML file into generic values.
func decodeAll(t *testing.T, path string) []any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		docs = append(docs, v)
	}
}

// decodeStrict decodes a one-document YAML file into v, failing on fields v
// does not have.
func decodeStrict(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	decodeStrictBytes(t, path, b, v)
}

// decodeStrictBytes decodes one YAML document into v, failing on fields v
// does not have; where names it in errors.
func decodeStrictBytes(t *testing.T, where string, b []byte, v any) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
}

// manifest is one document of a multi-document Kubernetes manifest file.
type manifest struct {
	kind, name string
	raw        []byte
}

// loadManifests splits a Kubernetes manifest file into its documents,
// each with its kind and name, for decodeStrictBytes.
func loadManifests(t *testing.T, path string) []manifest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []manifest
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var head struct {
			Kind     string `yaml:"kind"`
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		}
		if err := n.Decode(&head); err != nil {
			t.Fatalf("%s: document %d: %v", path, len(out)+1, err)
		}
		raw, err := yaml.Marshal(&n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, manifest{kind: head.Kind, name: head.Metadata.Name, raw: raw})
	}
}

// only returns the one manifest of kind, failing unless there is exactly one.
func only(t *testing.T, path string, ms []manifest, kind string) manifest {
	t.Helper()
	var found []manifest
	for _, m := range ms {
		if m.kind == kind {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: %d %s documents, want 1", path, len(found), kind)
	}
	return found[0]
}

// loadMap decodes a one-document YAML file whose top level is a mapping.
func loadMap(t *testing.T, path string) map[string]any {
	t.Helper()
	docs := decodeAll(t, path)
	if len(docs) != 1 {
		t.Fatalf("%s: %d YAML documents, want 1", path, len(docs))
	}
	m, ok := docs[0].(map[string]any)
	if !ok {
		t.Fatalf("%s: top level is %T, want a mapping", path, docs[0])
	}
	return m
}

// mapAt returns m[k] as a mapping, or nil.
func mapAt(m map[string]any, k string) map[string]any {
	v, _ := m[k].(map[string]any)
	return v
}

// strAt returns m[k] as a string, or "".
func strAt(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

// listAt returns m[k] as a list, or nil.
func listAt(m map[string]any, k string) []any {
	v, _ := m[k].([]any)
	return v
}

// strings returns the strings of a YAML list (a single string counts as a
// list of one).
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// unknownKeys returns the keys of m not in known, sorted.
func unknownKeys(m map[string]any, known []string) []string {
	var out []string
	for k := range m {
		if !slices.Contains(known, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// command is one shell command line: its words, quotes removed, variables
// left as written.
type command []string

// hallmarkCommands returns the hallmark invocations in a shell script.
func hallmarkCommands(t *testing.T, script string) []command {
	t.Helper()
	var out []command
	// Continuation lines and folded YAML scalars make one logical line.
	script = strings.ReplaceAll(script, "\\\n", " ")
	for _, line := range strings.Split(script, "\n") {
		for _, part := range strings.FieldsFunc(line, func(r rune) bool { return r == ';' || r == '&' || r == '|' }) {
			words, err := shlex.Split(part)
			if err != nil {
				t.Fatalf("splitting %q: %v", part, err)
			}
			if len(words) > 0 && words[0] == "hallmark" {
				out = append(out, words)
			}
		}
	}
	return out
}

// subcommand is the first word after "hallmark" that is not a flag.
func (c command) subcommand() string {
	for _, w := range c[1:] {
		if !strings.HasPrefix(w, "-") {
			return w
		}
	}
	return ""
}

// flag returns the values of --name (as "--name V" or "--name=V").
func flagValues(args []string, name string) []string {
	var out []string
	for i, a := range args {
		switch {
		case a == "--"+name && i+1 < len(args):
			out = append(out, args[i+1])
		case strings.HasPrefix(a, "--"+name+"="):
			out = append(out, strings.TrimPrefix(a, "--"+name+"="))
		}
	}
	return out
}

// flagValue returns the single value of --name, failing if it is given
// more than once; "" when absent.
func flagValue(t *testing.T, args []string, name string) string {
	t.Helper()
	v := flagValues(args, name)
	if len(v) > 1 {
		t.Fatalf("--%s given %d times in %q", name, len(v), args)
	}
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// checkShellSyntax parses a script with the shell that will run it,
// without running it.
func checkShellSyntax(t *testing.T, shell, script string) {
	t.Helper()
	if _, err := exec.LookPath(shell); err != nil {
		t.Logf("%s not found; not checking shell syntax", shell)
		return
	}
	out, err := exec.CommandContext(t.Context(), shell, "-n", "-c", script).CombinedOutput()
	if err != nil {
		t.Errorf("%s -n rejects the script: %v\n%s\nscript:\n%s", shell, err, out, script)
	}
}

// exampleHallmarkVariables are the HALLMARK_* variables the examples may
// set where hallmark runs, each on purpose. hallmark reads every HALLMARK_*
// variable as a flag, so any other one (a HALLMARK_IMAGE naming hallmark's
// own image, say) would silently change what it does.
var exampleHallmarkVariables = []string{
	"HALLMARK_INSECURE_BUILDKIT_TCP", "HALLMARK_TLSCACERT", "HALLMARK_TLSCERT", "HALLMARK_TLSKEY", "HALLMARK_TLSSERVERNAME",
}

// TestHallmarkVariables checks the environment every hallmark invocation of
// the examples gets for HALLMARK_* variables not meant for it.
func TestHallmarkVariables(t *testing.T) {
	check := func(where string, env map[string]any) {
		for k := range env {
			if strings.HasPrefix(k, "HALLMARK_") && !slices.Contains(exampleHallmarkVariables, k) {
				t.Errorf("%s: %s reaches hallmark, which reads it as a flag", where, k)
			}
		}
	}
	jobs, globals := gitlabJobs(t)
	for name, job := range jobs {
		if len(hallmarkCommands(t, script(job))) > 0 {
			check(gitlabCI+" job "+name, globals)
			check(gitlabCI+" job "+name, mapAt(job, "variables"))
		}
	}
	wf := loadMap(t, githubWorkflow)
	for name := range mapAt(wf, "jobs") {
		job, steps := githubJob(t, wf, name)
		for i, s := range steps {
			if len(hallmarkCommands(t, s.run)) > 0 {
				where := fmt.Sprintf("%s job %s step %d", githubWorkflow, name, i)
				check(where, mapAt(wf, "env"))
				check(where, mapAt(job, "env"))
				check(where, mapAt(s.raw, "env"))
			}
		}
	}
	for where, hm := range map[string]container{runnerPod: loadRunnerPod(t).hallmark, releaseJob: loadPool(t).hallmark} {
		env := map[string]any{}
		for _, e := range hm.Env {
			env[e.Name] = e.Value
		}
		check(where, env)
	}
}
