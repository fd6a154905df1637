package examples_test

// Checks and look-ups shared by the Kubernetes examples' tests: what a
// container reads from its mounts, the volumes of a pod, a rootless
// buildkitd, an unprivileged hallmark.

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"testing"
)

// tcpListen is buildkitd's one tcp --addr.
func tcpListen(t *testing.T, bk container) *url.URL {
	t.Helper()
	var listen *url.URL
	for _, a := range flagValues(bk.Args, "addr") {
		u, err := url.Parse(a)
		if err != nil {
			t.Fatalf("buildkitd --addr %q: %v", a, err)
		}
		if u.Scheme == "tcp" {
			if listen != nil {
				t.Fatalf("buildkitd listens on several tcp addresses: %v", bk.Args)
			}
			listen = u
		}
	}
	if listen == nil {
		t.Fatalf("buildkitd has no --addr tcp://: %v", bk.Args)
	}
	return listen
}

// secretFile says which Secret and key a file a container reads comes
// from, following the container's mounts and the volume's items.
func (p pod) secretFile(c container, file string) (secretName, key string, err error) {
	return p.sourceFile(c, file, "Secret")
}

// configMapFile is secretFile for a ConfigMap.
func (p pod) configMapFile(c container, file string) (name, key string, err error) {
	return p.sourceFile(c, file, "ConfigMap")
}

// sourceFile is the name of the Secret or ConfigMap (kind) and the key a
// file a container reads comes from.
func (p pod) sourceFile(c container, file, kind string) (name, key string, err error) {
	vol, key, err := p.mountedFile(c, file)
	if err != nil {
		return "", "", err
	}
	k, name := vol.source()
	if k != kind {
		return "", "", fmt.Errorf("%s: volume %s is not a %s", file, vol.Name, kind)
	}
	return name, key, nil
}

// mountedFile finds the Secret or ConfigMap volume, mounted read-only in
// c, that file is on, and the key of it that file is.
func (p pod) mountedFile(c container, file string) (*volume, string, error) {
	var best *volumeMount
	for i, m := range c.VolumeMounts {
		if m.SubPath != "" && file == m.MountPath || strings.HasPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/") {
			if best == nil || len(m.MountPath) > len(best.MountPath) {
				best = &c.VolumeMounts[i]
			}
		}
	}
	if best == nil {
		return nil, "", fmt.Errorf("%s is on no volume mounted in container %s", file, c.Name)
	}
	var vol *volume
	for i := range p.Spec.Volumes {
		if p.Spec.Volumes[i].Name == best.Name {
			vol = &p.Spec.Volumes[i]
		}
	}
	switch {
	case vol == nil:
		return nil, "", fmt.Errorf("%s: container %s mounts volume %s, which the pod does not have", file, c.Name, best.Name)
	case vol.Secret == nil && vol.ConfigMap == nil:
		return nil, "", fmt.Errorf("%s: volume %s is neither a Secret nor a ConfigMap", file, vol.Name)
	case !best.ReadOnly:
		return nil, "", fmt.Errorf("%s: volume %s is mounted read-write", file, vol.Name)
	}
	rel := best.SubPath
	if rel == "" {
		rel = strings.TrimPrefix(file, strings.TrimSuffix(best.MountPath, "/")+"/")
	}
	if len(vol.items()) == 0 {
		if strings.Contains(rel, "/") {
			return nil, "", fmt.Errorf("%s: keys are files at the top of the mount, not %s", file, rel)
		}
		return vol, rel, nil
	}
	for _, it := range vol.items() {
		if path.Clean(it.Path) == rel {
			return vol, it.Key, nil
		}
	}
	return nil, "", fmt.Errorf("%s: volume %s projects no item at %s", file, vol.Name, rel)
}

// checkPodVolumes checks that every volume has one source and is mounted,
// and that every mount names a volume; it returns the volumes by name.
func checkPodVolumes(t *testing.T, spec podSpec) map[string]volume {
	t.Helper()
	vols := map[string]volume{}
	for _, v := range spec.Volumes {
		if _, dup := vols[v.Name]; dup {
			t.Errorf("volume %s defined twice", v.Name)
		}
		if n := countTrue(v.Secret != nil, v.ConfigMap != nil, v.EmptyDir != nil); n != 1 {
			t.Errorf("volume %s: want exactly one of secret, configMap and emptyDir, got %d", v.Name, n)
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
	return vols
}

func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

func isTrue(b *bool) bool { return b != nil && *b }

// checkRootless checks that buildkitd runs rootless as BuildKit's rootless
// Kubernetes examples run it: the rootless image, its user, seccomp and
// AppArmor unconfined (user namespaces, mounts), no process sandbox, an
// emptyDir for its state, and nothing privileged in the container or the
// pod.
func checkRootless(t *testing.T, spec podSpec, bk container, vols map[string]volume) {
	t.Helper()
	sc := bk.SecurityContext
	if sc == nil {
		t.Fatal("rootless buildkitd has no securityContext")
	}
	checks := []struct {
		ok   bool
		want string
	}{
		{strings.HasPrefix(bk.Image, "moby/buildkit:") && strings.HasSuffix(bk.Image, "-rootless"), "the image moby/buildkit:VERSION-rootless"},
		{!isTrue(sc.Privileged), "privileged unset or false"},
		{sc.Capabilities == nil || len(sc.Capabilities.Add) == 0, "no added capabilities"},
		{sc.RunAsNonRoot == nil || *sc.RunAsNonRoot, "runAsNonRoot unset or true"},
		{sc.SeccompProfile != nil && sc.SeccompProfile.Type == "Unconfined", "seccompProfile Unconfined (unshare, mount)"},
		{sc.AppArmorProfile != nil && sc.AppArmorProfile.Type == "Unconfined", "appArmorProfile Unconfined"},
		{sc.RunAsUser != nil && *sc.RunAsUser == 1000 && sc.RunAsGroup != nil && *sc.RunAsGroup == 1000,
			"runs as 1000:1000 (the image's user; its subuid range is fixed)"},
		{slices.Contains(bk.Args, "--oci-worker-no-process-sandbox"), "--oci-worker-no-process-sandbox (no systempaths=unconfined in Kubernetes)"},
		{slices.ContainsFunc(bk.VolumeMounts, func(m volumeMount) bool {
			return m.MountPath == "/home/user/.local/share/buildkit" && vols[m.Name].EmptyDir != nil
		}), "an emptyDir on /home/user/.local/share/buildkit"},
		{!isTrue(spec.HostNetwork) && !isTrue(spec.HostPID) && !isTrue(spec.HostIPC), "none of the host's namespaces"},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("rootless buildkitd (container %s): want %s", bk.Name, c.want)
		}
	}
}

// checkHallmarkContainer checks that hallmark runs without privileges and,
// on a read-only root filesystem, has emptyDirs where it writes.
func checkHallmarkContainer(t *testing.T, hm container, vols map[string]volume) {
	t.Helper()
	sc := hm.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("hallmark needs no privileges: want runAsNonRoot: true, allowPrivilegeEscalation: false")
	}
	if sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		for _, dir := range []string{"/tmp", "/home/nonroot"} {
			if !slices.ContainsFunc(hm.VolumeMounts, func(m volumeMount) bool { return m.MountPath == dir && vols[m.Name].EmptyDir != nil }) {
				t.Errorf("read-only root filesystem but no emptyDir on %s (TMPDIR, HOME of the image)", dir)
			}
		}
	}
}
