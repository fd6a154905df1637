package release

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/internal/parallel"
	"github.com/hallmark-dev/hallmark/signer"
)

// rollbackTimeout bounds the rollback of a failed pool release, which
// runs even when the release was cancelled.
const rollbackTimeout = 2 * time.Minute

// poolSigning is a pool release's signing: each platform's stage starts
// as soon as its node pushed it, while the other nodes still build; the
// index's once the nodes are done and the index merged. The first
// failure cancels the builds and the stages; the caller then rolls back
// whatever was written (rollback).
type poolSigning struct {
	o    Options
	gate *poolGate
	// cancel stops the builds and the stages.
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// first is the first failure of a build or a stage (fail): the
	// cause; those that follow may be its cancellation.
	mu    sync.Mutex
	first error
	// platforms are the platforms' stages, in the platforms' order; nil
	// for a platform whose node did not push.
	platforms []*platformStage
	// index is the index's signing (the merged index, and the SBOMs'
	// attestation manifests no platform stage signed).
	index []*signer.Result
	sboms []SBOM
}

// platformStage is one platform's signing: its manifest, and with
// provenance its attestation manifest (after the consistency gate), and
// its provenance attested; each verified.
type platformStage struct {
	// manifests is how many of subjects are platform manifests; the
	// attestation manifests follow them.
	manifests int
	subjects  []signer.Subject
	signed    []*signer.Result
	verified  []verification
	provs     []Provenance
	err       error
}

// setup is the signing setup the nodes' BeforeExport prepared; nil when
// no node got that far.
func (g *poolGate) ready() *signingSetup {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.setup
}

// startPlatform starts platform i's stage once its node pushed descs to
// repo (by digest). The node passed BeforeExport, so the signer is ready.
func (ps *poolSigning) startPlatform(ctx context.Context, i int, platform string, repo name.Repository, pushed v1.Hash, descs []v1.Descriptor) {
	st := &platformStage{}
	ps.platforms[i] = st
	ps.wg.Add(1)
	go func() {
		defer ps.wg.Done()
		st.err = st.sign(ctx, ps.o, ps.gate.ready(), platform, repo, pushed, descs)
		ps.o.logger().DebugContext(ctx, "platform signed and verified", "platform", platform, "error", st.err)
		if st.err != nil {
			ps.fail(st.err)
		}
	}()
}

// sign is the platform's stage: the same gate, signatures, attestation and
// verifications as signAndVerify makes for it, on what its node pushed.
func (st *platformStage) sign(ctx context.Context, o Options, setup *signingSetup, platform string, repo name.Repository, pushed v1.Hash, descs []v1.Descriptor) error {
	if setup == nil {
		return StageError(StageBuild, fmt.Errorf("%s: the build exported without calling BeforeExport", platform))
	}
	adds := make([]mutate.IndexAddendum, len(descs))
	for i, d := range descs {
		adds[i] = mutate.IndexAddendum{Add: described{d}}
	}
	node := &builder.Result{Image: repo.Digest(pushed.String()), Platforms: mergedPlatforms(adds)}
	st.subjects = Subjects(node, true)[1:]
	st.manifests = len(st.subjects)
	if want := o.Build.Request.Provenance; want != nil {
		// The consistency gate, for this platform: nothing of it is signed
		// unless its provenance is about what its node pushed, by this job.
		if err := checkPlatforms(node, []string{platform}); err != nil {
			return StageError(StageSign, err)
		}
		pv, err := readProvenance(ctx, o.Build.Registry.RemoteOptions(ctx), repo, node.Platforms[0])
		if err == nil {
			err = checkProvenance(pv, want)
		}
		if err != nil {
			return StageError(StageSign, err)
		}
		st.provs = []Provenance{pv}
		st.subjects = append(st.subjects, pv.AttestationManifest)
	}
	var err error
	st.signed, st.verified, err = signAll(ctx, setup, st.subjects, o.Annotations, attestAfterSigning(ctx, setup.signer, node, st.subjects, st.provs))
	if err != nil {
		return fmt.Errorf("%s: %w", platform, err)
	}
	if _, err := verifiedAll(st.verified); err != nil {
		return fmt.Errorf("%s: %w", platform, err)
	}
	return nil
}

