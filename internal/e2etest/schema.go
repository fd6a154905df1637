package e2etest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// CheckSchema validates the JSON document doc against the schema file
// docs/schema/NAME (e.g. "release.schema.json") of the repository the
// test runs in, failing the test with the validator's explanation.
func CheckSchema(t testing.TB, name string, doc []byte) {
	t.Helper()
	// The schemas refer to each other by their $id: register them all.
	dir := filepath.Join(repoRoot(t), "docs", "schema")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	ids := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("reading %s: %v", f, err)
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		id, _ := doc.(map[string]any)["$id"].(string)
		if err != nil || id == "" {
			t.Fatalf("%s: not a JSON schema with an $id (%v)", f, err)
			return
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatalf("%s: %v", f, err)
			return
		}
		ids[filepath.Base(f)] = id
	}
	sch, err := c.Compile(ids[name])
	if err != nil {
		t.Fatalf("compiling %s: %v", name, err)
		return
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("output is not JSON (%v):\n%s", err, doc)
		return
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("output does not match docs/schema/%s: %v\n%s", name, err, doc)
	}
}

// repoRoot is the directory above the test's with go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
