package builder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/util/progress/progressui"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/status"
)

// ErrNoDigest is returned when buildkitd's answer holds no image digest.
var ErrNoDigest = errors.New("buildkitd reported no image digest")

// PlatformDigest is one platform's manifest in a multi-platform index.
type PlatformDigest struct {
	Platform string  `json:"platform"`
	Digest   v1.Hash `json:"digest"`
	// MediaType and Size complete the manifest's descriptor, as the index
	// lists it (not in the JSON outputs).
	MediaType string `json:"-"`
	Size      int64  `json:"-"`
	// Attestation is the descriptor of BuildKit's attestation manifest for
	// this platform's manifest (its provenance, Request.Provenance), as
	// the index lists it; nil when there is none.
	Attestation *v1.Descriptor `json:"-"`
}

// Result is what a build pushed.
type Result struct {
	// Image is the pushed image pinned by digest (first tag's repository).
	Image name.Digest `json:"-"`
	// Digest is the manifest (or index) digest from the solve response.
	Digest v1.Hash `json:"digest"`
	// MediaType is the pushed manifest's media type.
	MediaType string `json:"mediaType,omitempty"`
	// Size is the pushed manifest's size in bytes.
	Size int64 `json:"size,omitempty"`
	// Tags are the tags pushed; none with Request.PushByDigest.
	Tags []string `json:"tags"`
	// Platforms lists each platform's manifest for a multi-platform index.
	Platforms []PlatformDigest `json:"platforms,omitempty"`
	// Manifests are the descriptors of the pushed index as read back
	// (when the push is an index), annotations included: a pool release
	// merges them without reading the index again.
	Manifests []v1.Descriptor `json:"-"`
	// ExporterResponse is BuildKit's exporter response as received.
	ExporterResponse map[string]string `json:"exporterResponse"`
}

// Build runs req on buildkitd and returns the pushed digest. req must be
// one Validate accepted: callers validate once, before connecting, and
// Build does not check it again.
//
// buildkitd does not retry its own push: when the export fails on a
// transient registry error (see transientPushError) after the build
// succeeded, Build runs the request again — the build is cached, so only
// the export is redone — up to ExportAttempts times in all, with backoff.
// So it does, within the same bound, when buildkitd lost the solve before
// the build began (see unregisteredJob). A failing build step is never
// retried.
func (b *Builder) Build(ctx context.Context, req Request) (*Result, error) {
	opt, err := req.solveOpt()
	if err != nil {
		return nil, err
	}
	mode := progressui.DisplayMode(req.Progress)
	if mode == "" {
		mode = progressui.AutoMode
	}
	if _, err := progressui.NewDisplay(io.Discard, mode); err != nil {
		return nil, fmt.Errorf("invalid {builder.Request.Progress} %q: want auto, tty, plain, rawjson or quiet", req.Progress)
	}
	attempts := req.ExportAttempts
	if attempts <= 0 {
		attempts = DefaultExportAttempts
	}
	for attempt := 1; ; attempt++ {
		resp, exported, err := b.solve(ctx, req, opt, mode)
		if err == nil {
			return req.result(ctx, resp.ExporterResponse)
		}
		pushFailed := exported && transientPushError(err.Error())
		lost := !exported && unregisteredJob(err.Error())
		if !pushFailed && !lost || attempt >= attempts || ctx.Err() != nil {
			return nil, err
		}
		wait := exportBackoff << (attempt - 1)
		if req.Logger != nil {
			what := "pushing the image failed on a transient registry error; exporting again (the build is cached)"
			if lost {
				what = "buildkitd lost the build before it began (it registered the job too late); building again"
			}
			req.Logger.WarnContext(ctx, what, "attempt", attempt+1, "of", attempts, "after", wait, "error", err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, fmt.Errorf("building on %s: %w", b.addr, ctx.Err())
		}
	}
}

// solve runs req once. exported reports whether the build succeeded (and
// BeforeExport returned nil) before the error: an error then comes from
// the export — the push — or the cache export.
func (b *Builder) solve(ctx context.Context, req Request, opt client.SolveOpt, mode progressui.DisplayMode) (*client.SolveResponse, bool, error) {
	out := req.ProgressOut
	if out == nil {
		out = io.Discard
	}
	display, err := progressui.NewDisplay(out, mode)
	if err != nil {
		return nil, false, err
	}
	ch := make(chan *client.SolveStatus)
	var resp *client.SolveResponse
	var gateErr error // BeforeExport's error
	var exported atomic.Bool
	eg, ectx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		var err error
		// The Dockerfile frontend runs through a build function, which
		// returns its result before buildkitd exports (pushes) it: the
		// place for BeforeExport. The frontend's result is lazy (the
		// Dockerfile turned into LLB, nothing run yet); Evaluate runs the
		// build first, so that BeforeExport's wait overlaps the build, a
		// failing step fails the build without it, and an error after the
		// function returned is the export's.
		resp, err = b.c.Build(ectx, opt, "hallmark", func(ctx context.Context, gw gateway.Client) (*gateway.Result, error) {
			res, err := gw.Solve(ctx, gateway.SolveRequest{Frontend: frontend, FrontendOpt: gw.BuildOpts().Opts, Evaluate: true})
			if err != nil {
				return nil, err
			}
			if req.BeforeExport != nil {
				if gateErr = req.BeforeExport(ctx); gateErr != nil {
					return nil, gateErr
				}
			}
			exported.Store(true)
			return res, nil
		}, ch)
		return err
	})
	eg.Go(func() error {
		// The display gets its own context so it finishes drawing after
		// the solve ends; the solve closes ch.
		_, err := display.UpdateFrom(context.WithoutCancel(ectx), ch)
		return err
	})
	if err := eg.Wait(); err != nil {
		if gateErr != nil {
			return nil, false, gateErr
		}
		if ctx.Err() != nil {
			return nil, false, fmt.Errorf("building on %s: %w", b.addr, ctx.Err())
		}
		msg := fmt.Errorf("building on %s: %s", b.addr, cleanError(err))
		if transportFailure(err) {
			return nil, exported.Load(), &TransportError{Addr: b.addr, Err: msg}
		}
		return nil, exported.Load(), msg
	}
	return resp, true, nil
}