// signIndex signs and verifies the merged index (with SBOMs, the SBOMs'
// attestation manifests the platforms' stages did not sign, and the
// SBOMs' attestations), waits for the platforms' stages, and reports it
// all in signAndVerify's order: the Sign stage ends once every signature
// is written, the Verify stage reports the verifications.
func (ps *poolSigning) signIndex(ctx context.Context, obs Observer, setup *signingSetup, built *builder.Result) (*Result, error) {
	req := ps.o.Build.Request
	res := &Result{Build: built, Policy: setup.policy, Identity: setup.signer.Identity()}
	if req.Provenance != nil {
		if err := checkPlatforms(built, req.Platforms); err != nil {
			return nil, StageError(StageSign, err)
		}
	}
	subjects := Subjects(built, false)
	if req.SBOMGenerator != "" {
		sboms, err := readSBOMs(ctx, ps.o.Build.Registry.RemoteOptions(ctx), built)
		if err != nil {
			return nil, StageError(StageSign, err)
		}
		ps.sboms = sboms
		// The platforms' stages sign their attestation manifests with
		// provenance; the others are signed here.
		known := Subjects(built, true)
		if req.Provenance != nil {
			for _, p := range built.Platforms {
				if p.Attestation != nil { // else its stage's gate fails
					known = append(known, signer.Subject{Digest: built.Image.Context().Digest(p.Attestation.Digest.String())})
				}
			}
		}
		subjects = append(subjects, withAttestationManifests(known, sboms)[len(known):]...)
	}
	end := obs.Stage(StageSign, "sign "+built.Image.String())
	signed, verified, err := signAll(ctx, setup, subjects, ps.o.Annotations, nil)
	ps.index = signed
	if err == nil && len(ps.sboms) > 0 {
		err = StageError(StageSign, attestSBOMs(ctx, setup.signer, built, ps.sboms))
	}
	if werr := ps.wait(); err == nil {
		err = werr
	}
	if err != nil {
		end()
		return nil, err
	}
	res.SBOMs = ps.sboms
	res.Signatures = []*signer.Result{signed[0]}
	all := []verification{verified[0]}
	for _, part := range []func(*platformStage) (int, int){
		func(st *platformStage) (int, int) { return 0, st.manifests },
		func(st *platformStage) (int, int) { return st.manifests, len(st.subjects) },
	} {
		for _, st := range ps.platforms {
			from, to := part(st)
			res.Signatures = append(res.Signatures, st.signed[from:to]...)
			all = append(all, st.verified[from:to]...)
		}
	}
	for _, st := range ps.platforms {
		res.Provenance = append(res.Provenance, st.provs...)
	}
	res.Signatures = append(res.Signatures, signed[1:]...)
	all = append(all, verified[1:]...)
	for _, s := range res.Signatures {
		obs.Signed(s, res.Identity)
	}
	end()

	if res.Verifications, err = verifyStage(obs, setup, built, all); err != nil {
		return nil, err
	}
	return res, nil
}

// wait waits for the platforms' stages and returns the first failure.
func (ps *poolSigning) wait() error {
	ps.wg.Wait()
	var errs []error
	for _, st := range ps.platforms {
		if st != nil {
			errs = append(errs, st.err)
		}
	}
	return firstCause(errs)
}

// fail records err, a build's or a stage's failure, as the cause unless
// another came first, and cancels the builds and the stages.
func (ps *poolSigning) fail(err error) {
	ps.mu.Lock()
	if ps.first == nil {
		ps.first = err
	}
	ps.mu.Unlock()
	ps.cancel()
}

