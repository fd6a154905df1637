package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// platforms are the 8 platforms of the multi-platform case; the image is
// COPY-only, so none needs emulation.
var platforms = []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/386",
	"linux/ppc64le", "linux/s390x", "linux/riscv64"}

// scaleCases measures how hallmark's time grows with the number of
// signatures: a recursive release of an 8-platform index (9 signatures)
// against a one-platform release, and one `hallmark sign` of 20 digests
// against one of 1 digest — with cosign sign of 20 against 1 as a
// reference. Keyless, legacy layout; runs alternate.
func (s *suite) scaleCases(ctx context.Context, digests int, rtt time.Duration) ([]*comparison, error) {
	s.rtt.Store(int64(rtt))
	defer s.rtt.Store(0)
	suffix := ""
	if rtt > 0 {
		suffix = fmt.Sprintf(" (+%s per request)", rtt)
	}
	one := releaseCase{keyless: true, mode: "legacy", file: "Dockerfile.copy"}
	plat := &comparison{name: "release, 8-platform index --recursive vs 1 platform" + suffix, a: "1 platform", b: "8 platforms, recursive", target: 2, stages: true}
	fmt.Fprintf(os.Stderr, "bench: scale: 8-platform recursive release%s (%d runs)\n", suffix, s.n)
	repo := s.reg + "/bench/scale-platforms"
	if rtt > 0 {
		repo += "-rtt"
	}
	for i := -1; i < s.n; i++ {
		r, err := s.newRun(ctx, true)
		if err != nil {
			return nil, err
		}
		sides := []func() error{
			func() error {
				smp, _, err := s.hallmarkRelease(ctx, one, r, repo+"-1", "--platform", platforms[0])
				if i >= 0 {
					plat.as = append(plat.as, smp)
				}
				return err
			},
			func() error {
				smp, _, err := s.hallmarkRelease(ctx, one, r, repo+"-8", "--platform", strings.Join(platforms, ","), "--recursive")
				if i >= 0 {
					plat.bs = append(plat.bs, smp)
				}
				return err
			},
		}
		if err := alternate(i, sides); err != nil {
			return nil, fmt.Errorf("scale (platforms): %w", err)
		}
	}

	many := &comparison{name: fmt.Sprintf("hallmark sign, %d digests in one invocation vs 1%s", digests, suffix), a: "1 digest", b: fmt.Sprintf("%d digests", digests), target: 3}
	cosign := &comparison{name: fmt.Sprintf("cosign sign, %d digests in one invocation vs 1 (reference)%s", digests, suffix), a: "1 digest", b: fmt.Sprintf("%d digests", digests)}
	fmt.Fprintf(os.Stderr, "bench: scale: %d digests in one sign%s (%d runs)\n", digests, suffix, s.n)
	repo = s.reg + "/bench/scale-digests"
	for i := -1; i < s.n; i++ {
		r, err := s.newRun(ctx, true)
		if err != nil {
			return nil, err
		}
		imgs, err := s.pushImages(ctx, repo, 2*(digests+1))
		if err != nil {
			return nil, err
		}
		h1, hN, c1, cN := imgs[:1], imgs[1:digests+1], imgs[digests+1:digests+2], imgs[digests+2:]
		keep := func(c *comparison, one bool, smp sample) {
			if i < 0 {
				return
			}
			smp.procs = smp.procs[:1] // the sign step only
			if one {
				c.as = append(c.as, smp)
			} else {
				c.bs = append(c.bs, smp)
			}
		}
		sides := []func() error{
			func() error {
				smp, err := s.hallmarkSignVerify(ctx, true, "legacy", r, h1)
				keep(many, true, smp)
				return err
			},
			func() error {
				smp, err := s.hallmarkSignVerify(ctx, true, "legacy", r, hN)
				keep(many, false, smp)
				return err
			},
			func() error {
				smp, err := s.cosignSignVerify(ctx, signing{keyless: true, mode: "legacy"}, r, c1)
				keep(cosign, true, smp)
				return err
			},
			func() error {
				smp, err := s.cosignSignVerify(ctx, signing{keyless: true, mode: "legacy"}, r, cN)
				keep(cosign, false, smp)
				return err
			},
		}
		if err := alternate(i, sides); err != nil {
			return nil, fmt.Errorf("scale (digests): %w", err)
		}
	}
	return []*comparison{plat, many, cosign}, nil
}

// alternate runs the sides in order on even runs and reversed on odd ones.
func alternate(i int, sides []func() error) error {
	for k := range sides {
		j := k
		if i%2 != 0 {
			j = len(sides) - 1 - k
		}
		if err := sides[j](); err != nil {
			return err
		}
	}
	return nil
}
