package examples_test

import (
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// tlsFlags are the certificate flags buildkitd and hallmark share.
var tlsFlags = []string{"tlscacert", "tlscert", "tlskey"}

// podLink is what runner-pod.yaml says about buildkitd and hallmark.
type podLink struct {
	pod                 pod
	buildkitd, hallmark container
	// listen is buildkitd's tcp --addr, dial hallmark's --addr.
	listen, dial *url.URL
	// serverName is hallmark's --tlsservername ("" when absent).
	serverName string
	// daemonTLS and clientTLS map each of tlsFlags to its path.
	daemonTLS, clientTLS map[string]string
}

// loadRunnerPod decodes runner-pod.yaml strictly and finds the buildkitd
// sidecar and the hallmark container.
func loadRunnerPod(t *testing.T) podLink {
	t.Helper()
	var p pod
	decodeStrict(t, runnerPod, &p)
	if p.APIVersion != "v1" || p.Kind != "Pod" {
		t.Fatalf("%s is %s %s, want v1 Pod", runnerPod, p.APIVersion, p.Kind)
	}
	l := podLink{pod: p}
	var bk, hm []container
	for _, c := range append(slices.Clone(p.Spec.InitContainers), p.Spec.Containers...) {
		switch {
		case strings.HasPrefix(c.Image, "moby/buildkit:"):
			bk = append(bk, c)
		case strings.Contains(c.Image, "/hallmark"):
			hm = append(hm, c)
		}
	}
	if len(bk) != 1 || len(hm) != 1 {
		t.Fatalf("want one buildkitd and one hallmark container, got %d and %d", len(bk), len(hm))
	}
	l.buildkitd, l.hallmark = bk[0], hm[0]
	l.listen = tcpListen(t, l.buildkitd)
	if len(l.hallmark.Command) != 0 {
		t.Errorf("hallmark container overrides the image's entrypoint: %v", l.hallmark.Command)
	}
	if len(l.hallmark.Args) == 0 || l.hallmark.Args[0] != "release" {
		t.Fatalf("hallmark args %v: want `release ...`", l.hallmark.Args)
	}
	dial := flagValue(t, l.hallmark.Args, "addr")
	u, err := url.Parse(dial)
	if err != nil || u.Scheme != "tcp" {
		t.Fatalf("hallmark --addr %q: want tcp://HOST:PORT", dial)
	}
	l.dial = u
	l.serverName = flagValue(t, l.hallmark.Args, "tlsservername")
	l.daemonTLS, l.clientTLS = map[string]string{}, map[string]string{}
	for _, f := range tlsFlags {
		l.daemonTLS[f] = flagValue(t, l.buildkitd.Args, f)
		l.clientTLS[f] = flagValue(t, l.hallmark.Args, f)
	}
	return l
}

// TestKubernetesPodShape checks the pod as the API server and kubelet would
// see it: every mount has a volume, the buildkitd sidecar is a native
// sidecar with a startup probe and the securityContext BuildKit's rootless
// Kubernetes examples use, hallmark runs as non-root.
func TestKubernetesPodShape(t *testing.T) {
	l := loadRunnerPod(t)
	spec := l.pod.Spec
	if spec.RestartPolicy != "Never" && spec.RestartPolicy != "OnFailure" {
		t.Errorf("restartPolicy %q: a release runs once", spec.RestartPolicy)
	}
	vols := checkPodVolumes(t, spec)

	bk := l.buildkitd
	if slices.ContainsFunc(spec.InitContainers, func(c container) bool { return c.Name == bk.Name }) {
		if bk.RestartPolicy != "Always" {
			t.Error("buildkitd is an init container without restartPolicy: Always; the pod would wait for it to exit")
		}
		if bk.StartupProbe == nil {
			t.Error("buildkitd sidecar has no startupProbe: hallmark could start before buildkitd listens")
		}
	}
	if strings.HasSuffix(bk.Image, "rootless") {
		checkRootless(t, spec, bk, vols)
	}
	checkHallmarkContainer(t, l.hallmark, vols)
}

// TestKubernetesPodLink checks that hallmark dials where buildkitd listens,
// that both use mutual TLS, and that each side's three files come from one
// Secret mounted into that side only.
func TestKubernetesPodLink(t *testing.T) {
	l := loadRunnerPod(t)
	if l.listen.Port() == "" || l.listen.Port() != l.dial.Port() {
		t.Errorf("buildkitd listens on %s, hallmark dials %s", l.listen, l.dial)
	}
	listenIP, dialIP := net.ParseIP(l.listen.Hostname()), net.ParseIP(l.dial.Hostname())
	if listenIP == nil || !listenIP.IsLoopback() {
		t.Errorf("buildkitd listens on %s: want the pod's loopback, out of other pods' reach", l.listen)
	}
	if dialIP == nil || !dialIP.Equal(listenIP) {
		t.Errorf("hallmark dials %s, buildkitd listens on %s", l.dial, l.listen)
	}

	secrets := map[string]string{} // side -> Secret
	for side, c := range map[string]container{"buildkitd": l.buildkitd, "hallmark": l.hallmark} {
		files := l.daemonTLS
		if side == "hallmark" {
			files = l.clientTLS
		}
		keys := map[string]string{}
		for _, f := range tlsFlags {
			if files[f] == "" {
				t.Errorf("%s has no --%s: mutual TLS needs all of %v", side, f, tlsFlags)
				continue
			}
			name, key, err := l.pod.secretFile(c, files[f])
			if err != nil {
				t.Errorf("%s --%s: %v", side, f, err)
				continue
			}
			if secrets[side] != "" && secrets[side] != name {
				t.Errorf("%s reads its TLS files from Secrets %s and %s; create-certs.sh makes one per side", side, secrets[side], name)
			}
			secrets[side] = name
			keys[f] = key
		}
		if vals := slices.Compact(slices.Sorted(maps.Values(keys))); len(keys) == 3 && len(vals) != 3 {
			t.Errorf("%s uses one Secret key for two flags: %v", side, keys)
		}
	}
	if secrets["buildkitd"] != "" && secrets["buildkitd"] == secrets["hallmark"] {
		t.Errorf("buildkitd and hallmark share Secret %s: the server key belongs to buildkitd only", secrets["buildkitd"])
	}
	// Neither container mounts the other side's Secret.
	for side, c := range map[string]container{"buildkitd": l.buildkitd, "hallmark": l.hallmark} {
		other := secrets["hallmark"]
		if side == "hallmark" {
			other = secrets["buildkitd"]
		}
		for _, m := range c.VolumeMounts {
			for _, v := range l.pod.Spec.Volumes {
				if v.Name == m.Name && v.Secret != nil && v.Secret.SecretName == other {
					t.Errorf("%s mounts the other side's Secret %s", side, other)
				}
			}
		}
	}
}