// cause is the cause of a pool release's failure err, once the stages
// ended: the first failure of a build or a stage, which cancelled the
// rest; else err.
func (ps *poolSigning) cause(err error) error {
	ps.wg.Wait()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.first != nil {
		return ps.first
	}
	return err
}

// rollback withdraws every signature and attestation the release wrote
// (after the stages ended), and returns cause saying so; and, when the
// registry kept some, which. It runs even when ctx is cancelled: a
// cancelled release takes back what it signed too.
func (ps *poolSigning) rollback(ctx context.Context, cause error) error {
	ps.wg.Wait()
	setup := ps.gate.ready()
	if setup == nil {
		return cause // nothing was pushed, nothing signed
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	// Withdrawals about one digest run one after the other: they rewrite
	// the same legacy signature tag or fallback index, and on a registry
	// without conditional writes two at once can undo each other (one
	// lists again a referrer the other unlisted and deleted). Those about
	// different digests run in parallel.
	var undo []func() (int, error)
	bySubject := map[string][]int{}
	var subjects []string
	add := func(subject name.Digest, f func() (int, error)) {
		k := subject.String()
		if _, ok := bySubject[k]; !ok {
			subjects = append(subjects, k)
		}
		bySubject[k] = append(bySubject[k], len(undo))
		undo = append(undo, f)
	}
	sig := func(r *signer.Result) {
		if r != nil {
			add(r.Digest, func() (int, error) { return added(r.Layouts...), setup.signer.Withdraw(ctx, r) })
		}
	}
	att := func(subject name.Digest, a *signer.Attestation) {
		if a != nil {
			add(subject, func() (int, error) {
				return added(a.Written), setup.signer.WithdrawAttestation(ctx, subject, a)
			})
		}
	}
	for _, st := range ps.platforms {
		if st == nil {
			continue
		}
		for _, r := range st.signed {
			sig(r)
		}
		for _, p := range st.provs {
			att(p.Manifest, p.Attestation)
		}
	}
	for _, r := range ps.index {
		sig(r)
	}
	for _, s := range ps.sboms {
		att(s.Manifest, s.Attestation)
	}
	counts, errs := make([]int, len(undo)), make([]error, len(undo))
	parallel.ForEach(len(subjects), parallel.Max, func(g int) error {
		for _, i := range bySubject[subjects[g]] {
			counts[i], errs[i] = undo[i]()
		}
		return nil
	})
	return rolledBack(cause, counts, errs)
}

// added counts the signatures ws says were written (not found stored).
func added(ws ...signer.Written) int {
	n := 0
	for _, w := range ws {
		if !w.Existing && w.Ref != "" {
			n++
		}
	}
	return n
}

// rolledBack is cause, in its stage, with what the rollback did: how many
// signatures and attestations it removed, and those the registry kept.
func rolledBack(cause error, counts []int, errs []error) error {
	written, left := 0, []string{}
	var why []error
	for i, err := range errs {
		written += counts[i]
		var we *signer.WithdrawError
		switch {
		case errors.As(err, &we):
			left = append(left, we.Left...)
			why = append(why, we.Err)
		case err != nil:
			why = append(why, err)
		}
	}
	var note string
	switch {
	case written == 0 && len(why) == 0:
		return cause
	case len(left) > 0:
		note = fmt.Sprintf("rolled back the release's signatures and attestations, but %d of %d are still stored (%v): %s; delete them",
			len(left), written, firstLine(why), strings.Join(left, ", "))
	case len(why) > 0:
		note = fmt.Sprintf("rolling back the release's %d signatures and attestations failed: %v", written, firstLine(why))
	default:
		note = fmt.Sprintf("its %d signatures and attestations were rolled back: nothing is signed", written)
	}
	return &Error{Stage: StageOf(cause), Err: fmt.Errorf("%w; %s", cause, note)}
}

// firstLine is the first of errs, on one line.
func firstLine(errs []error) string {
	if len(errs) == 0 {
		return ""
	}
	return strings.ReplaceAll(errs[0].Error(), "\n", "; ")
}
