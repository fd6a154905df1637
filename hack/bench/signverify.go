package main

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// signCase is one configuration of the sign + verify comparison.
type signCase struct {
	keyless bool
	mode    string
}

func (c signCase) String() string {
	if c.keyless {
		return "keyless " + c.mode
	}
	return "keyed " + c.mode
}

// pushImages pushes n small random images to repo (untimed) and returns
// their digests.
func (s *suite) pushImages(ctx context.Context, repo string, n int) ([]string, error) {
	s.r.tr.reset("setup", nil)
	defer s.rtt.Store(s.rtt.Swap(0)) // no added delay for the setup
	var out []string
	for i := range n {
		img, err := random.Image(1024, 2)
		if err != nil {
			return nil, err
		}
		tag, err := name.NewTag(fmt.Sprintf("%s:img-%d-%d", repo, s.seq, i), name.Insecure)
		if err != nil {
			return nil, err
		}
		if err := remote.Write(tag, img, remote.WithContext(ctx)); err != nil {
			return nil, fmt.Errorf("pushing %s: %w", tag, err)
		}
		d, err := img.Digest()
		if err != nil {
			return nil, err
		}
		out = append(out, tag.Context().Digest(d.String()).String())
	}
	return out, nil
}

// hallmarkSignVerify runs hallmark sign on the images, then hallmark
// verify on the first, in the GitLab job's environment.
func (s *suite) hallmarkSignVerify(ctx context.Context, keyless bool, mode string, r *run, images []string, extra ...string) (sample, error) {
	var out sample
	g := signing{keyless: keyless, mode: mode}
	flags, env := s.signFlags(g)
	if keyless {
		env = append(env, "SIGSTORE_ID_TOKEN="+r.token)
	}
	sign := slices.Concat([]string{s.b.hallmark, "sign", "--insecure-registry", s.reg, "--tag", r.tag},
		flags, extra, images)
	p, err := s.r.run(ctx, "sign", s.hallmarkEnv(env), sign, false)
	if err != nil {
		return out, err
	}
	out.procs = append(out.procs, p)
	verify := slices.Concat([]string{s.b.hallmark, "verify", "--insecure-registry", s.reg}, s.trustFlags(g), r.annotations, images[:1])
	if p, err = s.r.run(ctx, "verify", s.hallmarkEnv(nil), verify, false); err != nil {
		return out, err
	}
	out.procs = append(out.procs, p)
	return out, nil
}

// signVerifyCases compares hallmark sign + verify with cosign sign +
// verify on a digest pushed beforehand, alternating the sides.
func (s *suite) signVerifyCases(ctx context.Context, cases []signCase) ([]*comparison, error) {
	var out []*comparison
	for _, c := range cases {
		cmp := &comparison{name: c.String(), a: "hallmark sign + verify", b: "cosign sign + verify"}
		repo := s.reg + "/bench/sign-" + c.mode
		fmt.Fprintf(os.Stderr, "bench: sign + verify %s (%d runs)\n", c, s.n)
		for i := -1; i < s.n; i++ {
			r, err := s.newRun(ctx, c.keyless)
			if err != nil {
				return nil, err
			}
			imgs, err := s.pushImages(ctx, repo, 2)
			if err != nil {
				return nil, err
			}
			sides := []func() error{
				func() error {
					smp, err := s.hallmarkSignVerify(ctx, c.keyless, c.mode, r, imgs[:1])
					if i >= 0 {
						cmp.as = append(cmp.as, smp)
					}
					return err
				},
				func() error {
					smp, err := s.cosignSignVerify(ctx, signing{keyless: c.keyless, mode: c.mode}, r, imgs[1:])
					if i >= 0 {
						cmp.bs = append(cmp.bs, smp)
					}
					return err
				},
			}
			if err := alternate(i, sides); err != nil {
				return nil, fmt.Errorf("sign + verify %s: %w", c, err)
			}
		}
		out = append(out, cmp)
	}
	return out, nil
}
