package cli

import (
	"errors"
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
			nodes, err := tt.g.pool()
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
