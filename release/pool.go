package release

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/containerd/platforms"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/builder/pool"
	"github.com/hallmark-dev/hallmark/internal/parallel"
)

// PlatformNode is where a pool release built one platform.
type PlatformNode struct {
	Platform string `json:"platform"`
	// Node and Addr are the node that built it.
	Node string `json:"node"`
	Addr string `json:"addr"`
	// Digest is what the node pushed: the platform's manifest, or an index
	// of it and its attestation manifests.
	Digest v1.Hash `json:"digest"`
	// Skipped are the nodes tried first that were unreachable.
	Skipped []pool.Skip `json:"skipped,omitempty"`
	// Busy are the nodes before Node in the hashing order passed over for
	// their load (Options.Balance).
	Busy []pool.Busy `json:"busy,omitempty"`
}

// runPool is Run over a pool (Options.Pool): each platform is built on
// its node and pushed there by digest, with nothing tagged. As soon as a
// platform's node has pushed it, that platform's stage starts while the
// other nodes still build: with Build.Request.Provenance its consistency
// gate, then its manifest (and its attestation manifest) signed, its
// provenance attested, each verified — what a one-node Recursive release
// makes for it (signAndVerify). Once every node is done, the platforms'
// manifests and the attestation manifests BuildKit made are merged into
// one index, pushed by digest, signed and verified; and only once every
// platform's stage has passed is the index tagged (tagStage, as Run
// tags). A failure anywhere — a node's build, a platform's gate,
// signature or verification, the index's — cancels the rest, and every
// signature and attestation the release wrote is withdrawn: a release
// that fails leaves nothing signed (the error says what the registry
// kept, if it refused to delete).
func runPool(ctx context.Context, o Options, obs Observer) (*Result, error) {
	req, err := o.Build.request(ctx)
	if err != nil {
		return nil, StageError(StageUsage, err)
	}
	if err := checkPool(o, req); err != nil {
		return nil, StageError(StageUsage, err)
	}
	if err := checkToken(o); err != nil {
		return nil, err
	}
	pending := StartSigner(ctx, o.Signer)
	defer pending.Stop()
	g := &poolGate{prepare: func(waitCtx context.Context) (*signingSetup, error) { return prepare(ctx, waitCtx, o, pending) }}
	req.BeforeExport = g.wait

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	ps := &poolSigning{o: o, gate: g, cancel: cancel, platforms: make([]*platformStage, len(req.Platforms))}
	end := obs.Stage(StageBuild, "build on the pool and push "+strings.Join(o.Build.Tags, ", "))
	built, nodes, down, err := buildOnPool(runCtx, o, req, ps)
	end()
	if err != nil {
		cancel()
		if err = ps.cause(err); g.err != nil {
			err = g.err // the signer could not be prepared: nothing was pushed
		}
		return nil, ps.rollback(ctx, err)
	}
	setup := g.ready()
	if setup == nil {
		return nil, StageError(StageBuild, errors.New("the build exported without calling BeforeExport"))
	}
	res, err := ps.signIndex(runCtx, obs, setup, built)
	if err != nil {
		cancel()
		return nil, ps.rollback(ctx, ps.cause(err))
	}
	res.Nodes, res.Down = nodes, down
	end = obs.Stage(StageTag, "tag "+strings.Join(o.Build.Tags, ", "))
	err = tagStage(ctx, o.Build, built)
	end()
	if err != nil {
		return nil, err
	}
	return res, nil
}

// checkPool checks what a pool release needs: platforms to spread, and
// one repository (the nodes push the platforms there by digest).
func checkPool(o Options, req builder.Request) error {
	if len(req.Platforms) == 0 {
		return errors.New("a release on several buildkitd nodes needs the platforms to build: give {builder.Request.Platforms}")
	}
	repo := req.Tags[0].Context()
	for _, t := range req.Tags[1:] {
		if t.Context() != repo {
			return fmt.Errorf("a release on several buildkitd nodes pushes to one repository: %s and %s differ", repo, t.Context())
		}
	}
	if err := o.Balance.Validate(); err != nil {
		return err
	}
	return pool.Validate(o.Pool)
}

// poolGate is the nodes' BeforeExport: the first to get there prepares
// the signer and verifier, the others wait for the same result.
type poolGate struct {
	prepare func(context.Context) (*signingSetup, error)
	mu      sync.Mutex
	setup   *signingSetup
	err     error
}

