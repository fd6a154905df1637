package registry

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/internal/testutil"
)

func TestParse(t *testing.T) {
	r := New(Config{Insecure: []string{"127.0.0.1:5000", "http://local.test/"}})
	tests := []struct {
		in, kind   string
		wantErr    string
		wantScheme string
	}{
		{"registry.example/group/app:abc123", "tag", "", "https"},
		{"127.0.0.1:5000/group/app:1", "tag", "", "http"},
		{"local.test/app:1", "tag", "", "http"},
		{"localhost/app:1", "tag", "", "https"},
		{"registry.example/group/app@sha256:21e7424d66ab5dddc7c744ba22d7a6358bb676fb4d37d7f01452c85da38cb030", "ref", "", "https"},
		{"registry.example/group/app", "tag", "invalid image reference", ""},
		{"app:1", "tag", "name the registry", ""},
		{"", "tag", "empty image reference", ""},
		{"registry.example/Group/App:1", "tag", "invalid image reference", ""},
		{"registry.example/app:bad tag", "tag", "invalid image reference", ""},
		{"registry.example/app:1", "digest", "no digest", ""},
		{"registry.example/app@sha256:abc", "digest", "invalid image digest", ""},
		{"registry.example/group/app", "repo", "", "https"},
		{"127.0.0.1:5000/app", "repo", "", "http"},
		{"app", "repo", "name the registry", ""},
	}
	for _, tt := range tests {
		t.Run(tt.kind+" "+tt.in, func(t *testing.T) {
			var reg name.Registry
			var err error
			switch tt.kind {
			case "tag":
				var tag name.Tag
				tag, err = r.ParseTag(tt.in)
				reg = tag.Registry
			case "ref":
				var ref name.Reference
				ref, err = r.ParseReference(tt.in)
				if err == nil {
					reg = ref.Context().Registry
				}
			case "digest":
				var d name.Digest
				d, err = r.ParseDigest(tt.in)
				reg = d.Registry
			case "repo":
				var repo name.Repository
				repo, err = r.ParseRepository(tt.in)
				reg = repo.Registry
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := reg.Scheme(); got != tt.wantScheme {
				t.Errorf("scheme = %s, want %s", got, tt.wantScheme)
			}
		})
	}
	if _, err := r.ParseDigest("registry.example/app:1"); !errors.Is(err, ErrNotDigest) {
		t.Errorf("ParseDigest(tag) = %v, want ErrNotDigest", err)
	}
}

func TestCredentialNeverPrintsSecret(t *testing.T) {
	c := Credential{Registry: "registry.example", Username: "gitlab-ci-token", Password: "s3cr3t-token", Source: "CI_JOB_TOKEN"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		if out := fmt.Sprintf(verb, c); strings.Contains(out, "s3cr3t") {
			t.Errorf("%s prints the secret: %s", verb, out)
		}
	}
	if !strings.Contains(c.String(), "CI_JOB_TOKEN") {
		t.Errorf("String() = %q, want the source", c.String())
	}
}

func TestStaticCredentials(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	r := New(Config{Credentials: []Credential{{Registry: "registry.example", Username: "u", Password: "p", Source: "CI_REGISTRY_USER/CI_REGISTRY_PASSWORD"}}})
	a, err := r.Keychain().Resolve(registryResource("registry.example"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := a.Authorization()
	if err != nil || cfg.Username != "u" || cfg.Password != "p" {
		t.Fatalf("static credential not used: %+v, %v", cfg, err)
	}
	if a, _ := r.Keychain().Resolve(registryResource("other.example")); a != authn.Anonymous {
		t.Errorf("other registry resolved to %v, want anonymous", a)
	}
	if got := r.CredentialSource("registry.example"); got != "CI_REGISTRY_USER/CI_REGISTRY_PASSWORD" {
		t.Errorf("CredentialSource = %q", got)
	}
	if got := r.CredentialSource("other.example"); got != "none (anonymous)" {
		t.Errorf("CredentialSource(other) = %q", got)
	}
}

// TestRemoteOptionsReachRegistry pushes and reads an image through the
// options against an in-memory registry with basic auth.
func TestRemoteOptionsReachRegistry(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	srv := httptest.NewServer(ggcrregistry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	r := New(Config{Insecure: []string{host}, UserAgent: "hallmark/test"})
	tag, err := r.ParseTag(host + "/group/app:1")
	if err != nil {
		t.Fatal(err)
	}
	want := testutil.PushRandom(t, tag, r.RemoteOptions(t.Context())...)
	desc, err := remote.Head(tag, r.RemoteOptions(t.Context())...)
	if err != nil || desc.Digest.String() != want.DigestStr() {
		t.Fatalf("head = %v, %v; want %s", desc, err, want)
	}

	// ggcr would fall back to plain HTTP for a loopback registry by itself;
	// hallmark refuses unless the host is named insecure.
	strict := New(Config{})
	tag2, err := strict.ParseTag(host + "/group/app:1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Head(tag2, strict.RemoteOptions(t.Context())...)
	if !errors.Is(err, ErrPlainHTTP) || !strings.Contains(err.Error(), "{registry.Config.Insecure} "+host) {
		t.Fatalf("plain HTTP to a registry not named insecure: err = %v, want ErrPlainHTTP naming registry.Config.Insecure", err)
	}
}
