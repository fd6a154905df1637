package release

import (
	"context"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/internal/parallel"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/verifier"
)

// Subjects are what a release signs: the pushed manifest or index, and
// with recursive each platform's manifest, with their descriptors as the
// build reported them (signing need not read them again).
func Subjects(built *builder.Result, recursive bool) []signer.Subject {
	out := []signer.Subject{{Digest: built.Image, MediaType: types.MediaType(built.MediaType), Size: built.Size}}
	if recursive {
		for _, p := range built.Platforms {
			out = append(out, signer.Subject{Digest: built.Image.Context().Digest(p.Digest.String()),
				MediaType: types.MediaType(p.MediaType), Size: p.Size})
		}
	}
	return out
}

// signAll signs every subject, in parallel (bounded), and verifies each as
// soon as its signature is stored (signThenVerify). then (nil: none) runs
// for subject i once its signature is written, alongside its verification
// and the other subjects' signing (a release attests a platform's
// provenance there); its error fails the subject. The results follow the
// order of the subjects; a failure is a StageSign error, returned with
// what was signed (a failed subject's partial result: what its Sign wrote
// before it failed; nil: nothing), for a rollback.
func signAll(ctx context.Context, setup *signingSetup, subjects []signer.Subject, ann map[string]string, then func(i int) error) ([]*signer.Result, []verification, error) {
	results := make([]*signer.Result, len(subjects))
	verified := make([]verification, len(subjects))
	errs := parallel.ForEach(len(subjects), parallel.Max, func(i int) (err error) {
		sign := func(stored func()) (*signer.Result, error) {
			res, err := setup.signer.Sign(ctx, subjects[i], ann, signer.WhenStored(stored))
			if err == nil && then != nil {
				err = then(i)
			}
			return res, err
		}
		verify := func() (*verifier.Result, error) { return setup.verifier.Verify(ctx, subjects[i].Digest) }
		results[i], verified[i], err = signThenVerify(sign, verify)
		return err
	})
	if err := parallel.FirstError(errs); err != nil {
		return results, nil, StageError(StageSign, err)
	}
	return results, verified, nil
}

// signThenVerify signs (sign calls stored once the signature is stored)
// and verifies: from stored on, alongside the signer's read-backs, and
// once more afterwards if that failed while the signer had to write again
// (a concurrent writer dropped the signature in between), or if stored was
// never called. verify is not called when signing fails; the result is
// then sign's (partial) one.
func signThenVerify(sign func(stored func()) (*signer.Result, error), verify func() (*verifier.Result, error)) (*signer.Result, verification, error) {
	var v verification
	done := make(chan struct{})
	started := false
	res, err := sign(func() {
		started = true
		go func() {
			defer close(done)
			v.res, v.err = verify()
		}()
	})
	if started {
		<-done
	}
	if err != nil {
		return res, verification{}, err
	}
	if !started || v.err != nil && rewritten(res) {
		v.res, v.err = verify()
	}
	return res, v, nil
}

// verification is one digest's verification outcome.
type verification struct {
	res *verifier.Result
	err error
}

// rewritten reports whether signing wrote a layout more than once.
func rewritten(res *signer.Result) bool {
	for _, w := range res.Layouts {
		if w.Attempts > 1 {
			return true
		}
	}
	return false
}
