package release

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/registry"
)

// BuildOptions are one build and push.
type BuildOptions struct {
	// Connect says how to reach buildkitd; an empty Addr is resolved to a
	// default socket once, here.
	Connect builder.ConnectOptions
	// Request is the build. Build sets its Tags, Insecure, Keychain and
	// RemoteOptions from Tags and Registry.
	Request builder.Request
	// Tags are the full REGISTRY/REPO:TAG references to push.
	Tags []string
	// Registry gives the credentials, the insecure hosts and the transport.
	Registry *registry.Registry
}

// Build validates o, connects to buildkitd and builds and pushes the
// image. Bad input is a StageUsage error (nothing contacted), anything
// else StageBuild; an error BeforeExport returns is returned as it is.
func Build(ctx context.Context, o BuildOptions) (*builder.Result, error) {
	req, err := o.request(ctx)
	if err != nil {
		return nil, StageError(StageUsage, err)
	}
	conn := o.Connect
	addr, err := builder.ResolveAddress(conn)
	if err != nil {
		return nil, StageError(StageBuild, err) // no buildkitd here: as unreachable as a dead one
	}
	conn.Addr = addr
	if err := conn.Validate(); err != nil {
		return nil, StageError(StageUsage, err)
	}
	b, err := builder.Connect(ctx, conn)
	if err != nil {
		return nil, StageError(StageBuild, err)
	}
	defer b.Close()
	res, err := b.Build(ctx, req)
	if err != nil {
		return nil, StageError(StageBuild, explainPushError(err, o.Registry, req.Tags))
	}
	return res, nil
}

// request completes and validates the build request.
func (o BuildOptions) request(ctx context.Context) (builder.Request, error) {
	req := o.Request
	tags, err := parseTags(o.Registry, o.Tags)
	if err != nil {
		return req, err
	}
	req.Tags = tags
	if req.Insecure, err = allOrNone(tags, o.Registry.IsInsecure, "plain HTTP ({registry.Config.Insecure})"); err != nil {
		return req, err
	}
	if req.SkipTLSVerify, err = allOrNone(tags, o.Registry.SkipsTLSVerify, "TLS verification skipped ({registry.Config.SkipTLSVerify})"); err != nil {
		return req, err
	}
	req.Keychain = o.Registry.Keychain()
	req.RemoteOptions = o.Registry.RemoteOptions(ctx)
	return req, req.Validate()
}

// parseTags parses the tags; there must be one at least.
func parseTags(reg *registry.Registry, tags []string) ([]name.Tag, error) {
	if len(tags) == 0 {
		return nil, builder.ErrNoTag
	}
	out := make([]name.Tag, 0, len(tags))
	for _, s := range tags {
		t, err := reg.ParseTag(s)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// allOrNone reports whether allowed holds for the registry of every tag:
// buildkitd's push has one setting for all, so the tags' registries must
// agree.
func allOrNone(tags []name.Tag, allowed func(host string) bool, what string) (bool, error) {
	n := 0
	for _, t := range tags {
		if allowed(t.RegistryStr()) {
			n++
		}
	}
	if n != 0 && n != len(tags) {
		return false, fmt.Errorf("tags mix registries with and without %s; push to one kind per build", what)
	}
	return n > 0, nil
}

// explainPushError adds which credential source was used when the registry
// refused the push, and which option is about TLS when the registry's
// certificate was not trusted or it answered HTTPS with plain HTTP.
func explainPushError(err error, reg *registry.Registry, tags []name.Tag) error {
	msg := strings.ToLower(err.Error())
	host := tags[0].RegistryStr()
	switch {
	case strings.Contains(msg, "x509:") || strings.Contains(msg, "tls: failed to verify"):
		return fmt.Errorf("%w (buildkitd does not trust the TLS certificate of registry %s: trust its CA in buildkitd, "+
			"or skip the check with {registry.Config.SkipTLSVerify} %s; {registry.Config.Insecure} only allows plain HTTP)", err, host, host)
	case strings.Contains(msg, "server gave http response to https client") && reg.IsInsecure(host):
		return fmt.Errorf("%w (registry %s speaks plain HTTP, which buildkitd uses for a registry other than localhost only when "+
			"its buildkitd.toml says so: [registry.%q] http = true)", err, host, host)
	}
	return reg.ExplainRefusal(err, host, "push")
}
