package doctor_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/doctor"
	"github.com/hallmark-dev/hallmark/registry"
)

func TestBuildkitdUnreachable(t *testing.T) {
	runtimeDir := t.TempDir()
	if _, err := os.Stat(builder.RootfulSocket); err == nil {
		t.Logf("%s exists; the discovery case may find it", builder.RootfulSocket)
	}
	for _, tc := range []struct {
		name   string
		opts   builder.ConnectOptions
		detail []string
		hint   []string
	}{
		{"no socket at the address", builder.ConnectOptions{Addr: "unix://" + filepath.Join(runtimeDir, "nope.sock")},
			[]string{"cannot reach buildkitd at unix://"}, []string{"rootlesskit buildkitd", "{builder.ConnectOptions.Addr}", "XDG_RUNTIME_DIR"}},
		{"no default socket", builder.ConnectOptions{RuntimeDir: runtimeDir},
			[]string{"no buildkitd found", filepath.Join(runtimeDir, "buildkit", "buildkitd.sock")},
			[]string{"rootlesskit buildkitd", filepath.Join(runtimeDir, "buildkit", "buildkitd.sock"), "{builder.ConnectOptions.Addr}"}},
		{"tcp without TLS", builder.ConnectOptions{Addr: "tcp://127.0.0.1:1"}, []string{"tcp without TLS"},
			[]string{"needs mutual TLS", "{builder.TLS.CACert}", "{builder.ConnectOptions.AllowInsecureTCP}"}},
		{"plain tcp allowed, nothing listening", builder.ConnectOptions{Addr: "tcp://127.0.0.1:1", AllowInsecureTCP: true}, []string{"127.0.0.1:1"},
			[]string{"check that buildkitd listens on tcp://127.0.0.1:1", "if it serves TLS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.Addr == "" {
				if _, err := os.Stat(builder.RootfulSocket); err == nil {
					t.Skipf("%s exists here", builder.RootfulSocket)
				}
			}
			o := offline(t)
			o.Buildkit = tc.opts
			r := doctor.Run(t.Context(), o)
			c := mustCheck(t, r, doctor.CheckBuildkitd)
			wantCheck(t, c, doctor.StatusFail, tc.detail, tc.hint...)
			if c.Stage != doctor.StageBuild {
				t.Errorf("stage %s, want build", c.Stage)
			}
			if want := tc.opts.Addr == ""; c.Facts["discovered"] != map[bool]string{true: "true", false: "false"}[want] {
				t.Errorf("discovered = %q, want %v", c.Facts["discovered"], want)
			}
		})
	}
}

func TestReport(t *testing.T) {
	host := newRegistry(t, true)
	o := offline(t)
	o.Registry = registry.New(registry.Config{Insecure: []string{host}})
	o.Image = host + "/group/app"
	r := doctor.Run(t.Context(), o)
	var names []string
	for _, c := range r.Checks {
		names = append(names, c.Name)
	}
	want := []string{doctor.CheckBuildkitd, doctor.CheckRegistry, doctor.CheckPush, doctor.CheckReferrers,
		doctor.CheckSigning, doctor.CheckTrust, doctor.CheckOIDC, doctor.CheckFulcio, doctor.CheckCTLog, doctor.CheckRekor, doctor.CheckTSA, doctor.CheckInsecure}
	if !slices.Equal(names, want) {
		t.Fatalf("checks %v, want %v", names, want)
	}
	if r.OK() {
		t.Error("OK with an unreachable buildkitd and no signing material")
	}
	var failed []string
	for _, c := range r.Failed() {
		failed = append(failed, c.Name)
	}
	if !slices.Equal(failed, []string{doctor.CheckBuildkitd, doctor.CheckSigning, doctor.CheckTrust, doctor.CheckFulcio}) {
		t.Errorf("failed %v", failed)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name, Stage, Status, Detail, Hint string
			Facts                             map[string]string
		} `json:"checks"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.OK || len(got.Checks) != len(want) || got.Checks[3].Facts["supported"] != "unknown" || got.Checks[0].Stage != "build" {
		t.Errorf("JSON %s", b)
	}

	if !(doctor.Report{Checks: []doctor.Check{{Status: doctor.StatusOK}, {Status: doctor.StatusWarn}, {Status: doctor.StatusSkip}}}).OK() {
		t.Error("warnings and skips must not fail the report")
	}
	if b, _ := json.Marshal(doctor.Report{}); string(b) != `{"ok":true,"checks":[]}` {
		t.Errorf("empty report JSON %s", b)
	}
}
