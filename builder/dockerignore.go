package builder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// checkDockerignore parses the ignore file the Dockerfile frontend will
// use — DOCKERFILE.dockerignore next to the Dockerfile, else the context's
// .dockerignore — so that a malformed pattern is refused before the build
// rather than by buildkitd midway ("syntax error in pattern").
func (r Request) checkDockerignore() error {
	dir, file := r.dockerfileLocation()
	for _, p := range []string{filepath.Join(dir, file+".dockerignore"), filepath.Join(r.ContextDir, ".dockerignore")} {
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		patterns, err := ignorefile.ReadAll(f)
		f.Close()
		if err == nil {
			_, err = patternmatcher.New(patterns)
		}
		if err != nil {
			return fmt.Errorf("invalid pattern in %s: %w", p, err)
		}
		return nil
	}
	return nil
}
