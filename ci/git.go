package ci

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoCheckout reports that a directory is not inside a git checkout.
var ErrNoCheckout = errors.New("not a git checkout")

// Checkout is what hallmark reads from a git checkout.
type Checkout struct {
	// Remote is the URL of remote "origin" (else the first remote), with
	// any credentials removed (StripCredentials); "" without remotes.
	Remote string
	// Source is Remote as a web URL (SourceURL): what
	// org.opencontainers.image.source records. "" when Remote has no web
	// form (a local path, a file:// URL) or there is no remote.
	Source string
	// Revision is the commit HEAD points at; "" on an unborn branch.
	Revision string
}

// Annotations returns the checkout's org.opencontainers.image.source and
// .revision annotations, leaving out empty values.
func (c Checkout) Annotations() map[string]string {
	out := map[string]string{}
	if c.Source != "" {
		out[KeySource] = c.Source
	}
	if c.Revision != "" {
		out[KeyRevision] = c.Revision
	}
	return out
}

// ReadCheckout reads the checkout containing dir (dir itself or a parent)
// by reading its .git files — no git binary is needed, and git's
// safe.directory ownership check (which often trips in CI containers) does
// not apply. Linked worktrees and submodules (.git files), packed refs and
// detached HEADs are handled. It returns an error wrapping ErrNoCheckout
// when no .git is found.
func ReadCheckout(dir string) (Checkout, error) {
	gitDir, err := findGitDir(dir)
	if err != nil {
		return Checkout{}, err
	}
	common := gitDir
	if b, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		common = resolve(gitDir, strings.TrimSpace(string(b)))
	}
	rev, err := readHead(gitDir, common)
	if err != nil {
		return Checkout{}, fmt.Errorf("reading HEAD of %s: %w", gitDir, err)
	}
	cfg, err := os.ReadFile(filepath.Join(common, "config"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Checkout{}, fmt.Errorf("reading git config: %w", err)
	}
	remote := StripCredentials(remoteURL(cfg))
	source, _ := SourceURL(remote)
	return Checkout{Remote: remote, Source: source, Revision: rev}, nil
}

// findGitDir returns the git directory for dir or its nearest parent.
func findGitDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("finding git checkout: %w", err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		p := filepath.Join(d, ".git")
		fi, err := os.Stat(p)
		switch {
		case err == nil && fi.IsDir():
			return p, nil
		case err == nil:
			b, err := os.ReadFile(p)
			if err != nil {
				return "", fmt.Errorf("reading %s: %w", p, err)
			}
			target, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:")
			if !ok {
				return "", fmt.Errorf("reading %s: no gitdir line", p)
			}
			return resolve(d, strings.TrimSpace(target)), nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("finding git checkout: %w", err)
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s: %w", abs, ErrNoCheckout)
		}
	}
}

// resolve returns p relative to base unless p is absolute.
func resolve(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// readHead returns the commit HEAD resolves to, following symbolic refs
// through loose ref files and packed-refs. An unborn branch yields "".
func readHead(gitDir, common string) (string, error) {
	b, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return "", err
	}
	content := strings.TrimSpace(string(b))
	for range 10 {
		ref, ok := strings.CutPrefix(content, "ref:")
		if !ok {
			if !isHex(content) {
				return "", fmt.Errorf("unexpected ref content %q", content)
			}
			return content, nil
		}
		ref = strings.TrimSpace(ref)
		if !strings.HasPrefix(ref, "refs/") || strings.Contains(ref, "..") {
			return "", fmt.Errorf("unexpected ref %q", ref)
		}
		b, err := os.ReadFile(filepath.Join(common, filepath.FromSlash(ref)))
		switch {
		case err == nil:
			content = strings.TrimSpace(string(b))
		case errors.Is(err, fs.ErrNotExist):
			return packedRef(common, ref)
		default:
			return "", err
		}
	}
	return "", errors.New("symbolic refs nested too deep")
}

// packedRef looks ref up in packed-refs; a missing ref (unborn branch) or a
// missing file yields "".
func packedRef(common, ref string) (string, error) {
	b, err := os.ReadFile(filepath.Join(common, "packed-refs"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		hash, name, ok := strings.Cut(sc.Text(), " ")
		if ok && name == ref && isHex(hash) {
			return hash, nil
		}
	}
	return "", sc.Err()
}

// isHex reports whether s looks like a SHA-1 or SHA-256 object name.
func isHex(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}
