package doctor_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	ggcr "github.com/google/go-containerregistry/pkg/registry"

	"github.com/hallmark-dev/hallmark/doctor"
	"github.com/hallmark-dev/hallmark/registry"
)

func TestRegistryReferrers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		referrers bool
		push      bool // push an image first, so the repository exists
		supported string
		status    doctor.Status
		detail    string
	}{
		{"supported", true, true, "true", doctor.StatusOK, "referrers API supported"},
		{"not supported", false, true, "false", doctor.StatusOK, "fallback tag"},
		{"not supported, new repository", false, false, "false", doctor.StatusOK, "fallback tag"},
		// Nothing to ask about yet: never "ok" for what was not probed.
		{"supported, new repository", true, false, "unknown", doctor.StatusSkip, "not checked: the repository does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			host := newRegistry(t, tc.referrers)
			if tc.push {
				pushRandom(t, host+"/group/app:v1")
			}
			o := offline(t)
			o.Registry = registry.New(registry.Config{Insecure: []string{host}})
			o.Image = host + "/group/app"
			r := doctor.Run(t.Context(), o)
			wantCheck(t, mustCheck(t, r, doctor.CheckRegistry), doctor.StatusOK, []string{host, "http"})
			wantCheck(t, mustCheck(t, r, doctor.CheckPush), doctor.StatusOK, []string{"anonymous push to group/app allowed"})
			refs := mustCheck(t, r, doctor.CheckReferrers)
			wantCheck(t, refs, tc.status, []string{tc.detail})
			if refs.Facts["supported"] != tc.supported {
				t.Errorf("supported = %q, want %q", refs.Facts["supported"], tc.supported)
			}
		})
	}
}

// authRegistry serves an in-memory registry behind basic auth: user
// "writer" may push, "reader" may only pull.
func authRegistry(t *testing.T) string {
	t.Helper()
	reg := ggcr.New(ggcr.WithReferrersSupport(true), ggcr.Logger(log.New(io.Discard, "", 0)))
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || pass != "s3cret-Pa55" || (user != "writer" && user != "reader") {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		if user == "reader" && r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`, http.StatusForbidden)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

func TestRegistryCredentials(t *testing.T) {
	host := authRegistry(t)
	for _, tc := range []struct {
		name, user, pass string
		status           doctor.Status
		detail, hint     []string
	}{
		{"accepted", "writer", "s3cret-Pa55", doctor.StatusOK, []string{"credentials from TEST_REGISTRY_CREDS may push to group/app"}, nil},
		{"read only", "reader", "s3cret-Pa55", doctor.StatusFail, []string{"refused a push", "403", "TEST_REGISTRY_CREDS"}, []string{"lack push access"}},
		{"wrong password", "writer", "wrong-Pa55", doctor.StatusFail, []string{"refused a push", "401", "TEST_REGISTRY_CREDS"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := offline(t)
			o.Registry = registry.New(registry.Config{Insecure: []string{host}, Credentials: []registry.Credential{
				{Registry: host, Username: tc.user, Password: tc.pass, Source: "TEST_REGISTRY_CREDS"}}})
			o.Image = host + "/group/app"
			r := doctor.Run(t.Context(), o)
			wantCheck(t, mustCheck(t, r, doctor.CheckRegistry), doctor.StatusOK, nil)
			push := mustCheck(t, r, doctor.CheckPush)
			wantCheck(t, push, tc.status, tc.detail, tc.hint...)
			if push.Facts["credentials"] != "TEST_REGISTRY_CREDS" {
				t.Errorf("credentials fact %q, want the source label", push.Facts["credentials"])
			}
			if tc.status == doctor.StatusFail && r.OK() {
				t.Error("report OK despite a failed push check")
			}
			noSecret(t, r, tc.pass)
		})
	}
}

func TestRegistryUnreachableOrMissing(t *testing.T) {
	for _, tc := range []struct {
		name, image string
		insecure    []string
		status      doctor.Status
		detail      []string
		hint        string
	}{
		{"no image", "", nil, doctor.StatusSkip, []string{"no image repository", "{doctor.Options.Image}"}, ""},
		{"nothing listening", "127.0.0.1:1/group/app", []string{"127.0.0.1:1"}, doctor.StatusFail, []string{"cannot reach 127.0.0.1:1"}, "network"},
		{"plain HTTP not allowed", "127.0.0.1:1/group/app", nil, doctor.StatusFail, []string{"cannot reach 127.0.0.1:1"}, "{registry.Config.Insecure} 127.0.0.1:1"},
		{"bad repository", "127.0.0.1:1/Group/App:tag", nil, doctor.StatusFail, []string{"invalid repository"}, "REGISTRY/REPOSITORY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := offline(t)
			o.Registry = registry.New(registry.Config{Insecure: tc.insecure})
			o.Image = tc.image
			r := doctor.Run(t.Context(), o)
			wantCheck(t, mustCheck(t, r, doctor.CheckRegistry), tc.status, tc.detail, tc.hint)
			for _, name := range []string{doctor.CheckPush, doctor.CheckReferrers} {
				if c := mustCheck(t, r, name); c.Status != doctor.StatusSkip {
					t.Errorf("%s: status %s, want skip after the registry check", name, c.Status)
				}
			}
		})
	}
}
