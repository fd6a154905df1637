package release

import (
	"context"
	"fmt"

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
	tags, insecure, err := resolveTags(o.Registry, o.Tags)
	if err != nil {
		return req, err
	}
	req.Tags, req.Insecure = tags, insecure
	req.Keychain = o.Registry.Keychain()
	req.RemoteOptions = o.Registry.RemoteOptions(ctx)
	return req, req.Validate()
}

// resolveTags parses the tags and decides whether the push may use plain
// HTTP: all tags' registries must agree.
func resolveTags(reg *registry.Registry, tags []string) ([]name.Tag, bool, error) {
	if len(tags) == 0 {
		return nil, false, builder.ErrNoTag
	}
	out := make([]name.Tag, 0, len(tags))
	insecure := 0
	for _, s := range tags {
		t, err := reg.ParseTag(s)
		if err != nil {
			return nil, false, err
		}
		if reg.IsInsecure(t.RegistryStr()) {
			insecure++
		}
		out = append(out, t)
	}
	if insecure != 0 && insecure != len(out) {
		return nil, false, fmt.Errorf("tags mix insecure and TLS registries; push to one kind per build")
	}
	return out, insecure > 0, nil
}

// explainPushError adds which credential source was used when the registry
// refused the push.
func explainPushError(err error, reg *registry.Registry, tags []name.Tag) error {
	return reg.ExplainRefusal(err, tags[0].RegistryStr(), "push")
}
