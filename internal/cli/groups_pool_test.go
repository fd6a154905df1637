package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/ci"
	"github.com/hallmark-dev/hallmark/release"
)

// TestRegistryCacheDefault: the registry cache is on in CI only, off with
// --ci-cache=false, and replaced by hand-written cache flags or --no-cache.
func TestRegistryCacheDefault(t *testing.T) {
	gitlab := ci.Detect(func(k string) string { return map[string]string{"GITLAB_CI": "true"}[k] })
	tests := []struct {
		name  string
		env   ci.Env
		flag  bool
		build buildGroup
		want  bool
	}{
		{"gitlab", gitlab, true, buildGroup{}, true},
		{"outside CI", ci.Env{}, true, buildGroup{}, false},
		{"--ci-cache=false", gitlab, false, buildGroup{}, false},
		{"--cache-from", gitlab, true, buildGroup{cacheFrom: []string{"type=local,src=/c"}}, false},
		{"--cache-to", gitlab, true, buildGroup{cacheTo: []string{"type=local,dest=/c"}}, false},
		{"--no-cache", gitlab, true, buildGroup{noCache: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := cacheGroup{ciCache: tt.flag}
			if got := g.registryCache(tt.env, tt.build); got != tt.want {
				t.Errorf("registryCache = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestConnectPool: one --addr is one buildkitd as before; several are a
// pool, the TLS flags going to the tcp:// ones; --builders with --addr,
// and a pool for build or doctor, are usage errors.
func TestConnectPool(t *testing.T) {
	tls := connectGroup{caCert: "ca.pem", cert: "c.pem", key: "k.pem"}
	tests := []struct {
		name   string
		g      connectGroup
		nodes  int
		tlsOn  []bool
		usage  bool
		single bool // connect.single accepts it
	}{
		{"none", connectGroup{}, 0, nil, false, true},
		{"one", connectGroup{addrs: []string{"tcp://a:1"}}, 0, nil, false, true},
		{"two", connectGroup{addrs: []string{"tcp://a:1", "unix:///b.sock"}, caCert: tls.caCert, cert: tls.cert, key: tls.key}, 2, []bool{true, false}, false, false},
		{"builders and addr", connectGroup{addrs: []string{"tcp://a:1"}, builders: "/nonexistent.yaml"}, 0, nil, true, false},
		{"missing builders file", connectGroup{builders: "/nonexistent.yaml"}, 0, nil, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes, _, err := tt.g.pool()
			var re *release.Error
			if tt.usage != (err != nil && errors.As(err, &re) && re.Stage == release.StageUsage) {
				t.Fatalf("pool() error %v, want usage error %v", err, tt.usage)
			}
			if len(nodes) != tt.nodes {
				t.Fatalf("%d nodes, want %d", len(nodes), tt.nodes)
			}
			for i, n := range nodes {
				if got := n.Connect.TLS.CACert != ""; got != tt.tlsOn[i] {
					t.Errorf("node %s: TLS %v, want %v", n.Connect.Addr, got, tt.tlsOn[i])
				}
			}
			if err := tt.g.single("build"); (err == nil) != tt.single {
				t.Errorf("single: %v, want accepted %v", err, tt.single)
			}
		})
	}
}

// TestConnectPoolBalance: --max-load-factor sets the pool's balance,
// replacing the builder file's (off turns the file's off); without it the
// file's holds; a bad factor is a usage error naming the flag.
func TestConnectPoolBalance(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "builders.yaml")
	if err := os.WriteFile(file, []byte("max-load-factor: 1.5\nnodes: [{addr: unix:///a.sock}, {addr: unix:///b.sock}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addrs := []string{"unix:///a.sock", "unix:///b.sock"}
	tests := []struct {
		name     string
		g        connectGroup
		want     float64
		usageErr string
	}{
		{"addrs, no flag: off", connectGroup{addrs: addrs}, 0, ""},
		{"addrs, flag", connectGroup{addrs: addrs, maxLoadFactor: "1.25"}, 1.25, ""},
		{"file", connectGroup{builders: file}, 1.5, ""},
		{"file, flag replaces", connectGroup{builders: file, maxLoadFactor: "1.1"}, 1.1, ""},
		{"file, flag off", connectGroup{builders: file, maxLoadFactor: "off"}, 0, ""},
		{"file, flag 0", connectGroup{builders: file, maxLoadFactor: "0"}, 0, ""},
		{"under 1", connectGroup{addrs: addrs, maxLoadFactor: "0.9"}, 0, "--max-load-factor is 0.9: want 0 (off) or at least 1"},
		{"not a number", connectGroup{addrs: addrs, maxLoadFactor: "high"}, 0, `--max-load-factor "high" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, b, err := tt.g.pool()
			if tt.usageErr != "" {
				var re *release.Error
				if err == nil || !errors.As(err, &re) || re.Stage != release.StageUsage || !strings.Contains(renderOptions(err.Error()), tt.usageErr) {
					t.Fatalf("error %v, want a usage error with %q", err, tt.usageErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.MaxLoadFactor != tt.want {
				t.Errorf("max load factor %g, want %g", b.MaxLoadFactor, tt.want)
			}
		})
	}
}

// TestUnusedBalance: --max-load-factor where there is no pool to balance
// (build, doctor, a release on one --addr or the default buildkitd) is a
// warning naming the flag, its value and the command; on a pool, or not
// given, nothing.
func TestUnusedBalance(t *testing.T) {
	two := []string{"unix:///a.sock", "unix:///b.sock"}
	tests := []struct {
		name, command string
		g             connectGroup
		want          string
	}{
		{"not given", "release", connectGroup{addrs: two[:1]}, ""},
		{"release, one --addr", "release", connectGroup{addrs: two[:1], maxLoadFactor: "1.25"},
			"--max-load-factor 1.25 has no effect: release runs on one buildkitd (the factor balances a release on several --addr or --builders)"},
		{"release, default buildkitd", "release", connectGroup{maxLoadFactor: "off"}, "--max-load-factor off has no effect: release runs on one buildkitd"},
		{"build", "build", connectGroup{addrs: two[:1], maxLoadFactor: "1.5"}, "--max-load-factor 1.5 has no effect: build runs on one buildkitd"},
		{"doctor", "doctor", connectGroup{maxLoadFactor: "2"}, "--max-load-factor 2 has no effect: doctor runs on one buildkitd"},
		{"release, several --addr", "release", connectGroup{addrs: two, maxLoadFactor: "1.25"}, ""},
		{"release, --builders", "release", connectGroup{builders: "/b.yaml", maxLoadFactor: "1.25"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.g.unusedBalance(tt.command)
			if (got == "") != (tt.want == "") || !strings.HasPrefix(got, tt.want) {
				t.Errorf("unusedBalance(%q) = %q, want %q", tt.command, got, tt.want)
			}
		})
	}
}
