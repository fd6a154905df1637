package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/builder/pool"
	"github.com/hallmark-dev/hallmark/internal/e2etest"
)

// poolRelease is release's JSON with what a pool adds.
type poolRelease struct {
	releaseJSON
	Nodes []struct {
		Platform, Node, Addr, Digest string
		Skipped                      []struct{ Node, Error string }
		Busy                         []struct {
			Node        string
			Builds, Cap int
		}
	}
	Down []struct{ Node, Error string }
	// Provenance is each platform's signed provenance (--provenance).
	Provenance []struct {
		Platform, Manifest, AttestationManifest, Attestation, Node string
	}
}

func parsePoolRelease(t *testing.T, r result) poolRelease {
	t.Helper()
	e2etest.CheckSchema(t, "release.schema.json", []byte(r.Stdout))
	var rel poolRelease
	if err := json.Unmarshal([]byte(r.Stdout), &rel); err != nil {
		t.Fatalf("release stdout is not its JSON: %v\n%s", err, r)
	}
	return rel
}

// nodeOf maps each platform to the node that built it.
func (rel poolRelease) nodeOf() map[string]string {
	out := map[string]string{}
	for _, n := range rel.Nodes {
		out[n.Platform] = n.Node
	}
	return out
}

// poolPlatforms are the 4 platforms of the pool tests: linux/amd64 is
// built natively by the bed's three buildkitd, the others only by
// buildkitd-pool (--oci-worker-platform).
var poolPlatforms = []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/riscv64"}

