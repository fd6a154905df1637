package pool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hallmark-dev/hallmark/builder"
)

// declared is a pool of nodes that declare their platforms: nothing is
// contacted.
func declared(t *testing.T, nodes map[string][]string) *Pool {
	t.Helper()
	var ns []Node
	for name, ps := range nodes {
		ns = append(ns, Node{Name: name, Connect: builder.ConnectOptions{Addr: "unix:///nonexistent/" + name + ".sock"}, Platforms: ps})
	}
	p, err := Discover(t.Context(), ns, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCandidates: a platform goes only to nodes that build it natively,
// all of them, in rendezvous order; none is ErrNoNode naming the nodes.
func TestCandidates(t *testing.T) {
	p := declared(t, map[string][]string{
		"amd":   {"linux/amd64"},
		"arm":   {"linux/arm64"},
		"both":  {"linux/amd64", "linux/arm64"},
		"riscv": {"linux/riscv64"},
	})
	k := Key{Repository: "r.example/app", Context: ".", Dockerfile: "Dockerfile"}
	tests := []struct {
		platform string
		want     []string // as a set
		err      error
	}{
		{"linux/amd64", []string{"amd", "both"}, nil},
		{"linux/386", []string{"amd", "both"}, nil}, // amd64 runs 386 natively
		{"linux/arm64", []string{"arm", "both"}, nil},
		{"linux/arm64/v8", []string{"arm", "both"}, nil}, // normalised
		{"linux/riscv64", []string{"riscv"}, nil},
		{"linux/s390x", nil, ErrNoNode},
		{"windows/amd64", nil, ErrNoNode},
	}
	for _, tt := range tests {
		t.Run(tt.platform, func(t *testing.T) {
			got, err := p.Candidates(k, tt.platform)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "riscv linux/riscv64") {
					t.Errorf("error %q does not list the nodes", err)
				}
				return
			}
			if !slices.Equal(slices.Sorted(slices.Values(got)), tt.want) {
				t.Errorf("candidates %v, want %v", got, tt.want)
			}
			if want := Rank(tt.want, k, strings.TrimSuffix(tt.platform, "/v8")); !slices.Equal(got, want) {
				t.Errorf("order %v, want the rendezvous order %v", got, want)
			}
		})
	}
}

// TestRankGolden pins the hash: a change would move every project away
// from its cache, so it must be deliberate.
func TestRankGolden(t *testing.T) {
	nodes := []string{"bk-0", "bk-1", "bk-2", "bk-3"}
	tests := []struct {
		key      Key
		platform string
		want     string
	}{
		{Key{"ghcr.io/acme/api", ".", "Dockerfile", ""}, "linux/amd64", "bk-2"},
		{Key{"ghcr.io/acme/api", ".", "Dockerfile", ""}, "linux/arm64", "bk-2"},
		{Key{"ghcr.io/acme/web", ".", "Dockerfile", ""}, "linux/amd64", "bk-1"},
		{Key{"ghcr.io/acme/api", ".", "Dockerfile", "debug"}, "linux/amd64", "bk-0"},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			got := Rank(nodes, tt.key, tt.platform)
			if got[0] != tt.want {
				t.Errorf("Rank = %v, want %s first", got, tt.want)
			}
			// The order does not depend on the order the nodes are given in.
			rev := slices.Clone(nodes)
			slices.Reverse(rev)
			if again := Rank(rev, tt.key, tt.platform); !slices.Equal(again, got) {
				t.Errorf("reversed input: %v, want %v", again, got)
			}
		})
	}
}

// keys are n distinct projects.
func keys(n int) []Key {
	out := make([]Key, n)
	for i := range out {
		out[i] = Key{Repository: fmt.Sprintf("registry.example/group/project-%d", i), Context: ".", Dockerfile: "Dockerfile"}
	}
	return out
}

func nodeNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("buildkitd-%d", i)
	}
	return out
}

// TestRankRebalancing: when a node leaves, only its projects move (to
// the others, evenly enough); when one joins, only the projects that move
// to it move, about 1/(n+1) of them; the load is spread evenly.
func TestRankRebalancing(t *testing.T) {
	const projects = 2000
	tests := []struct{ nodes int }{{3}, {5}, {10}}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.nodes), func(t *testing.T) {
			names := nodeNames(tt.nodes)
			before := map[Key]string{}
			load := map[string]int{}
			for _, k := range keys(projects) {
				before[k] = Rank(names, k, "linux/amd64")[0]
				load[before[k]]++
			}
			fair := projects / tt.nodes
			for n, l := range load {
				if l < fair*7/10 || l > fair*13/10 {
					t.Errorf("node %s builds %d projects, want about %d", n, l, fair)
				}
			}
			gone := names[1]
			without := slices.Delete(slices.Clone(names), 1, 2)
			joined := append(slices.Clone(names), "buildkitd-new")
			moved := 0
			for k, was := range before {
				now := Rank(without, k, "linux/amd64")[0]
				if was != gone && now != was {
					t.Fatalf("%v moved from %s to %s when %s left", k, was, now, gone)
				}
				if now = Rank(joined, k, "linux/amd64")[0]; now != was {
					moved++
					if now != "buildkitd-new" {
						t.Fatalf("%v moved from %s to %s when buildkitd-new joined", k, was, now)
					}
				}
			}
			want := projects / (tt.nodes + 1)
			if moved < want*7/10 || moved > want*13/10 {
				t.Errorf("%d projects moved to the new node, want about %d", moved, want)
			}
		})
	}
}

