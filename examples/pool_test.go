package examples_test

import (
	"crypto/x509"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/shlex"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/builder/pool"
)

// poolLink is what buildkitd-pool.yaml and release-job.yaml say about the
// pool and the release that builds on it.
type poolLink struct {
	svc service
	sts statefulSet
	// stsPod is the StatefulSet's pod template, buildkitd its container.
	stsPod    pod
	buildkitd container
	// listen is buildkitd's tcp --addr; daemonTLS maps each of tlsFlags to
	// its path in buildkitd's container.
	listen    *url.URL
	daemonTLS map[string]string

	// jobPod is the Job's pod template, hallmark its container.
	jobPod   pod
	jobSpec  job
	hallmark container
	// builders is the builder file's path in hallmark's container (the
	// value of --builders) and content (from the ConfigMap it is on).
	builders     string
	buildersYAML []byte
}

// loadPool decodes both manifests strictly and finds the Service, the
// StatefulSet and its buildkitd, the Job and its hallmark, and the builder
// file hallmark reads.
func loadPool(t *testing.T) poolLink {
	t.Helper()
	var l poolLink
	ms := loadManifests(t, buildkitdPool)
	if len(ms) != 2 {
		t.Fatalf("%s: %d documents, want a Service and a StatefulSet", buildkitdPool, len(ms))
	}
	decodeStrictBytes(t, buildkitdPool+" Service", only(t, buildkitdPool, ms, "Service").raw, &l.svc)
	decodeStrictBytes(t, buildkitdPool+" StatefulSet", only(t, buildkitdPool, ms, "StatefulSet").raw, &l.sts)
	if l.svc.APIVersion != "v1" || l.sts.APIVersion != "apps/v1" {
		t.Fatalf("%s: Service %s, StatefulSet %s; want v1 and apps/v1", buildkitdPool, l.svc.APIVersion, l.sts.APIVersion)
	}
	l.stsPod = pod{Metadata: l.sts.Spec.Template.Metadata, Spec: l.sts.Spec.Template.Spec}
	bk := containersWith(l.stsPod, func(c container) bool { return strings.HasPrefix(c.Image, "moby/buildkit:") })
	if len(bk) != 1 || len(l.stsPod.Spec.Containers) != 1 {
		t.Fatalf("%s: the StatefulSet's pods want one container, buildkitd; got %d containers, %d buildkitd", buildkitdPool, len(l.stsPod.Spec.Containers), len(bk))
	}
	l.buildkitd = bk[0]
	l.listen = tcpListen(t, l.buildkitd)
	l.daemonTLS = map[string]string{}
	for _, f := range tlsFlags {
		l.daemonTLS[f] = flagValue(t, l.buildkitd.Args, f)
	}

	ms = loadManifests(t, releaseJob)
	if len(ms) != 2 {
		t.Fatalf("%s: %d documents, want a ConfigMap and a Job", releaseJob, len(ms))
	}
	var cm configMap
	decodeStrictBytes(t, releaseJob+" ConfigMap", only(t, releaseJob, ms, "ConfigMap").raw, &cm)
	decodeStrictBytes(t, releaseJob+" Job", only(t, releaseJob, ms, "Job").raw, &l.jobSpec)
	if cm.APIVersion != "v1" || l.jobSpec.APIVersion != "batch/v1" {
		t.Fatalf("%s: ConfigMap %s, Job %s; want v1 and batch/v1", releaseJob, cm.APIVersion, l.jobSpec.APIVersion)
	}
	l.jobPod = pod{Metadata: l.jobSpec.Spec.Template.Metadata, Spec: l.jobSpec.Spec.Template.Spec}
	hm := containersWith(l.jobPod, func(c container) bool { return strings.Contains(c.Image, "/hallmark") })
	if len(hm) != 1 {
		t.Fatalf("%s: want one hallmark container, got %d", releaseJob, len(hm))
	}
	l.hallmark = hm[0]
	if len(l.hallmark.Command) != 0 || len(l.hallmark.Args) == 0 || l.hallmark.Args[0] != "release" {
		t.Fatalf("%s: hallmark command %v args %v: want the image's entrypoint with `release ...`", releaseJob, l.hallmark.Command, l.hallmark.Args)
	}
	l.builders = flagValue(t, l.hallmark.Args, "builders")
	if l.builders == "" {
		t.Fatalf("%s: hallmark has no --builders: %v", releaseJob, l.hallmark.Args)
	}
	name, key, err := l.jobPod.configMapFile(l.hallmark, l.builders)
	if err != nil {
		t.Fatalf("%s: --builders: %v", releaseJob, err)
	}
	if name != cm.Metadata.Name || cm.Data[key] == "" {
		t.Fatalf("%s: --builders reads ConfigMap %s key %s; the manifest's ConfigMap %s has keys %v", releaseJob, name, key, cm.Metadata.Name, slices.Sorted(maps.Keys(cm.Data)))
	}
	l.buildersYAML = []byte(cm.Data[key])
	return l
}

