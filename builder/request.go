package builder

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
	bkbuild "github.com/moby/buildkit/cmd/buildctl/build"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/tonistiigi/fsutil"
)

// ErrNoTag is returned for a request without a tag to push.
var ErrNoTag = errors.New("no image tag")

// frontend is BuildKit's built-in Dockerfile frontend.
const frontend = "dockerfile.v0"

// Request is one build: what to build and where to push it.
type Request struct {
	// ContextDir is the build context directory.
	ContextDir string
	// Dockerfile is the Dockerfile path; empty means ContextDir/Dockerfile.
	// It may lie outside the context.
	Dockerfile string
	// Tags are pushed in one export; the first names the printed result.
	// With PushByDigest only their repositories are pushed to.
	Tags []name.Tag
	// PushByDigest pushes the image (manifest or index) by digest only, to
	// each tag's repository, and creates no tag: the caller tags it once it
	// is signed (see release.Run).
	PushByDigest bool
	// BuildArgs are ARG values (KEY=VALUE).
	BuildArgs []string
	// Target is the stage to build; empty means the last one.
	Target string
	// Platforms to build for (os/arch[/variant]); several make an index.
	Platforms []string
	// Labels are image labels (KEY=VALUE).
	Labels []string
	// Annotations are OCI annotations on the pushed manifest(s) and index:
	// KEY=VALUE, or manifest:KEY=VALUE / index:KEY=VALUE for one level only.
	Annotations []string
	// Secrets are buildctl-style secrets: id=ID,src=PATH or id=ID,env=VAR.
	Secrets []string
	// SSH are ssh agent sockets or keys to forward: default or ID=PATH.
	SSH []string
	// NoCache disables the build cache.
	NoCache bool
	// CacheFrom and CacheTo are cache imports and exports, e.g.
	// type=registry,ref=REPO:cache or type=local,src=DIR / dest=DIR.
	CacheFrom, CacheTo []string
	// Insecure allows pushing to the tags' registry over plain HTTP. It is
	// required for a loopback registry: buildkitd reaches those over plain
	// HTTP only, so Validate refuses them without it. Any other registry
	// buildkitd reaches over plain HTTP only when its own configuration
	// says so (buildkitd.toml: [registry."HOST"] http = true): the image
	// exporter has no option for plain HTTP alone.
	Insecure bool
	// SkipTLSVerify pushes to the tags' registry without verifying its TLS
	// certificate (the image exporter's registry.insecure, which also lets
	// buildkitd fall back to plain HTTP when the registry answers HTTPS with
	// HTTP).
	SkipTLSVerify bool
	// Keychain supplies registry credentials to buildkitd through the
	// session; nil means anonymous.
	Keychain authn.Keychain
	// RemoteOptions are used to read a pushed index back by digest.
	RemoteOptions []remote.Option
	// Progress is the progress display mode: auto, tty, plain, rawjson or
	// quiet; empty means auto.
	Progress string
	// ProgressOut receives progress; nil means io.Discard.
	ProgressOut io.Writer
	// Provenance, when set, asks BuildKit for SLSA v1 provenance of the
	// build in max mode, pushed as an attestation manifest per platform
	// in the image index (a single-platform image then becomes an index).
	// Default: none.
	Provenance *Provenance
	// SBOMGenerator, when set, asks BuildKit for an SPDX SBOM of each
	// platform, made by running this image (a generator implementing
	// BuildKit's SBOM scanning protocol, such as docker/buildkit-syft-scanner)
	// on the result; pushed in the attestation manifest as with Provenance.
	// BuildKit pulls the image itself. Default: none.
	SBOMGenerator string
	// BeforeExport, when set, is called once the build has succeeded and
	// before anything is exported: the image is pushed only after it
	// returns nil. An error stops the build with nothing pushed, and Build
	// returns it as it is. A release waits here for its signing key, so
	// that decrypting the key (or getting a certificate) overlaps the build
	// and an image that could not be signed is never pushed.
	BeforeExport func(context.Context) error
	// ExportAttempts bounds how many times a push that failed on a
	// transient registry error is tried in all, and a solve buildkitd lost
	// before the build began; 0 is DefaultExportAttempts.
	ExportAttempts int
	// Logger is told about export retries, at warning level; nil logs
	// nothing.
	Logger *slog.Logger
}

// Provenance is the context BuildKit records in the provenance: what it
// cannot know itself on a remote or shared buildkitd. An empty field is
// left to BuildKit.
type Provenance struct {
	// BuilderID is the provenance's runDetails.builder.id: the CI job's
	// URL (SLSA: the entity that ran the build).
	BuilderID string
	// VCSSource and VCSRevision are the source repository URL and the
	// commit built (the frontend's vcs:source and vcs:revision, recorded
	// in the predicate's buildkit_metadata.vcs).
	VCSSource, VCSRevision string
}