// TestLoadFile reads YAML and JSON builder files: relative TLS paths are
// the file's, the defaults' TLS goes to tcp:// nodes only, max-load-factor
// is the balance (absent: off); bad files are one clear error.
func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	defaults := builder.ConnectOptions{TLS: builder.TLS{CACert: "/d/ca.pem", Cert: "/d/c.pem", Key: "/d/k.pem"}}
	tests := []struct {
		name, content string
		want          []Node
		err           string
		factor        float64
	}{
		{"yaml", "nodes:\n  - addr: tcp://10.0.0.1:1234\n    name: amd-1\n    tls: {cacert: ca.pem, cert: c.pem, key: k.pem}\n  - addr: unix:///run/bk.sock\n    platforms: [linux/arm64]\n  - addr: tcp://10.0.0.2:1234\n",
			[]Node{
				{Name: "amd-1", Connect: builder.ConnectOptions{Addr: "tcp://10.0.0.1:1234", TLS: builder.TLS{CACert: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "c.pem"), Key: filepath.Join(dir, "k.pem")}}},
				{Connect: builder.ConnectOptions{Addr: "unix:///run/bk.sock"}, Platforms: []string{"linux/arm64"}},
				{Connect: builder.ConnectOptions{Addr: "tcp://10.0.0.2:1234", TLS: defaults.TLS}},
			}, "", 0},
		{"json", `{"nodes": [{"addr": "unix:///a.sock", "platforms": ["linux/amd64", "linux/386"]}]}`,
			[]Node{{Connect: builder.ConnectOptions{Addr: "unix:///a.sock"}, Platforms: []string{"linux/amd64", "linux/386"}}}, "", 0},
		{"balanced", "max-load-factor: 1.25\nnodes: [{addr: unix:///a.sock}]\n",
			[]Node{{Connect: builder.ConnectOptions{Addr: "unix:///a.sock"}}}, "", 1.25},
		{"balance off", "max-load-factor: 0\nnodes: [{addr: unix:///a.sock}]\n",
			[]Node{{Connect: builder.ConnectOptions{Addr: "unix:///a.sock"}}}, "", 0},
		{"factor under 1", "max-load-factor: 0.8\nnodes: [{addr: unix:///a.sock}]\n", nil, "max-load-factor is 0.8: want 0 (off) or at least 1", 0},
		{"factor not a number", "max-load-factor: high\nnodes: [{addr: unix:///a.sock}]\n", nil, "into float64", 0},
		{"empty", "nodes: []\n", nil, "lists no nodes", 0},
		{"no addr", "nodes:\n  - name: x\n", nil, "node 1 has no addr", 0},
		{"unknown field", "nodes:\n  - adr: unix:///a.sock\n", nil, "field adr not found", 0},
		{"not yaml", "nodes: [\n", nil, "builder file", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, balance, err := LoadFile(path, defaults)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %v, want one line with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				tt.want[i].File = path // messages name the node's fields in it
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("nodes\n%+v\nwant\n%+v", got, tt.want)
			}
			if balance != (Balance{MaxLoadFactor: tt.factor}) {
				t.Errorf("balance %+v, want max load factor %g", balance, tt.factor)
			}
		})
	}
}

// TestBuildSkipsUnreachable: nodes that cannot be reached are skipped in
// their order and named; with none left the error says so. With the test
// bed up, the bed's buildkitd takes over, and a build error there is not
// retried on the next node.
func TestBuildSkipsUnreachable(t *testing.T) {
	dead := func(name string) Node {
		return Node{Name: name, Connect: builder.ConnectOptions{Addr: "unix://" + filepath.Join(t.TempDir(), name+".sock")}, Platforms: []string{"linux/amd64"}}
	}
	nodes := []Node{dead("a"), dead("b")}
	p, err := Discover(t.Context(), nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := Key{Repository: "r/app"}
	called := 0
	_, err = p.Build(t.Context(), k, "linux/amd64", func(context.Context, *builder.Builder) error { called++; return nil })
	if err == nil || !builder.IsTransport(err) || !strings.Contains(err.Error(), "every node that builds it failed") || called != 0 {
		t.Fatalf("every node down: %v (build called %d times)", err, called)
	}
	addr := os.Getenv("HALLMARK_TEST_BUILDKIT_UNIX")
	if addr == "" {
		t.Log("test bed not up: the live part is skipped")
		return
	}
	live := Node{Name: "live", Connect: builder.ConnectOptions{Addr: addr}}
	// Discovery finds the live node's platforms and leaves the dead one down.
	p, err = Discover(t.Context(), []Node{live, {Name: "gone", Connect: dead("gone").Connect}, dead("a")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if down := p.Down(); len(down) != 1 || down[0].Node != "gone" || !strings.Contains(down[0].Err, "cannot reach buildkitd") {
		t.Errorf("down %v, want gone only", down)
	}
	order, err := p.Candidates(k, "linux/amd64")
	if err != nil || len(order) != 2 {
		t.Fatalf("candidates %v, %v", order, err)
	}
	buildErr := errors.New("RUN failed")
	for _, want := range []error{nil, buildErr} {
		calls := 0
		placed, err := p.Build(t.Context(), k, "linux/amd64", func(context.Context, *builder.Builder) error { calls++; return want })
		if !errors.Is(err, want) || want == nil && err != nil || placed.Node != "live" || calls != 1 {
			t.Errorf("build returning %v: placed %+v, err %v, %d calls; want it on live, once", want, placed, err, calls)
		}
		if order[0] == "a" && (len(placed.Skipped) != 1 || placed.Skipped[0].Node != "a") {
			t.Errorf("skipped %+v, want a", placed.Skipped)
		}
	}
}