// containersWith returns the pod's containers, init containers included,
// for which match is true.
func containersWith(p pod, match func(container) bool) []container {
	var out []container
	for _, c := range append(slices.Clone(p.Spec.InitContainers), p.Spec.Containers...) {
		if match(c) {
			out = append(out, c)
		}
	}
	return out
}

// podNames are the names of the StatefulSet's pods.
func (l poolLink) podNames() []string {
	var n int32 = 1
	if l.sts.Spec.Replicas != nil {
		n = *l.sts.Spec.Replicas
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", l.sts.Metadata.Name, i)
	}
	return names
}

// podHost is a pod's DNS name through the headless Service, as pods of
// the namespace resolve it.
func (l poolLink) podHost(podName string) string { return podName + "." + l.sts.Spec.ServiceName }

// loadBuilderNodes writes the builder file where hallmark's container
// reads it, under root, and loads it with builder/pool's loader.
func (l poolLink) loadBuilderNodes(t *testing.T, root string) []pool.Node {
	t.Helper()
	path := filepath.Join(root, l.builders)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, l.buildersYAML, 0o644); err != nil {
		t.Fatal(err)
	}
	nodes, _, err := pool.LoadFile(path, builder.ConnectOptions{})
	if err != nil {
		t.Fatalf("the builder file of %s: %v", releaseJob, err)
	}
	return nodes
}

// nodeTLSFiles maps each of tlsFlags to a node's TLS path.
func nodeTLSFiles(n pool.Node) map[string]string {
	c := n.Connect.TLS
	return map[string]string{"tlscacert": c.CACert, "tlscert": c.Cert, "tlskey": c.Key}
}

