package examples_test

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/e2etest"
	"github.com/hallmark-dev/hallmark/internal/testutil"
	"github.com/hallmark-dev/hallmark/signer/signertest"
)

// TestKubernetesPodMTLSOnBed runs `hallmark build` with the runner pod's
// connection flags against the bed's tcp+mTLS buildkitd: hallmark's
// --addr host and --tlsservername as the manifest has them, the port of the
// bed, and the Secret mount paths of the manifest holding the bed's CA,
// client certificate and key.
func TestKubernetesPodMTLSOnBed(t *testing.T) {
	b := bed(t)
	l := loadRunnerPod(t)
	bedAddr, err := url.Parse(b.Getenv("HALLMARK_TEST_BUILDKIT_TCP"))
	if err != nil {
		t.Fatal(err)
	}
	if l.dial.Hostname() != bedAddr.Hostname() {
		t.Fatalf("the pod dials %s, the bed's buildkitd listens on %s: only the port is mapped", l.dial, bedAddr)
	}
	if bedName := b.Getenv("HALLMARK_TEST_TLS_SERVERNAME"); l.serverName != "" && l.serverName != bedName {
		t.Logf("the pod checks the name %s, the bed's tests %s; the bed's certificate must cover both", l.serverName, bedName)
	}
	bedFiles := map[string]string{
		"tlscacert": b.Getenv("HALLMARK_TEST_TLS_CA"),
		"tlscert":   b.Getenv("HALLMARK_TEST_TLS_CERT"),
		"tlskey":    b.Getenv("HALLMARK_TEST_TLS_KEY"),
	}
	root := t.TempDir()
	connect := []string{"--addr", "tcp://" + net.JoinHostPort(l.dial.Hostname(), bedAddr.Port())}
	for _, f := range tlsFlags {
		p := l.clientTLS[f]
		if _, _, err := l.pod.secretFile(l.hallmark, p); err != nil {
			t.Fatalf("hallmark --%s: %v", f, err)
		}
		e2etest.CopyFile(t, bedFiles[f], filepath.Join(root, p))
		connect = append(connect, "--"+f, filepath.Join(root, p))
	}
	if l.serverName != "" {
		connect = append(connect, "--tlsservername", l.serverName)
	}
	buildTestImage(t, b, connect)
}

// TestKubernetesPodBuildkitdFlags starts buildkitd (the bed's binary, the
// same version as the pod's image) with the pod's buildkitd arguments, its
// Secret mounts holding certificates from create-certs.sh, and has hallmark
// build through it with the pod's hallmark flags. Only the listening port,
// the unix socket's directory and the mount root are moved; buildkitd runs
// as root here, so --oci-worker-no-process-sandbox (rootless only) is left
// out.
func TestKubernetesPodBuildkitdFlags(t *testing.T) {
	b := bed(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a second buildkitd (the bed runs as root)")
	}
	l := loadRunnerPod(t)
	secrets := loadSecrets(t, makeCerts(t))
	root, err := os.MkdirTemp("", "hm-pod-") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(root); err != nil {
			t.Logf("removing %s: %v", root, err)
		}
	})
	materialize(t, l.pod, l.buildkitd, secrets, filepath.Join(root, "buildkitd"))
	materialize(t, l.pod, l.hallmark, secrets, filepath.Join(root, "hallmark"))
	port := testutil.FreePort(t)

	sock := "unix://" + filepath.Join(root, "buildkitd.sock")
	var args []string
	for i := 0; i < len(l.buildkitd.Args); i++ {
		a := l.buildkitd.Args[i]
		switch {
		case a == "--oci-worker-no-process-sandbox":
			continue
		case a == "--addr" && i+1 < len(l.buildkitd.Args):
			i++
			u, err := url.Parse(l.buildkitd.Args[i])
			if err != nil {
				t.Fatal(err)
			}
			switch u.Scheme {
			case "unix":
				args = append(args, a, sock)
			case "tcp":
				args = append(args, a, "tcp://"+net.JoinHostPort(u.Hostname(), port))
			default:
				t.Fatalf("buildkitd --addr %s: unexpected scheme", u)
			}
		case slices.Contains(tlsFlags, strings.TrimPrefix(a, "--")) && i+1 < len(l.buildkitd.Args):
			i++
			args = append(args, a, filepath.Join(root, "buildkitd", l.buildkitd.Args[i]))
		default:
			args = append(args, a)
		}
	}
	if !slices.Contains(args, sock) {
		args = append(args, "--addr", sock) // for the readiness check
	}
	cfg := filepath.Join(root, "buildkitd.toml")
	if err := os.WriteFile(cfg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	args = append(args, "--root", filepath.Join(root, "state"), "--config", cfg,
		"--oci-worker=true", "--containerd-worker=false")
	buildctl := b.Getenv("HALLMARK_TEST_BUILDCTL")
	startBuildkitd(t, filepath.Join(filepath.Dir(buildctl), "buildkitd"), buildctl, sock, args)

	connect := []string{"--addr", "tcp://" + net.JoinHostPort(l.dial.Hostname(), port)}
	for _, f := range tlsFlags {
		connect = append(connect, "--"+f, filepath.Join(root, "hallmark", l.clientTLS[f]))
	}
	if l.serverName != "" {
		connect = append(connect, "--tlsservername", l.serverName)
	}
	buildTestImage(t, b, connect)
}

