package examples_test

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"go.yaml.in/yaml/v3"

	"github.com/hallmark-dev/hallmark/builder/pool"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// podStandIn stands in for one pod of the StatefulSet and the cluster's
// network to it: it listens on loopback with the pod's TLS files, as
// buildkitd does with --tlscacert/--tlscert/--tlskey (client certificates
// required; gRPC's ALPN h2), and forwards each connection whose handshake
// succeeded to a bed buildkitd's unix socket. It counts those handshakes.
func podStandIn(t *testing.T, daemon map[string][]byte, upstream string) (addr string, handshakes *atomic.Int32) {
	t.Helper()
	cert, err := tls.X509KeyPair(daemon["tlscert"], daemon["tlskey"])
	if err != nil {
		t.Fatalf("buildkitd's certificate and key: %v", err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    certPool(t, daemon["tlscacert"]),
		NextProtos:   []string{"h2"},
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	handshakes = new(atomic.Int32)
	var (
		mu    sync.Mutex
		open  []net.Conn
		conns sync.WaitGroup
	)
	track := func(cs ...net.Conn) {
		mu.Lock()
		open = append(open, cs...)
		mu.Unlock()
	}
	serve := func(c *tls.Conn) {
		defer conns.Done()
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if err := c.Handshake(); err != nil {
			return
		}
		c.SetDeadline(time.Time{})
		handshakes.Add(1)
		up, err := net.Dial("unix", upstream)
		if err != nil {
			return
		}
		defer up.Close()
		track(up)
		done := make(chan struct{}, 2)
		go func() { io.Copy(up, c); done <- struct{}{} }()
		go func() { io.Copy(c, up); done <- struct{}{} }()
		<-done
	}
	conns.Add(1)
	go func() {
		defer conns.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			track(c)
			conns.Add(1)
			go serve(c.(*tls.Conn))
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		conns.Wait()
	})
	return ln.Addr().String(), handshakes
}

// mappedBuilderFile writes a builder file for the nodes the Job's file
// lists, each moved onto a stand-in: the same name, the stand-in's
// address, the TLS files under root (where the Job's mounts are
// materialized), and the pod's DNS name as the name to check in the
// certificate (or the node's own servername), as hallmark checks it in the
// cluster.
func mappedBuilderFile(t *testing.T, nodes []pool.Node, standIns map[string]string, root string) string {
	t.Helper()
	type tlsFiles struct {
		CACert     string `yaml:"cacert"`
		Cert       string `yaml:"cert"`
		Key        string `yaml:"key"`
		ServerName string `yaml:"servername"`
	}
	type node struct {
		Name string   `yaml:"name"`
		Addr string   `yaml:"addr"`
		TLS  tlsFiles `yaml:"tls"`
	}
	var f struct {
		Nodes []node `yaml:"nodes"`
	}
	for _, n := range nodes {
		u, err := url.Parse(n.Connect.Addr)
		if err != nil {
			t.Fatal(err)
		}
		c := n.Connect.TLS
		serverName := c.ServerName
		if serverName == "" {
			serverName = u.Hostname()
		}
		f.Nodes = append(f.Nodes, node{Name: n.Name, Addr: "tcp://" + standIns[n.Name], TLS: tlsFiles{
			CACert: filepath.Join(root, c.CACert), Cert: filepath.Join(root, c.Cert), Key: filepath.Join(root, c.Key),
			ServerName: serverName,
		}})
	}
	b, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "builders.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKubernetesPoolReleaseOnBed runs the Job's `hallmark release` on the
// bed. Each pod of the StatefulSet is stood in for by podStandIn with
// certificates from the create-certs.sh line the manifest documents,
// forwarding to one of the bed's three buildkitd (the bed's, the rootless
// one, buildkitd-pool; round robin). The builder file is the Job's, loaded
// by builder/pool's loader, with only each node's address moved onto its
// stand-in (the certificate is still checked for the pod's DNS name). Its
// arguments are the manifest's, with what the bed replaces: the builder
// file, the context, the image, and paths on the Job's mounts moved under
// the directory where they are materialized; the bed's registry and
// Sigstore flags are added. Every node must answer (every TLS handshake
// through the Job's client certificate), and the platform must be built on
// the pod rendezvous hashing picks.
func TestKubernetesPoolReleaseOnBed(t *testing.T) {
	b := bed(t)
	l := loadPool(t)
	secrets := poolSecrets(t)
	key := signertest.Keys(t, "examples-pool")
	priv, err := os.ReadFile(key.Private)
	if err != nil {
		t.Fatal(err)
	}
	secrets["cosign-key"] = map[string][]byte{"cosign.key": priv, "password": key.Password}
	secrets["registry-credentials"] = map[string][]byte{".dockerconfigjson": []byte(`{"auths":{}}`)}
	root := t.TempDir()
	materialize(t, l.jobPod, l.hallmark, secrets, root)
	nodes := l.loadBuilderNodes(t, root)

	daemon := map[string][]byte{}
	for _, f := range tlsFlags {
		daemon[f] = readMounted(t, l.stsPod, l.buildkitd, l.daemonTLS[f], secrets)
	}
	upstreams := []string{b.BuildkitUnix(), b.Getenv("HALLMARK_TEST_BUILDKIT_ROOTLESS"), b.Getenv("HALLMARK_TEST_BUILDKIT_POOL")}
	standIns, handshakes := map[string]string{}, map[string]*atomic.Int32{}
	for i, n := range nodes {
		standIns[n.Name], handshakes[n.Name] = podStandIn(t, daemon, strings.TrimPrefix(upstreams[i%len(upstreams)], "unix://"))
	}
	builders := mappedBuilderFile(t, nodes, standIns, root)

	ctxDir, df := b.BuildContext(t)
	repo := testRepo(t, b)
	args := bedReleaseArgs(t, l, root, map[string]string{"builders": builders, "context": ctxDir, "image": repo})
	args = append(args, "-f", df, "--progress", "plain", "--insecure-registry", b.PlainRegistry(),
		"--rekor-url", b.Getenv("HALLMARK_TEST_REKOR_URL"), "--rekor-version", "2",
		"--timestamp-server-url", b.Getenv("HALLMARK_TEST_TSA_URL"), "--trusted-root", b.Getenv("HALLMARK_TEST_SIGSTORE_TRUSTED_ROOT"))
	r := runHallmarkEnv(t, bedReleaseEnv(t, l, root, secrets), args...)
	if r.Code != 0 {
		t.Fatalf("the Job's hallmark release failed on the bed:\n%s", r)
	}

	var rel struct {
		Image, Digest string
		Nodes         []struct{ Platform, Node string }
		Down          []struct{ Node, Error string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rel); err != nil {
		t.Fatalf("release stdout is not its JSON: %v\n%s", err, r)
	}
	if len(rel.Down) != 0 {
		t.Errorf("nodes down: %v", rel.Down)
	}
	repoName, err := name.NewRepository(repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	platform := flagValue(t, l.hallmark.Args, "platform")
	k := pool.Key{Repository: repoName.Name(), Context: ctxDir, Dockerfile: df}
	var got []string
	for _, n := range rel.Nodes {
		got = append(got, n.Platform+" on "+n.Node)
	}
	var want []string
	for _, p := range strings.Split(platform, ",") {
		want = append(want, p+" on "+pool.Rank(l.podNames(), k, p)[0])
	}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("built %v, want %v (rendezvous hashing over the pods' names)", got, want)
	}
	for n, h := range handshakes {
		if h.Load() == 0 {
			t.Errorf("node %s: no mutual-TLS connection reached its stand-in", n)
		}
	}
	t.Logf("%s; %v", rel.Image, got)
}

// bedReleaseArgs are the Job's hallmark arguments for the bed: the values
// of the flags in replace swapped (each flag must be there), and every
// other value that is a path on one of hallmark's Secret or ConfigMap
// mounts moved under root.
func bedReleaseArgs(t *testing.T, l poolLink, root string, replace map[string]string) []string {
	t.Helper()
	args := append([]string(nil), l.hallmark.Args...)
	seen := map[string]bool{}
	for i := 1; i < len(args); i++ {
		flag := strings.TrimPrefix(args[i], "--")
		if !strings.HasPrefix(args[i], "--") || strings.Contains(flag, "=") || i+1 == len(args) {
			continue
		}
		i++
		if v, ok := replace[flag]; ok {
			args[i], seen[flag] = v, true
		} else if _, _, err := l.jobPod.mountedFile(l.hallmark, args[i]); err == nil {
			args[i] = filepath.Join(root, args[i])
		}
	}
	for f := range replace {
		if !seen[f] {
			t.Fatalf("%s: hallmark has no --%s VALUE: %v", releaseJob, f, l.hallmark.Args)
		}
	}
	return args
}

// bedReleaseEnv is the Job's environment for hallmark: values from
// Secrets (secretKeyRef) read from secrets, paths on its mounts moved
// under root.
func bedReleaseEnv(t *testing.T, l poolLink, root string, secrets map[string]map[string][]byte) []string {
	t.Helper()
	var env []string
	for _, e := range l.hallmark.Env {
		v := e.Value
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			b, ok := secrets[ref.Name][ref.Key]
			if !ok {
				t.Fatalf("%s: env %s reads Secret %s key %s, which the test does not know", releaseJob, e.Name, ref.Name, ref.Key)
			}
			v = string(b)
		case strings.HasPrefix(v, "/"):
			if p := filepath.Join(root, v); dirExists(p) {
				v = p
			}
		}
		env = append(env, fmt.Sprintf("%s=%s", e.Name, v))
	}
	return env
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
