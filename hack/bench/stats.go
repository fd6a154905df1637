package main

import (
	"fmt"
	"slices"
	"time"
)

// comparison is the runs of two sides of one case: a is hallmark (or the
// smaller count), b the CLI (or the larger count); ratio is a/b for
// hallmark against the CLI and b/a for scale.
type comparison struct {
	name   string
	a, b   string
	as, bs []sample
	// For scale: the target ratio (0: a reference), and whether the
	// signing stages of a release are compared too.
	target float64
	stages bool
}

// dist summarizes values: median, min, max.
type dist struct{ med, min, max float64 }

func distOf(v []float64) dist {
	if len(v) == 0 {
		return dist{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return dist{med, s[0], s[len(s)-1]}
}

// ms formats a distribution of milliseconds: "412 (398–455)".
func (d dist) ms() string { return fmt.Sprintf("%.0f (%.0f–%.0f)", d.med, d.min, d.max) }

// count formats a distribution of counts: "14", or "14 (13–15)" when runs differ.
func (d dist) count() string {
	if d.min == d.max {
		return fmt.Sprintf("%.0f", d.med)
	}
	return fmt.Sprintf("%.0f (%.0f–%.0f)", d.med, d.min, d.max)
}

func each(ss []sample, f func(sample) float64) dist {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	return distOf(v)
}

func wallOf(ss []sample) dist { return each(ss, func(s sample) float64 { return ms(s.wall()) }) }

// stepOf is the distribution of the wall time (ms) of steps; a stage name
// counts the time of that section of hallmark's one process.
func stepOf(ss []sample, steps ...string) dist {
	return each(ss, func(s sample) float64 {
		var d time.Duration
		for _, p := range s.procs {
			for _, step := range steps {
				if p.step == step {
					d += p.wall
				}
				d += p.stages[step]
			}
		}
		return ms(d)
	})
}

func requestsOf(ss []sample, stage string) dist {
	return each(ss, func(s sample) float64 { return float64(s.requests(stage)) })
}

// rssOf is the peak RSS (MiB) of a step; "" is the largest of the run.
func rssOf(ss []sample, step string) dist {
	return each(ss, func(s sample) float64 {
		var m int64
		for _, p := range s.procs {
			if step == "" || p.step == step {
				m = max(m, p.maxRSS)
			}
		}
		return float64(m) / 1024
	})
}

func cpuOf(ss []sample) dist {
	return each(ss, func(s sample) float64 {
		var d time.Duration
		for _, p := range s.procs {
			d += p.cpu
		}
		return ms(d)
	})
}

// ratio is the ratio of the medians, num/den.
func ratio(num, den dist) float64 {
	if den.med == 0 {
		return 0
	}
	return num.med / den.med
}