// result reads the pushed digest from the exporter response and, for an
// index, each platform's manifest from the registry by digest.
func (r Request) result(ctx context.Context, exp map[string]string) (*Result, error) {
	res, err := parseExporterResponse(exp)
	if err != nil {
		return nil, err
	}
	if !r.PushByDigest {
		for _, t := range r.Tags {
			res.Tags = append(res.Tags, t.String())
		}
	}
	res.Image = r.Tags[0].Context().Digest(res.Digest.String())
	if isIndex(res.MediaType) || len(r.Platforms) > 1 {
		idx, err := remote.Index(res.Image, append(r.RemoteOptions, remote.WithContext(ctx))...)
		if err != nil {
			return nil, fmt.Errorf("reading pushed index %s: %w", res.Image, err)
		}
		if res.Platforms, err = platformDigests(idx); err != nil {
			return nil, fmt.Errorf("reading pushed index %s: %w", res.Image, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("reading pushed index %s: %w", res.Image, err)
		}
		res.Manifests = im.Manifests
	}
	return res, nil
}

// parseExporterResponse extracts the digest (required) and descriptor.
func parseExporterResponse(exp map[string]string) (*Result, error) {
	dgst, ok := exp[exptypes.ExporterImageDigestKey]
	if !ok || dgst == "" {
		return nil, ErrNoDigest
	}
	h, err := v1.NewHash(dgst)
	if err != nil {
		return nil, fmt.Errorf("buildkitd reported an invalid image digest %q: %w", dgst, err)
	}
	res := &Result{Digest: h, ExporterResponse: exp}
	if raw := exp[exptypes.ExporterImageDescriptorKey]; raw != "" {
		var desc ocispecs.Descriptor
		if err := json.Unmarshal(decodeMaybeBase64(raw), &desc); err == nil {
			if desc.Digest.String() != h.String() {
				return nil, fmt.Errorf("buildkitd reported digest %s but descriptor %s", h, desc.Digest)
			}
			res.MediaType, res.Size = desc.MediaType, desc.Size
		}
	}
	return res, nil
}

func isIndex(mt string) bool {
	return mt == ocispecs.MediaTypeImageIndex || mt == "application/vnd.docker.distribution.manifest.list.v2+json"
}

// BuildKit's annotations on an attestation manifest's index entry: its
// reference type, and the digest of the image manifest it is about.
const (
	AnnotationReferenceType   = "vnd.docker.reference.type"
	AnnotationReferenceDigest = "vnd.docker.reference.digest"
	ReferenceTypeAttestation  = "attestation-manifest"
)

// platformDigests lists an index's image manifests by platform, skipping
// attestation manifests.
func platformDigests(idx v1.ImageIndex) ([]PlatformDigest, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var out []PlatformDigest
	attestations := map[string]*v1.Descriptor{} // by the digest of the manifest they are about
	for _, m := range im.Manifests {
		if m.Annotations[AnnotationReferenceType] == ReferenceTypeAttestation {
			attestations[m.Annotations[AnnotationReferenceDigest]] = &m
			continue
		}
		if m.Platform == nil {
			continue
		}
		p := ocispecs.Platform{OS: m.Platform.OS, Architecture: m.Platform.Architecture, Variant: m.Platform.Variant}
		out = append(out, PlatformDigest{Platform: platforms.Format(p), Digest: m.Digest, MediaType: string(m.MediaType), Size: m.Size})
	}
	for i := range out {
		out[i].Attestation = attestations[out[i].Digest.String()]
	}
	return out, nil
}

// cleanError reduces a BuildKit/gRPC error to its innermost message, and
// a failed connection helper's (kubectl or docker exec) to one line.
func cleanError(err error) string {
	msg := err.Error()
	if s, ok := status.FromError(err); ok {
		msg = s.Message()
	}
	if i := strings.Index(msg, `desc = "`); i >= 0 {
		// gRPC quotes the connection error: the rest is one quoted string.
		if u, err := strconv.Unquote(strings.TrimSpace(msg[i+len("desc = "):])); err == nil {
			msg = u
		}
	}
	if i := strings.LastIndex(msg, "desc = "); i >= 0 {
		msg = msg[i+len("desc = "):]
	}
	msg = strings.Trim(strings.TrimSpace(msg), `"`)
	msg = strings.TrimPrefix(msg, "transport: Error while dialing: ")
	if m := helperExit.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("`%s` exited with %s", m[1], m[2])
		if last := lastLine(m[3]); last != "" {
			msg += ": " + last
		}
	}
	return msg
}

// helperExit matches the error of a BuildKit connection helper whose
// command (kubectl exec, docker exec) failed: the command, how it exited,
// and its stderr, after a hint about Docker that does not apply to kubectl.
var helperExit = regexp.MustCompile(`(?s)command \[(.*?)\] has exited with (.*?), make sure the URL is valid, and Docker 18\.09 or later is installed on the remote host: stderr=(.*)$`)

// lastLine is the last non-blank line of s, trimmed: where kubectl and
// docker say what went wrong.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