// materialize writes, under root, the files a container of the pod sees in
// its Secret and ConfigMap mounts, for the Secrets and ConfigMaps given by
// name (as kubelet would).
func materialize(t *testing.T, p pod, c container, sources map[string]map[string][]byte, root string) {
	t.Helper()
	for _, m := range c.VolumeMounts {
		for _, v := range p.Spec.Volumes {
			_, src := v.source()
			if v.Name != m.Name || sources[src] == nil {
				continue
			}
			data := sources[src]
			files := map[string][]byte{}
			if len(v.items()) == 0 {
				for k, b := range data {
					files[k] = b
				}
			}
			for _, it := range v.items() {
				files[it.Path] = data[it.Key]
			}
			for rel, b := range files {
				f := filepath.Join(root, m.MountPath, rel)
				if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(f, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// startBuildkitd runs buildkitd until the test ends, once buildctl sees it
// answer on sock.
func startBuildkitd(t *testing.T, bin, buildctl, sock string, args []string) {
	t.Helper()
	var logs bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("buildkitd %s\n%s", strings.Join(args, " "), logs.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err := exec.CommandContext(ctx, buildctl, "--addr", sock, "debug", "workers").Run()
		cancel()
		if err == nil {
			return
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("buildkitd exited (%v) with the pod's arguments %q:\n%s", err, args, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("buildkitd not answering after 60s:\n%s", logs.String())
		}
	}
}

// TestExampleHallmarkFlags checks that every flag the examples pass to
// hallmark, and every HALLMARK_* variable or BUILDKIT_HOST they set, is one
// hallmark's help lists. release's flags are checked once release has them.
func TestExampleHallmarkFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds hallmark")
	}
	var cmds []command
	vars := map[string]bool{}
	jobs, globals := gitlabJobs(t)
	for k := range globals {
		vars[k] = true
	}
	for _, job := range jobs {
		cmds = append(cmds, hallmarkCommands(t, script(job))...)
		for k := range mapAt(job, "variables") {
			vars[k] = true
		}
	}
	wf := loadMap(t, githubWorkflow)
	for name := range mapAt(wf, "jobs") {
		job, steps := githubJob(t, wf, name)
		for k := range mapAt(job, "env") {
			vars[k] = true
		}
		for _, s := range steps {
			cmds = append(cmds, hallmarkCommands(t, s.run)...)
			for k := range mapAt(s.raw, "env") {
				vars[k] = true
			}
		}
	}
	for _, hm := range []container{loadRunnerPod(t).hallmark, loadPool(t).hallmark} {
		cmds = append(cmds, append(command{"hallmark"}, hm.Args...))
		for _, e := range hm.Env {
			vars[e.Name] = true
		}
	}

	help := map[string]string{}
	helpOf := func(sub string) string {
		if _, ok := help[sub]; !ok {
			r := runHallmark(t, sub, "--help")
			if r.Code != 0 {
				t.Fatalf("hallmark %s --help:\n%s", sub, r)
			}
			help[sub] = r.Stdout + r.Stderr
		}
		return help[sub]
	}
	flagRE := regexp.MustCompile(`^--([a-z0-9-]+)`)
	for _, c := range cmds {
		sub := c.subcommand()
		h := helpOf(sub)
		if sub == "release" && !strings.Contains(h, "--dotenv") {
			t.Logf("hallmark release has no flags yet; not checking %q", c)
			continue
		}
		for _, w := range c[1:] {
			if m := flagRE.FindStringSubmatch(w); m != nil && !regexp.MustCompile(`--`+m[1]+`([^a-z0-9-]|$)`).MatchString(h) {
				t.Errorf("hallmark %s has no flag --%s (used in %q)", sub, m[1], c)
			}
		}
	}
	all := helpOf("build") + helpOf("sign") + helpOf("verify") + helpOf("release")
	for v := range vars {
		if (strings.HasPrefix(v, "HALLMARK_") || v == "BUILDKIT_HOST") && !regexp.MustCompile(`\$`+v+`\b`).MatchString(all) {
			t.Errorf("the examples set %s, which no hallmark command reads", v)
		}
	}
}

// TestReleaseOutputsOnBed runs `hallmark release` as the CI examples do, on
// the bed (GitHub Actions variables and --dotenv; a key instead of keyless
// signing, logged in the bed's Rekor v2), and checks that hallmark writes what the
// examples read: the step outputs the workflow's job outputs name, the
// dotenv key the GitLab verify job uses.
func TestReleaseOutputsOnBed(t *testing.T) {
	b := bed(t)
	dir, df := b.BuildContext(t)
	repo := testRepo(t, b)
	key := signertest.Keys(t, "examples")
	tmp := t.TempDir()
	ghOutput, summary, dotenv := filepath.Join(tmp, "output"), filepath.Join(tmp, "summary"), filepath.Join(tmp, "hallmark.env")
	env := []string{
		"GITHUB_ACTIONS=true", "GITHUB_OUTPUT=" + ghOutput, "GITHUB_STEP_SUMMARY=" + summary,
		"GITHUB_REPOSITORY=hallmark-dev/examples", "GITHUB_SHA=0123456789abcdef0123456789abcdef01234567",
		"COSIGN_PASSWORD=" + string(key.Password),
	}
	reg := b.Getenv("HALLMARK_TEST_REGISTRY_PLAIN")
	r := runHallmarkEnv(t, env, "release", "--progress", "plain", "--addr", b.Getenv("HALLMARK_TEST_BUILDKIT_UNIX"),
		"--insecure-registry", reg, "-f", df, "--context", dir,
		"--image", repo, "--tag", "example", "--key", key.Private, "--dotenv", dotenv,
		// The default path: a Rekor v2 entry with a TSA timestamp, checked
		// against the instance's trusted root; no insecure flag.
		"--rekor-url", b.Getenv("HALLMARK_TEST_REKOR_URL"), "--rekor-version", "2",
		"--timestamp-server-url", b.Getenv("HALLMARK_TEST_TSA_URL"), "--trusted-root", b.Getenv("HALLMARK_TEST_SIGSTORE_TRUSTED_ROOT"))
	if r.Code != 0 {
		t.Fatalf("hallmark release failed:\n%s", r)
	}

	outputs := readKeyValues(t, ghOutput)
	wf := loadMap(t, githubWorkflow)
	for k, v := range mapAt(mapAt(mapAt(wf, "jobs"), "release"), "outputs") {
		m := stepOutputRef.FindStringSubmatch(v.(string))
		if m == nil {
			t.Fatalf("workflow output %s = %v", k, v)
		}
		if _, ok := outputs[m[2]]; !ok {
			t.Errorf("the workflow reads step output %s, hallmark wrote %v", m[2], outputs)
		}
	}
	if !strings.HasPrefix(outputs["image-ref"], repo+"@sha256:") {
		t.Errorf("image-ref = %q, want %s@sha256:...", outputs["image-ref"], repo)
	}
	if st, err := os.Stat(summary); err != nil || st.Size() == 0 {
		t.Errorf("no step summary written (%v)", err)
	}

	vars := readKeyValues(t, dotenv)
	jobs, _ := gitlabJobs(t)
	for _, name := range jobsRunning(t, jobs, "verify", false) {
		v := hallmarkCommands(t, script(jobs[name]))[0]
		ref := strings.TrimPrefix(v[len(v)-1], "$")
		if vars[ref] != outputs["image-ref"] {
			t.Errorf("GitLab job %s verifies $%s = %q from the dotenv report, want the pushed %s (report: %v)", name, ref, vars[ref], outputs["image-ref"], vars)
		}
	}
}

// readKeyValues reads KEY=VALUE lines.
func readKeyValues(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: line %q is not KEY=VALUE", path, line)
		}
		out[k] = v
	}
	return out
}
