package examples_test

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"path"
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
	for _, a := range flagValues(l.buildkitd.Args, "addr") {
		u, err := url.Parse(a)
		if err != nil {
			t.Fatalf("buildkitd --addr %q: %v", a, err)
		}
		if u.Scheme == "tcp" {
			if l.listen != nil {
				t.Fatalf("buildkitd listens on several tcp addresses: %v", l.buildkitd.Args)
			}
			l.listen = u
		}
	}
	if l.listen == nil {
		t.Fatalf("buildkitd has no --addr tcp://: %v", l.buildkitd.Args)
	}
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

// secretFile says which Secret and key a file a container reads comes
// from, following the container's mounts and the volume's items.
func (p pod) secretFile(c container, file string) (secretName, key string, err error) {
	var best *volumeMount
	for i, m := range c.VolumeMounts {
		if m.SubPath != "" && file == m.MountPath || strings.HasPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/") {
			if best == nil || len(m.MountPath) > len(best.MountPath) {
				best = &c.VolumeMounts[i]
			}
		}
	}
	if best == nil {
		return "", "", fmt.Errorf("%s is on no volume mounted in container %s", file, c.Name)
	}
	var vol *volume
	for i := range p.Spec.Volumes {
		if p.Spec.Volumes[i].Name == best.Name {
			vol = &p.Spec.Volumes[i]
		}
	}
	switch {
	case vol == nil:
		return "", "", fmt.Errorf("%s: container %s mounts volume %s, which the pod does not have", file, c.Name, best.Name)
	case vol.Secret == nil:
		return "", "", fmt.Errorf("%s: volume %s is not a Secret", file, vol.Name)
	case !best.ReadOnly:
		return "", "", fmt.Errorf("%s: Secret volume %s is mounted read-write", file, vol.Name)
	}
	rel := best.SubPath
	if rel == "" {
		rel = strings.TrimPrefix(file, strings.TrimSuffix(best.MountPath, "/")+"/")
	}
	if len(vol.Secret.Items) == 0 {
		if strings.Contains(rel, "/") {
			return "", "", fmt.Errorf("%s: Secret keys are files at the top of the mount, not %s", file, rel)
		}
		return vol.Secret.SecretName, rel, nil
	}
	for _, it := range vol.Secret.Items {
		if path.Clean(it.Path) == rel {
			return vol.Secret.SecretName, it.Key, nil
		}
	}
	return "", "", fmt.Errorf("%s: Secret volume %s projects no item at %s", file, vol.Name, rel)
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
	vols := map[string]volume{}
	for _, v := range spec.Volumes {
		if _, dup := vols[v.Name]; dup {
			t.Errorf("volume %s defined twice", v.Name)
		}
		if (v.Secret == nil) == (v.EmptyDir == nil) {
			t.Errorf("volume %s: want exactly one of secret and emptyDir", v.Name)
		}
		vols[v.Name] = v
	}
	used := map[string]bool{}
	names := map[string]bool{}
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		if c.Name == "" || c.Image == "" || names[c.Name] {
			t.Errorf("container %q (image %q): needs a unique name and an image", c.Name, c.Image)
		}
		names[c.Name] = true
		for _, m := range c.VolumeMounts {
			if _, ok := vols[m.Name]; !ok {
				t.Errorf("container %s mounts %s, which is not a volume of the pod", c.Name, m.Name)
			}
			if !path.IsAbs(m.MountPath) {
				t.Errorf("container %s: mountPath %q is not absolute", c.Name, m.MountPath)
			}
			used[m.Name] = true
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && (e.ValueFrom.SecretKeyRef.Name == "" || e.ValueFrom.SecretKeyRef.Key == "") {
				t.Errorf("container %s env %s: secretKeyRef needs name and key", c.Name, e.Name)
			}
		}
	}
	for name := range vols {
		if !used[name] {
			t.Errorf("volume %s is mounted nowhere", name)
		}
	}

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
		sc := bk.SecurityContext
		switch {
		case sc == nil:
			t.Fatal("rootless buildkitd has no securityContext")
		case sc.SeccompProfile == nil || sc.SeccompProfile.Type != "Unconfined":
			t.Error("rootless buildkitd needs seccompProfile Unconfined (unshare, mount)")
		case sc.AppArmorProfile == nil || sc.AppArmorProfile.Type != "Unconfined":
			t.Error("rootless buildkitd needs appArmorProfile Unconfined")
		case sc.RunAsUser == nil || *sc.RunAsUser != 1000 || sc.RunAsGroup == nil || *sc.RunAsGroup != 1000:
			t.Error("rootless buildkitd runs as 1000:1000 (the image's user; its subuid range is fixed)")
		}
		if !slices.Contains(bk.Args, "--oci-worker-no-process-sandbox") {
			t.Error("rootless buildkitd in a pod needs --oci-worker-no-process-sandbox (no systempaths=unconfined in Kubernetes)")
		}
		if !slices.ContainsFunc(bk.VolumeMounts, func(m volumeMount) bool {
			return m.MountPath == "/home/user/.local/share/buildkit" && vols[m.Name].EmptyDir != nil
		}) {
			t.Error("rootless buildkitd needs an emptyDir on /home/user/.local/share/buildkit")
		}
	}

	sc := l.hallmark.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("hallmark needs no privileges: want runAsNonRoot: true, allowPrivilegeEscalation: false")
	}
	if sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		for _, dir := range []string{"/tmp", "/home/nonroot"} {
			if !slices.ContainsFunc(l.hallmark.VolumeMounts, func(m volumeMount) bool { return m.MountPath == dir && vols[m.Name].EmptyDir != nil }) {
				t.Errorf("read-only root filesystem but no emptyDir on %s (TMPDIR, HOME of the image)", dir)
			}
		}
	}
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