// bedBuilders writes a builder file naming the bed's three buildkitd: the
// bed's over its unix socket, the rootless one, and buildkitd-pool over
// mutual TLS with the TLS files relative to the builder file.
func bedBuilders(t *testing.T, b testbed) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"HALLMARK_TEST_TLS_CA", "HALLMARK_TEST_TLS_CERT", "HALLMARK_TEST_TLS_KEY"} {
		e2etest.CopyFile(t, b.Getenv(f), filepath.Join(dir, strings.ToLower(strings.TrimPrefix(f, "HALLMARK_TEST_TLS_"))+".pem"))
	}
	content := fmt.Sprintf(`nodes:
  - name: bed
    addr: %s
  - name: rootless
    addr: %s
  - name: pool
    addr: %s
    tls: {cacert: ca.pem, cert: cert.pem, key: key.pem, servername: %s}
`, b.BuildkitUnix(), b.Getenv("HALLMARK_TEST_BUILDKIT_ROOTLESS"), b.Getenv("HALLMARK_TEST_BUILDKIT_POOL_TCP"), b.Getenv("HALLMARK_TEST_TLS_SERVERNAME"))
	path := filepath.Join(dir, "builders.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPoolRelease releases 4 platforms across the bed's three buildkitd
// (keyless, in a GitLab job): one index of the 4 platform manifests,
// tagged; the index and every platform signed, verified by hallmark and by
// cosign v3.1.3 and v2.6.5; linux/amd64 on the node rendezvous hashing
// picks, the others on the only node that builds them. A second release of
// the same project lands every platform on the same node again.
func TestPoolRelease(t *testing.T) {
	b := bed(t)
	t.Parallel()
	sign, trust := b.Sigstore()
	reg := b.PlainRegistry()
	ctxDir, df := buildContext(t, b)
	env, _ := keylessGitLabEnv(t, b, reg, nil)
	builders := bedBuilders(t, b)
	identity := env["CI_PROJECT_URL"] + "//.gitlab-ci.yml@refs/heads/main"
	key := pool.Key{Repository: env["CI_REGISTRY_IMAGE"], Context: ctxDir, Dockerfile: df}
	wantAMD := pool.Rank([]string{"bed", "rootless", "pool"}, key, "linux/amd64")[0]

	var first map[string]string
	for run, tag := range []string{"run1", "run2"} {
		args := append([]string{"release", "--builders", builders, "--insecure-registry", reg, "--context", ctxDir, "-f", df,
			"--platform", strings.Join(poolPlatforms, ","), "--tag", tag, "--progress", "plain",
			"--insecure-ignore-tlog", "--insecure-ignore-sct"}, sign...)
		r := hallmark(t, envList(env), args...)
		mustSucceed(t, r)
		rel := parsePoolRelease(t, r)
		nodes := rel.nodeOf()
		want := map[string]string{"linux/amd64": wantAMD, "linux/arm64": "pool", "linux/arm/v7": "pool", "linux/riscv64": "pool"}
		if !maps.Equal(nodes, want) {
			t.Errorf("run %d: nodes %v, want %v", run+1, nodes, want)
		}
		if run == 0 {
			first = nodes
		} else if !maps.Equal(nodes, first) {
			t.Errorf("the second release moved platforms: %v, then %v", first, nodes)
		}
		t.Logf("run %d: %s; nodes %v", run+1, rel.Image, nodes)

		// One index, tagged, of the 4 platforms' manifests.
		ref, err := name.ParseReference(rel.Tags[0], name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := remote.Index(ref)
		if err != nil {
			t.Fatalf("reading the tag %s: %v", ref, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := idx.Digest(); d.String() != rel.Digest {
			t.Errorf("tag %s is %s, want the released index %s", ref, d, rel.Digest)
		}
		var indexed []string
		for _, m := range im.Manifests {
			if m.Platform != nil && m.Annotations["vnd.docker.reference.type"] == "" {
				indexed = append(indexed, m.Platform.String())
			}
		}
		if !slices.Equal(slices.Sorted(slices.Values(indexed)), slices.Sorted(slices.Values(poolPlatforms))) {
			t.Errorf("index platforms %v, want %v", indexed, poolPlatforms)
		}

		// The index and every platform signed (with provenance, BuildKit's
		// attestation manifests follow), and verified by hallmark and by
		// the cosign CLIs.
		subjects := []string{rel.Digest}
		for _, p := range rel.Platforms {
			subjects = append(subjects, p.Digest)
		}
		var signed []string
		for _, s := range rel.Signatures {
			signed = append(signed, s.Digest)
		}
		attestations := len(rel.Provenance)
		if len(signed) != len(subjects)+attestations || !slices.Equal(signed[:len(signed)-attestations], subjects) {
			t.Fatalf("signed %v, want the index and each platform %v (and %d attestation manifests)", signed, subjects, attestations)
		}
		repo := env["CI_REGISTRY_IMAGE"]
		for _, d := range subjects {
			verify := append([]string{"verify", "--insecure-registry", reg, "--annotations", "tag=" + tag,
				"--certificate-identity", identity, "--certificate-oidc-issuer", b.Issuer()}, trust...)
			mustSucceed(t, hallmark(t, nil, append(verify, repo+"@"+d)...))
			if run == 0 {
				cosignVerify(t, b, "bundle", reg, repo+"@"+d, identity, "tag="+tag, trust)
			}
		}
	}
}

// poolKeyFirst returns a repository whose project ranks node first for
// platform among nodes, so that the test builds there first.
func poolKeyFirst(t *testing.T, reg, ctxDir, df, platform, node string, nodes []string) string {
	t.Helper()
	for range 100 {
		repo := uniqueRepo(t, reg)
		if pool.Rank(nodes, pool.Key{Repository: repo, Context: ctxDir, Dockerfile: df}, platform)[0] == node {
			return repo
		}
	}
	t.Fatalf("no repository of 100 ranks %s first", node)
	return ""
}

// TestPoolNodeDown: a node of the pool that is down before the release
// (a private buildkitd, killed), first in the project's order, is skipped
// and reported; the release completes on the bed's buildkitd. A node
// killed during its build (its RUN step running) fails over the same way:
// the platform is built again on the next node, and the release
// completes, signed and verified.
func TestPoolNodeDown(t *testing.T) {
	b := bed(t)
	tests := []struct {
		name   string
		during bool
	}{{"before", false}, {"during", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr, bk := privateBuildkitd(t, b)
			reg := b.PlainRegistry()
			dir := t.TempDir()
			e2etest.CopyFile(t, b.Getenv("HALLMARK_TEST_BUSYBOX"), filepath.Join(dir, "busybox"))
			marker := fmt.Sprintf("pool-node-down-%d", time.Now().UnixNano())
			df := filepath.Join(dir, "Dockerfile")
			content := "FROM scratch\nCOPY busybox /bin/busybox\n" +
				`RUN ["/bin/busybox", "sh", "-c", "/bin/busybox sleep 8; echo ` + marker + ` > /marker"]` + "\n"
			if err := os.WriteFile(df, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			repo := poolKeyFirst(t, reg, dir, df, "linux/amd64", addr, []string{addr, b.BuildkitUnix()})
			args, env := keyedRelease(t, addr, reg, dir, repo, "--addr", b.BuildkitUnix(), "-f", df, "--platform", "linux/amd64")
			var r result
			if tt.during {
				t.Cleanup(func() { killProcessesWith(marker) })
				h := startHallmark(t, env, args...)
				waitFor(t, time.Minute, "the RUN step on the private buildkitd", func() bool { return len(processesWith(marker)) > 0 || h.exited() })
				if h.exited() {
					t.Fatalf("release ended before its RUN step ran:\n%s", h.res)
				}
				bk.kill()
				r = h.wait(t, 2*time.Minute)
			} else {
				bk.kill()
				r = hallmark(t, env, args...)
			}
			mustSucceed(t, r)
			rel := parsePoolRelease(t, r)
			if len(rel.Nodes) != 1 || rel.Nodes[0].Node != b.BuildkitUnix() {
				t.Fatalf("nodes %+v, want linux/amd64 on %s", rel.Nodes, b.BuildkitUnix())
			}
			if tt.during {
				if s := rel.Nodes[0].Skipped; len(s) != 1 || s[0].Node != addr {
					t.Errorf("skipped %+v, want the killed %s", s, addr)
				}
			} else if len(rel.Down) != 1 || rel.Down[0].Node != addr {
				t.Errorf("down %+v, want %s", rel.Down, addr)
			}
			if len(rel.Signatures) != 2+len(rel.Provenance) || rel.Verified.Key == "" {
				t.Errorf("signatures %+v verified %+v: want the index and its platform (and its attestation manifest with provenance), verified", rel.Signatures, rel.Verified)
			}
			t.Logf("%s: %s", tt.name, lastLine(r.Stderr))
		})
	}
}

// TestCIRegistryCacheOnFreshBuildkitd: a release in a GitLab job exports
// the registry cache by default (IMAGE/buildcache:default); the next
// pipeline, on a fresh buildkitd that never saw the project, takes the
// expensive RUN step from it (CACHED).
func TestCIRegistryCacheOnFreshBuildkitd(t *testing.T) {
	b := bed(t)
	t.Parallel()
	reg := b.PlainRegistry()
	ctxDir, _ := buildContext(t, b)
	nonce := fmt.Sprintf("ci-cache-%d", time.Now().UnixNano())
	df := filepath.Join(t.TempDir(), "Dockerfile")
	content := "FROM scratch AS deps\nCOPY busybox /bin/busybox\n" +
		`RUN ["/bin/busybox", "sh", "-c", "echo ` + nonce + ` > /deps; /bin/busybox sleep 2"]` + "\n" +
		"FROM scratch\nCOPY --from=deps /deps /deps\n"
	if err := os.WriteFile(df, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := uniqueRepo(t, reg)
	env := gitlabEnv(reg, "0123456789abcdef0123456789abcdef01234567")
	env["CI_REGISTRY_IMAGE"] = repo
	for run := range 2 {
		addr, _ := privateBuildkitd(t, b)
		args, pw := keyedRelease(t, addr, reg, ctxDir, repo, "-f", df)
		args = append(args, "--tag", fmt.Sprintf("run%d", run+1))
		r := hallmark(t, append(envList(env), pw...), args...)
		mustSucceed(t, r)
		step := runStep(r.Stderr, nonce)
		if step == "" {
			t.Fatalf("run %d shows no RUN step for %s:\n%s", run+1, nonce, r.Stderr)
		}
		if got := cached(r.Stderr, step); got != (run == 1) {
			t.Errorf("run %d on a fresh buildkitd: RUN step cached %v, want %v\n%s", run+1, got, run == 1, r.Stderr)
		}
		cacheRef, err := name.ParseReference(repo+"/buildcache:default", name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := remoteHead(cacheRef); err != nil {
			t.Errorf("run %d: no registry cache at %s: %v", run+1, cacheRef, err)
		}
	}
}
