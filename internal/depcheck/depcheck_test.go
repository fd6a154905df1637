package depcheck

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// libraries are hallmark's library packages, relative to the module root.
// Those not written yet are skipped.
var libraries = []string{"ci", "builder", "builder/pool", "registry", "signer", "verifier", "doctor", "layout", "release", "internal/parallel", "internal/version", "internal/limits"}

// forbidden are import path prefixes no library may depend on, directly or
// indirectly.
var forbidden = []string{"github.com/urfave/cli"}

func TestLibrariesDoNotImportCLI(t *testing.T) {
	root := moduleRoot(t)
	var pkgs []string
	for _, dir := range libraries {
		if hasGoFiles(filepath.Join(root, dir)) {
			pkgs = append(pkgs, "./"+dir)
		}
	}
	if len(pkgs) == 0 {
		t.Fatal("no library packages found")
	}
	// -e: report what resolves even if a package under construction does
	// not build; the build itself is checked elsewhere.
	cmd := exec.CommandContext(t.Context(), "go", append([]string{"list", "-e", "-deps",
		"-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`}, pkgs...)...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr(err))
	}
	// Each line is a package and its direct imports; report the importer
	// of each forbidden package, which names the edge to cut.
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || isForbidden(fields[0]) {
			continue
		}
		for _, imp := range fields[1:] {
			if isForbidden(imp) {
				t.Errorf("%s imports %s; libraries %v must not depend on it", fields[0], imp, pkgs)
			}
		}
	}
	t.Logf("checked %v", pkgs)
}

func isForbidden(path string) bool {
	for _, f := range forbidden {
		if path == f || strings.HasPrefix(path, f+"/") {
			return true
		}
	}
	return false
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("finding go.mod: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func hasGoFiles(dir string) bool {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, m := range matches {
		if !strings.HasSuffix(m, "_test.go") {
			return true
		}
	}
	return false
}

func stderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

const module = "github.com/hallmark-dev/hallmark"

// cliImports are the module's packages the CLI (internal/cli) may import:
// the libraries' public packages and the internal helpers made for it.
var cliImports = []string{"builder", "builder/pool", "ci", "doctor", "registry", "release", "signer", "verifier", "internal/parallel", "internal/version", "internal/limits", "layout"}

// imports returns, for each package of the module (tests left out), its
// direct imports.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "list", "-e", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	cmd.Dir = moduleRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr(err))
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if fields := strings.Fields(line); len(fields) > 0 {
			m[fields[0]] = fields[1:]
		}
	}
	return m
}

// TestOnlyTheCLIImportsCLIFramework: internal/cli is the one package of
// the module that imports urfave/cli.
func TestOnlyTheCLIImportsCLIFramework(t *testing.T) {
	for pkg, imps := range imports(t) {
		for _, imp := range imps {
			if isForbidden(imp) && pkg != module+"/internal/cli" {
				t.Errorf("%s imports %s; only internal/cli may", pkg, imp)
			}
		}
	}
}

// TestCLIUsesPublicAPIs: the CLI imports the module's libraries through
// their public packages only (no test helpers, no other internals).
func TestCLIUsesPublicAPIs(t *testing.T) {
	imps, ok := imports(t)[module+"/internal/cli"]
	if !ok {
		t.Fatal("no package internal/cli")
	}
	for _, imp := range imps {
		rel, ok := strings.CutPrefix(imp, module+"/")
		if ok && !slices.Contains(cliImports, rel) {
			t.Errorf("internal/cli imports %s; the CLI may import only %v", imp, cliImports)
		}
	}
}