// TestKubernetesPoolShape checks the pool and the Job as the API server and
// kubelet would see them: a headless Service selecting the StatefulSet's
// pods, buildkitd rootless and listening for other pods with mutual TLS,
// hallmark unprivileged and releasing with the builder file.
func TestKubernetesPoolShape(t *testing.T) {
	l := loadPool(t)
	vols := checkPodVolumes(t, l.stsPod.Spec)
	checkRootless(t, l.stsPod.Spec, l.buildkitd, vols)
	checkHallmarkContainer(t, l.hallmark, checkPodVolumes(t, l.jobPod.Spec))

	labels := l.sts.Spec.Template.Metadata.Labels
	subset := func(sel map[string]string) bool {
		for k, v := range sel {
			if labels[k] != v {
				return false
			}
		}
		return len(sel) > 0
	}
	servesPort := slices.ContainsFunc(l.svc.Spec.Ports, func(p servicePort) bool {
		return fmt.Sprint(p.Port) == l.listen.Port() && (p.TargetPort == nil || fmt.Sprint(p.TargetPort) == l.listen.Port())
	})
	rp := l.jobPod.Spec.RestartPolicy
	checks := []struct {
		ok   bool
		want string
	}{
		{l.svc.Spec.ClusterIP == "None", "a headless Service (clusterIP: None): one DNS name per pod, not one load-balanced address"},
		{l.sts.Spec.ServiceName == l.svc.Metadata.Name, "the StatefulSet's serviceName naming the Service (the pods' DNS domain)"},
		{subset(l.svc.Spec.Selector), "the Service selecting the StatefulSet's pods"},
		{subset(l.sts.Spec.Selector.MatchLabels), "the StatefulSet's selector matching its template's labels"},
		{l.sts.Spec.Replicas != nil && *l.sts.Spec.Replicas >= 2, "replicas: 2 or more (a pool)"},
		{servesPort, "the Service serving buildkitd's port " + l.listen.Port()},
		{l.listen.Hostname() == "0.0.0.0" || l.listen.Hostname() == "", "buildkitd listening on every interface (other pods dial it), not " + l.listen.Host},
		{l.buildkitd.ReadinessProbe != nil, "a readinessProbe on buildkitd (a pod not ready is left out of DNS)"},
		{l.stsPod.Spec.AutomountServiceAccountToken != nil && !*l.stsPod.Spec.AutomountServiceAccountToken, "automountServiceAccountToken: false on buildkitd (it needs no API access)"},
		{rp == "Never" || rp == "OnFailure", "the Job's pods not restarted (restartPolicy Never or OnFailure)"},
		{flagValue(t, l.hallmark.Args, "platform") != "", "hallmark release --platform (a pool release needs it)"},
		{len(flagValues(l.hallmark.Args, "addr")) == 0, "no --addr next to --builders (hallmark refuses both)"},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("want %s", c.want)
		}
	}
}

// TestKubernetesPoolBuilderFile loads the Job's builder file with
// builder/pool's loader: one node per pod of the StatefulSet, named after
// the pod, dialled at its DNS name on buildkitd's port, with mutual TLS
// from the client Secret (never the server's).
func TestKubernetesPoolBuilderFile(t *testing.T) {
	l := loadPool(t)
	nodes := l.loadBuilderNodes(t, t.TempDir())
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	if want := l.podNames(); !slices.Equal(names, want) {
		t.Errorf("the builder file names nodes %v; the StatefulSet's pods are %v", names, want)
	}
	daemonSecret, _, err := l.stsPod.secretFile(l.buildkitd, l.daemonTLS["tlscert"])
	if err != nil {
		t.Fatalf("buildkitd --tlscert: %v", err)
	}
	for _, n := range nodes {
		t.Run(n.Name, func(t *testing.T) {
			if want := "tcp://" + l.podHost(n.Name) + ":" + l.listen.Port(); n.Connect.Addr != want {
				t.Errorf("addr %s, want %s (the pod's DNS name, buildkitd's port)", n.Connect.Addr, want)
			}
			if n.Connect.AllowInsecureTCP {
				t.Error("insecure-tcp: the pool speaks mutual TLS")
			}
			if sn := n.Connect.TLS.ServerName; sn != "" && sn != l.podHost(n.Name) {
				t.Errorf("servername %s: hallmark would check that name, not the pod's %s", sn, l.podHost(n.Name))
			}
			secrets := map[string]bool{}
			for f, p := range nodeTLSFiles(n) {
				if p == "" {
					t.Errorf("no tls %s: mutual TLS needs all of %v", f, tlsFlags)
					continue
				}
				name, _, err := l.jobPod.secretFile(l.hallmark, p)
				if err != nil {
					t.Errorf("tls %s: %v", f, err)
					continue
				}
				secrets[name] = true
			}
			if len(secrets) != 1 || secrets[daemonSecret] {
				t.Errorf("TLS files from Secrets %v: want the one client Secret, not buildkitd's %s", slices.Sorted(maps.Keys(secrets)), daemonSecret)
			}
		})
	}
}