// attrs are the frontend attributes that ask for p.
func (p *Provenance) attrs() map[string]string {
	fields := []string{"mode=max"}
	if p.BuilderID != "" {
		fields = append(fields, "builder-id="+p.BuilderID)
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write(fields) // a strings.Builder does not fail
	w.Flush()
	attrs := map[string]string{"attest:provenance": strings.TrimSuffix(b.String(), "\n")}
	if p.VCSSource != "" {
		attrs["vcs:source"] = p.VCSSource
	}
	if p.VCSRevision != "" {
		attrs["vcs:revision"] = p.VCSRevision
	}
	return attrs
}

// dockerfileLocation splits the Dockerfile path into its directory and name.
func (r Request) dockerfileLocation() (dir, file string) {
	df := r.Dockerfile
	if df == "" {
		df = filepath.Join(r.ContextDir, "Dockerfile")
	}
	return filepath.Dir(df), filepath.Base(df)
}

// Validate checks the request's paths and values before anything is sent;
// Build expects a request Validate accepted.
func (r Request) Validate() error {
	if r.ContextDir == "" {
		return errors.New("no build context: give a directory (. for the current one)")
	}
	if st, err := os.Stat(r.ContextDir); err != nil || !st.IsDir() {
		return fmt.Errorf("build context %q is not a directory", r.ContextDir)
	}
	dir, file := r.dockerfileLocation()
	if st, err := os.Stat(filepath.Join(dir, file)); err != nil || st.IsDir() {
		//lint:ignore ST1005 Dockerfile is a name
		return fmt.Errorf("Dockerfile %q not found: give its path with {builder.Request.Dockerfile}", filepath.Join(dir, file))
	}
	if err := r.checkDockerignore(); err != nil {
		return err
	}
	if len(r.Tags) == 0 {
		return ErrNoTag
	}
	if !r.Insecure {
		for _, t := range r.Tags {
			if loopback(t.RegistryStr()) {
				return fmt.Errorf("buildkitd pushes to a loopback registry (%s) over plain HTTP whatever TLS it offers: "+
					"allow that with {builder.Request.Insecure} %s", t.RegistryStr(), t.RegistryStr())
			}
		}
	}
	switch r.Progress {
	case "", "auto", "tty", "plain", "rawjson", "quiet":
	default:
		return fmt.Errorf("invalid {builder.Request.Progress} %q: want auto, tty, plain, rawjson or quiet", r.Progress)
	}
	for _, p := range r.Platforms {
		if _, err := platforms.Parse(p); err != nil {
			return fmt.Errorf("invalid {builder.Request.Platforms} %q: %w", p, err)
		}
	}
	for _, kvs := range [][]string{r.BuildArgs, r.Labels} {
		if _, err := keyValues(kvs); err != nil {
			return err
		}
	}
	for flag, entries := range map[string][]string{"{builder.Request.CacheFrom}": r.CacheFrom, "{builder.Request.CacheTo}": r.CacheTo} {
		for _, e := range entries {
			if !strings.HasPrefix(e, "type=") && !strings.Contains(e, ",type=") {
				return fmt.Errorf("invalid %s %q: want type=registry,ref=REPO:TAG or type=local,src=DIR|dest=DIR", flag, e)
			}
		}
	}
	if _, err := annotationAttrs(r.Annotations, r.pushesIndex()); err != nil {
		return err
	}
	// Secrets and ssh sources name files and sockets: check them now, so a
	// missing one is bad input rather than a failed build.
	_, err := r.attachables()
	return err
}

// loopback reports whether buildkitd's resolver, by default, reaches host
// over plain HTTP only: localhost and loopback addresses (containerd's
// docker.MatchLocalhost), with or without a port.
func loopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// frontendAttrs translates the request into dockerfile.v0 frontend options.
func (r Request) frontendAttrs() map[string]string {
	_, file := r.dockerfileLocation()
	attrs := map[string]string{"filename": file}
	if r.Target != "" {
		attrs["target"] = r.Target
	}
	if len(r.Platforms) > 0 {
		attrs["platform"] = strings.Join(r.Platforms, ",")
	}
	if r.NoCache {
		attrs["no-cache"] = ""
	}
	args, _ := keyValues(r.BuildArgs)
	for k, v := range args {
		attrs["build-arg:"+k] = v
	}
	labels, _ := keyValues(r.Labels)
	for k, v := range labels {
		attrs["label:"+k] = v
	}
	if r.Provenance != nil {
		maps.Copy(attrs, r.Provenance.attrs())
	}
	if r.SBOMGenerator != "" {
		attrs["attest:sbom"] = sbomAttr(r.SBOMGenerator)
	}
	return attrs
}

// exportAttrs translates the request into the image exporter's options.
func (r Request) exportAttrs() map[string]string {
	var names []string
	for _, t := range r.Tags {
		n := t.String()
		if r.PushByDigest {
			n = t.Context().Name()
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	attrs := map[string]string{
		"name":           strings.Join(names, ","),
		"push":           "true",
		"oci-mediatypes": "true",
	}
	if r.PushByDigest {
		attrs["push-by-digest"] = "true"
	}
	if r.SkipTLSVerify {
		attrs["registry.insecure"] = "true"
	}
	ann, _ := annotationAttrs(r.Annotations, r.pushesIndex())
	for k, v := range ann {
		attrs[k] = v
	}
	return attrs
}

// solveOpt builds the complete solve options, including session
// attachables for credentials, secrets and ssh.
func (r Request) solveOpt() (client.SolveOpt, error) {
	dfDir, _ := r.dockerfileLocation()
	ctxFS, err := fsutil.NewFS(r.ContextDir)
	if err != nil {
		return client.SolveOpt{}, fmt.Errorf("build context %q: %w", r.ContextDir, err)
	}
	dfFS, err := fsutil.NewFS(dfDir)
	if err != nil {
		return client.SolveOpt{}, fmt.Errorf("reading the Dockerfile's directory %q: %w", dfDir, err)
	}
	attach, err := r.attachables()
	if err != nil {
		return client.SolveOpt{}, err
	}
	cacheImports, err := bkbuild.ParseImportCache(r.CacheFrom)
	if err != nil {
		return client.SolveOpt{}, fmt.Errorf("invalid {builder.Request.CacheFrom}: %w", err)
	}
	cacheExports, err := bkbuild.ParseExportCache(r.CacheTo)
	if err != nil {
		return client.SolveOpt{}, fmt.Errorf("invalid {builder.Request.CacheTo}: %w", err)
	}
	return client.SolveOpt{
		Frontend:      frontend,
		FrontendAttrs: r.frontendAttrs(),
		LocalMounts:   map[string]fsutil.FS{"context": ctxFS, "dockerfile": dfFS},
		Exports:       []client.ExportEntry{{Type: client.ExporterImage, Attrs: r.exportAttrs()}},
		CacheImports:  cacheImports,
		CacheExports:  cacheExports,
		Session:       attach,
	}, nil
}

func (r Request) attachables() ([]session.Attachable, error) {
	attach := []session.Attachable{authProvider(r.Keychain)}
	if len(r.Secrets) > 0 {
		sp, err := bkbuild.ParseSecret(r.Secrets)
		if err != nil {
			return nil, fmt.Errorf("invalid {builder.Request.Secrets}: %w", err)
		}
		attach = append(attach, sp)
	}
	if len(r.SSH) > 0 {
		configs, err := bkbuild.ParseSSH(r.SSH)
		if err != nil {
			return nil, fmt.Errorf("invalid {builder.Request.SSH}: %w", err)
		}
		sp, err := sshprovider.NewSSHAgentProvider(configs)
		if err != nil {
			return nil, fmt.Errorf("{builder.Request.SSH}: %w", err)
		}
		attach = append(attach, sp)
	}
	return attach, nil
}

// pushesIndex reports whether the build pushes an image index: for
// several platforms, or with provenance (BuildKit adds its attestation
// manifests to an index).
func (r Request) pushesIndex() bool {
	return len(r.Platforms) > 1 || r.Provenance != nil
}

// keyValues parses KEY=VALUE pairs; the key must not be empty.
func keyValues(kvs []string) (map[string]string, error) {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("invalid %q: want KEY=VALUE", kv)
		}
		m[k] = v
	}
	return m, nil
}

// annotationAttrs maps annotations to image exporter attributes. Without a
// level prefix an annotation goes on the manifest(s) and, when an index is
// pushed (several platforms, or provenance), on the index too.
func annotationAttrs(anns []string, index bool) (map[string]string, error) {
	attrs := map[string]string{}
	for _, a := range anns {
		levels := []string{"manifest"}
		if index {
			levels = append(levels, "index")
		}
		if lvl, rest, ok := strings.Cut(a, ":"); ok && slices.Contains([]string{"manifest", "index"}, lvl) {
			levels, a = []string{lvl}, rest
		}
		if levels[0] == "index" && !index {
			return nil, fmt.Errorf("invalid {builder.Request.Annotations} %q: a single-platform image without provenance has no index; "+
				"index: annotations need several {builder.Request.Platforms} or {builder.Request.Provenance} (use manifest: or no prefix)", "index:"+a)
		}
		kv, err := keyValues([]string{a})
		if err != nil {
			return nil, fmt.Errorf("invalid {builder.Request.Annotations}: %w", err)
		}
		for k, v := range kv {
			for _, lvl := range levels {
				prefix := "annotation."
				if lvl == "index" {
					prefix = "annotation-index."
				}
				attrs[prefix+k] = v
			}
		}
	}
	return attrs, nil
}

// sbomAttr is the attest:sbom frontend attribute that asks for an SBOM
// made by generator (CSV fields, quoted where needed).
func sbomAttr(generator string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"generator=" + generator}) // a strings.Builder does not fail
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}