func (g *poolGate) wait(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.setup != nil || g.err != nil {
		return g.err
	}
	s, err := g.prepare(ctx)
	if err != nil && ctx.Err() != nil {
		return ctx.Err() // this node's build was cancelled: another may still prepare
	}
	g.setup, g.err = s, err
	return err
}

// nodeBuild is one platform's build on its node.
type nodeBuild struct {
	res    *builder.Result
	placed pool.Placed
	// descs are what the node pushed (pushedDescriptors); nil: not read
	// yet.
	descs []v1.Descriptor
}

// buildOnPool discovers the pool, builds each platform on its node in
// parallel (the first failure cancels the others), starts each
// platform's stage (ps) as soon as its node pushed it, and, once all are
// built, merges the results.
func buildOnPool(ctx context.Context, o Options, req builder.Request, ps *poolSigning) (*builder.Result, []PlatformNode, []pool.Skip, error) {
	start := time.Now()
	p, err := pool.Discover(ctx, o.Pool, o.Logger)
	if err != nil {
		return nil, nil, nil, StageError(StageBuild, err)
	}
	p.Balance = o.Balance
	logger := o.logger()
	logger.DebugContext(ctx, "pool discovered", "elapsed", time.Since(start))
	repo := req.Tags[0].Context()
	key := pool.Key{Repository: repo.Name(), Context: req.ContextDir, Dockerfile: req.Dockerfile, Target: req.Target}
	ropts := append(slices.Clone(req.RemoteOptions), remote.WithContext(ctx))
	builds := make([]nodeBuild, len(req.Platforms))
	errs := parallel.ForEach(len(req.Platforms), parallel.Max, func(i int) error {
		r := req
		r.Platforms, r.PushByDigest = []string{req.Platforms[i]}, true
		r.Annotations = nodeAnnotations(req.Annotations)
		if o.RegistryCache {
			from, to := registryCache(repo, r.Platforms, r.Insecure)
			r.CacheFrom, r.CacheTo = append(r.CacheFrom, from), append(r.CacheTo, to)
		}
		placed, err := p.Build(ctx, key, req.Platforms[i], func(ctx context.Context, b *builder.Builder) error {
			res, err := b.Build(ctx, r)
			builds[i].res = res
			return err
		})
		builds[i].placed = placed
		logger.DebugContext(ctx, "platform built and pushed", "platform", req.Platforms[i], "node", placed.Node, "elapsed", time.Since(start), "error", err)
		if err != nil {
			err = fmt.Errorf("%s: %w", req.Platforms[i], explainPushError(err, o.Build.Registry, req.Tags))
			ps.fail(StageError(StageBuild, err)) // cancels the other builds and the platforms' stages
			return err
		}
		if builds[i].descs, err = pushedDescriptors(repo, req.Platforms[i], builds[i].res, ropts); err != nil {
			ps.fail(StageError(StageBuild, err))
			return err
		}
		ps.startPlatform(ctx, i, req.Platforms[i], repo, builds[i].res.Digest, builds[i].descs)
		return nil
	})
	if err := firstCause(errs); err != nil {
		return nil, nil, nil, StageError(StageBuild, err)
	}
	built, err := mergeIndex(ctx, req, builds)
	if err != nil {
		return nil, nil, nil, StageError(StageBuild, err)
	}
	logger.DebugContext(ctx, "index merged and pushed", "digest", built.Digest, "elapsed", time.Since(start))
	nodes := make([]PlatformNode, len(builds))
	for i, b := range builds {
		nodes[i] = PlatformNode{Platform: req.Platforms[i], Node: b.placed.Node, Addr: b.placed.Addr, Digest: b.res.Digest, Skipped: b.placed.Skipped, Busy: b.placed.Busy}
	}
	return built, nodes, p.Down(), nil
}

// firstCause is the first error that is not a cancellation caused by
// another's failure, else the first.
func firstCause(errs []error) error {
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return parallel.FirstError(errs)
}

// NodeOf is the name of the node of a pool release that built platform
// (os/arch[/variant], compared normalized: linux/arm64/v8 is
// linux/arm64), "" for a one-node release or a platform it did not build.
func (r *Result) NodeOf(platform string) string {
	want := normalPlatform(platform)
	for _, n := range r.Nodes {
		if want != "" && normalPlatform(n.Platform) == want {
			return n.Node
		}
	}
	return ""
}

// normalPlatform is platform normalized (os/arch[/variant]), "" when it
// does not parse.
func normalPlatform(platform string) string {
	p, err := platforms.Parse(platform)
	if err != nil {
		return ""
	}
	return platforms.Format(platforms.Normalize(p))
}