// poolCertsCommand is the create-certs.sh line buildkitd-pool.yaml
// documents: its output directory and SANs.
func poolCertsCommand(t *testing.T) (outDir string, sans []string) {
	t.Helper()
	b, err := os.ReadFile(buildkitdPool)
	if err != nil {
		t.Fatal(err)
	}
	var cmds [][]string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "#") || !strings.Contains(line, filepath.Base(createCerts)) {
			continue
		}
		words, err := shlex.Split(strings.TrimPrefix(line, "#"))
		if err != nil {
			t.Fatalf("%s: %q: %v", buildkitdPool, line, err)
		}
		if len(words) > 0 && words[0] == "examples/"+createCerts {
			cmds = append(cmds, words)
		}
	}
	if len(cmds) != 1 || len(cmds[0]) < 3 {
		t.Fatalf("%s documents %d create-certs.sh command lines %q, want one with OUT_DIR and SANs", buildkitdPool, len(cmds), cmds)
	}
	return cmds[0][1], cmds[0][2:]
}

// poolSecrets runs the create-certs.sh line buildkitd-pool.yaml documents.
func poolSecrets(t *testing.T) map[string]map[string][]byte {
	t.Helper()
	_, sans := poolCertsCommand(t)
	return loadSecrets(t, makeCerts(t, sans...))
}

// readMounted reads, through c's mounts, a file from the Secrets given.
func readMounted(t *testing.T, p pod, c container, file string, secrets map[string]map[string][]byte) []byte {
	t.Helper()
	name, key, err := p.secretFile(c, file)
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	b, ok := secrets[name][key]
	if !ok {
		t.Fatalf("%s reads %s from Secret %s key %s; create-certs.sh makes no such Secret key (it makes %v)", c.Name, file, name, key, secretKeys(secrets))
	}
	return b
}

// TestKubernetesPoolCerts runs the create-certs.sh line the pool's manifest
// documents and reads the certificates through the StatefulSet's and the
// Job's mounts: buildkitd's certificate is valid for every pod's DNS name
// and for the name hallmark dials each node at, and each node completes a
// mutual-TLS handshake with the files the builder file names.
func TestKubernetesPoolCerts(t *testing.T) {
	l := loadPool(t)
	secrets := poolSecrets(t)
	daemon := map[string][]byte{}
	for _, f := range tlsFlags {
		daemon[f] = readMounted(t, l.stsPod, l.buildkitd, l.daemonTLS[f], secrets)
	}
	server := parseCert(t, daemon["tlscert"])
	for _, pod := range l.podNames() {
		if err := server.VerifyHostname(l.podHost(pod)); err != nil {
			t.Errorf("buildkitd's certificate is not valid for pod %s: %v", pod, err)
		}
	}
	for _, n := range l.loadBuilderNodes(t, t.TempDir()) {
		t.Run(n.Name, func(t *testing.T) {
			u, err := url.Parse(n.Connect.Addr)
			if err != nil {
				t.Fatal(err)
			}
			name := n.Connect.TLS.ServerName
			if name == "" {
				name = u.Hostname()
			}
			client := map[string][]byte{}
			for f, p := range nodeTLSFiles(n) {
				client[f] = readMounted(t, l.jobPod, l.hallmark, p, secrets)
			}
			if _, err := server.Verify(x509.VerifyOptions{DNSName: name, Roots: certPool(t, client["tlscacert"]),
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				t.Errorf("hallmark's CA does not accept buildkitd's certificate as %s: %v", name, err)
			}
			if _, err := parseCert(t, client["tlscert"]).Verify(x509.VerifyOptions{Roots: certPool(t, daemon["tlscacert"]),
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Errorf("buildkitd's CA does not accept hallmark's certificate: %v", err)
			}
			mutualTLSHandshake(t, daemon, client, name)
		})
	}
}
