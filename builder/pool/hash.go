package pool

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strings"
)

// Key is what places a build: the same key goes to the same node while
// that node is up.
type Key struct {
	// Repository is the image repository (REGISTRY/REPO, no tag).
	Repository string
	// Context and Dockerfile are the paths as given (relative paths keep a
	// project's key the same across CI checkouts in different places).
	Context, Dockerfile string
	// Target is the build stage, empty for the last.
	Target string
}

// score is node's rendezvous weight for key and platform: the first 8
// bytes of sha256 over the fields, each ended by a NUL (no field holds
// one), so that no two different inputs share their bytes.
func score(node string, k Key, platform string) uint64 {
	h := sha256.New()
	for _, f := range []string{node, k.Repository, k.Context, k.Dockerfile, k.Target, platform} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return binary.BigEndian.Uint64(h.Sum(nil)[:8])
}

// Rank orders node names by their rendezvous weight for key and platform,
// highest first: the first builds, the others take over in turn when it
// is down. Ties (never in practice) go to the smaller name.
func Rank(nodes []string, k Key, platform string) []string {
	type scored struct {
		name  string
		score uint64
	}
	s := make([]scored, len(nodes))
	for i, n := range nodes {
		s[i] = scored{n, score(n, k, platform)}
	}
	slices.SortFunc(s, func(a, b scored) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = x.name
	}
	return out
}
