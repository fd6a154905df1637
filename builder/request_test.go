package builder

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

func mustTag(t *testing.T, s string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

func TestFrontendAttrs(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want map[string]string
	}{
		{"defaults", Request{ContextDir: "ctx"}, map[string]string{"filename": "Dockerfile"}},
		{"dockerfile elsewhere", Request{ContextDir: "ctx", Dockerfile: "/some/dir/Dockerfile.prod"}, map[string]string{"filename": "Dockerfile.prod"}},
		{"everything", Request{
			ContextDir: "ctx", Target: "final", Platforms: []string{"linux/amd64", "linux/arm64"}, NoCache: true,
			BuildArgs: []string{"A=1", "B=x=y", "EMPTY="}, Labels: []string{"org.example.l=v"},
		}, map[string]string{
			"filename": "Dockerfile", "target": "final", "platform": "linux/amd64,linux/arm64", "no-cache": "",
			"build-arg:A": "1", "build-arg:B": "x=y", "build-arg:EMPTY": "", "label:org.example.l": "v",
		}},
		{"provenance", Request{ContextDir: "ctx", Provenance: &Provenance{
			BuilderID: "https://gitlab.example.com/g/app/-/jobs/7", VCSSource: "https://gitlab.example.com/g/app", VCSRevision: "0123abcd",
		}}, map[string]string{
			"filename": "Dockerfile", "attest:provenance": "mode=max,builder-id=https://gitlab.example.com/g/app/-/jobs/7",
			"vcs:source": "https://gitlab.example.com/g/app", "vcs:revision": "0123abcd",
		}},
		{"provenance builder id with a comma", Request{ContextDir: "ctx", Provenance: &Provenance{BuilderID: "https://ci.example/run?a=1,2"}},
			map[string]string{"filename": "Dockerfile", "attest:provenance": `mode=max,"builder-id=https://ci.example/run?a=1,2"`}},
		{"provenance without context", Request{ContextDir: "ctx", Provenance: &Provenance{}},
			map[string]string{"filename": "Dockerfile", "attest:provenance": "mode=max"}},
		{"sbom", Request{ContextDir: "ctx", SBOMGenerator: "registry.example/scanner:1@sha256:0123"},
			map[string]string{"filename": "Dockerfile", "attest:sbom": "generator=registry.example/scanner:1@sha256:0123"}},
		{"sbom and provenance", Request{ContextDir: "ctx", SBOMGenerator: "scanner", Provenance: &Provenance{}},
			map[string]string{"filename": "Dockerfile", "attest:sbom": "generator=scanner", "attest:provenance": "mode=max"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.req.frontendAttrs(); !maps.Equal(got, tt.want) {
				t.Errorf("frontendAttrs() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExportAttrs(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want map[string]string
	}{
		{"one tag", Request{Tags: []name.Tag{mustTag(t, "reg.example/g/app:1")}}, map[string]string{
			"name": "reg.example/g/app:1", "push": "true", "oci-mediatypes": "true",
		}},
		{"two tags, plain HTTP: TLS verification stays", Request{Tags: []name.Tag{mustTag(t, "127.0.0.1:5000/a:1"), mustTag(t, "127.0.0.1:5000/a:latest")}, Insecure: true}, map[string]string{
			"name": "127.0.0.1:5000/a:1,127.0.0.1:5000/a:latest", "push": "true", "oci-mediatypes": "true",
		}},
		{"TLS verification skipped", Request{Tags: []name.Tag{mustTag(t, "reg.example/a:1")}, SkipTLSVerify: true}, map[string]string{
			"name": "reg.example/a:1", "push": "true", "oci-mediatypes": "true", "registry.insecure": "true",
		}},
		{"push by digest: each repository once, no tag", Request{Tags: []name.Tag{mustTag(t, "reg.example/a:1"), mustTag(t, "reg.example/a:latest"), mustTag(t, "reg.example/b:1")}, PushByDigest: true}, map[string]string{
			"name": "reg.example/a,reg.example/b", "push": "true", "oci-mediatypes": "true", "push-by-digest": "true",
		}},
		// index: on a single platform is refused (TestIndexAnnotationSinglePlatform).
		{"annotations single platform", Request{Tags: []name.Tag{mustTag(t, "reg.example/a:1")}, Annotations: []string{"k=v", "manifest:m=n"}}, map[string]string{
			"name": "reg.example/a:1", "push": "true", "oci-mediatypes": "true", "annotation.k": "v", "annotation.m": "n",
		}},
		{"annotations multi platform", Request{Tags: []name.Tag{mustTag(t, "reg.example/a:1")}, Platforms: []string{"linux/amd64", "linux/386"}, Annotations: []string{"k=v", "manifest:m=n"}}, map[string]string{
			"name": "reg.example/a:1", "push": "true", "oci-mediatypes": "true", "annotation.k": "v", "annotation-index.k": "v", "annotation.m": "n",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.req.exportAttrs(); !maps.Equal(got, tt.want) {
				t.Errorf("exportAttrs() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tags := []name.Tag{mustTag(t, "reg.example/a:1")}
	tests := []struct {
		name    string
		req     Request
		wantErr string
	}{
		{"ok", Request{ContextDir: dir, Tags: tags}, ""},
		{"no context", Request{Tags: tags}, "no build context"},
		{"missing context", Request{ContextDir: filepath.Join(dir, "nope"), Tags: tags}, "is not a directory"},
		{"missing dockerfile", Request{ContextDir: dir, Dockerfile: filepath.Join(dir, "Nope"), Tags: tags}, "Dockerfile"},
		{"no tags", Request{ContextDir: dir}, "no image tag"},
		{"bad platform", Request{ContextDir: dir, Tags: tags, Platforms: []string{"linux/amd64/v2/x"}}, "invalid {builder.Request.Platforms}"},
		{"bad build arg", Request{ContextDir: dir, Tags: tags, BuildArgs: []string{"NOVALUE"}}, "KEY=VALUE"},
		{"empty label key", Request{ContextDir: dir, Tags: tags, Labels: []string{"=v"}}, "KEY=VALUE"},
		{"bad annotation", Request{ContextDir: dir, Tags: tags, Annotations: []string{"index:novalue"}}, "invalid {builder.Request.Annotations}"},
		{"cache-from without type", Request{ContextDir: dir, Tags: tags, CacheFrom: []string{"ref=x"}}, "invalid {builder.Request.CacheFrom}"},
		{"cache-to without type", Request{ContextDir: dir, Tags: tags, CacheTo: []string{"reg.example/cache"}}, "invalid {builder.Request.CacheTo}"},
		{"loopback registry not insecure", Request{ContextDir: dir, Tags: []name.Tag{mustTag(t, "127.0.0.1:5000/a:1")}}, "{builder.Request.Insecure} 127.0.0.1:5000"},
		{"localhost registry not insecure", Request{ContextDir: dir, Tags: []name.Tag{mustTag(t, "localhost/a:1")}}, "plain HTTP"},
		{"loopback registry insecure", Request{ContextDir: dir, Tags: []name.Tag{mustTag(t, "127.0.0.1:5000/a:1")}, Insecure: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "localhost:5000": true, "127.0.0.1": true, "127.0.0.1:5000": true, "127.1.2.3:80": true,
		"[::1]:5000": true, "::1": true, "reg.example": false, "10.0.0.1:5000": false, "192.168.1.1": false, "localhost.example:5000": false,
	} {
		if got := loopback(host); got != want {
			t.Errorf("loopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestSolveOptRejectsBadSecretAndCache(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		req     Request
		wantErr string
	}{
		{"secret without id", Request{ContextDir: dir, Secrets: []string{"src=/etc/hostname,foo=bar"}}, "{builder.Request.Secrets}"},
		{"cache-to unknown key", Request{ContextDir: dir, CacheTo: []string{"type=registry,ref"}}, "{builder.Request.CacheTo}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.req.solveOpt()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("solveOpt() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestIndexAnnotationSinglePlatform: a single-platform image without
// provenance has no index, and buildkitd refuses index annotations only
// after building it; the request is refused before. With provenance
// BuildKit pushes an index (its attestation manifests in it): unprefixed
// annotations go on it too.
func TestIndexAnnotationSinglePlatform(t *testing.T) {
	for _, tc := range []struct {
		platforms  []string
		provenance bool
		wantErr    bool
	}{
		{nil, false, true},
		{[]string{"linux/amd64"}, false, true},
		{[]string{"linux/amd64", "linux/386"}, false, false},
		{nil, true, false},
		{[]string{"linux/amd64"}, true, false},
	} {
		r := Request{Platforms: tc.platforms}
		if tc.provenance {
			r.Provenance = &Provenance{}
		}
		_, err := annotationAttrs([]string{"index:i=j"}, r.pushesIndex())
		if (err != nil) != tc.wantErr {
			t.Errorf("platforms %v, provenance %v: error %v, want error %v", tc.platforms, tc.provenance, err, tc.wantErr)
		}
		attrs, err := annotationAttrs([]string{"k=v"}, r.pushesIndex())
		if err != nil {
			t.Fatal(err)
		}
		if _, onIndex := attrs["annotation-index.k"]; onIndex != !tc.wantErr || attrs["annotation.k"] != "v" {
			t.Errorf("platforms %v, provenance %v: an unprefixed annotation goes to %v", tc.platforms, tc.provenance, attrs)
		}
	}
}
