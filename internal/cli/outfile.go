package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxLinks bounds the symbolic links followed to an output file, as the
// kernel's ELOOP does.
const maxLinks = 40

// writeOutputFile writes b to path, the way --metadata-file and --dotenv
// want: a regular file (or a new path) is replaced atomically, through a
// temporary file and a rename, so that readers never see it half-written;
// through a symbolic link, the link's final target is replaced and the
// link kept. Anything else — /dev/stdout, a FIFO, a character device, or a
// link into /dev or /proc — is written in place, never replaced. Every
// error counts: a full device (/dev/full) fails the command.
func writeOutputFile(path string, b []byte) error {
	target, atomic, err := outputTarget(path)
	if err == nil {
		if atomic {
			err = replaceFile(target, b)
		} else {
			err = writeInPlace(target, b)
		}
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// outputTarget follows path's symbolic links and says where to write and
// whether to replace that file atomically: only a regular file, or a path
// that does not exist yet, outside /dev and /proc.
func outputTarget(path string) (target string, atomic bool, err error) {
	target = path
	for range maxLinks {
		if special(target) {
			return target, false, nil
		}
		st, err := os.Lstat(target)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return target, true, nil
		case err != nil:
			return "", false, err
		case st.Mode().IsRegular():
			return target, true, nil
		case st.IsDir():
			return "", false, errors.New("is a directory")
		case st.Mode()&fs.ModeSymlink == 0:
			return target, false, nil // a FIFO, a device, a socket
		}
		link, err := os.Readlink(target)
		if err != nil {
			return "", false, err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(target), link)
		}
		target = link
	}
	return "", false, errors.New("too many levels of symbolic links")
}

// special reports whether path lies in /dev or /proc, where files are
// never replaced (/dev/stdout, /proc/self/fd/1).
func special(path string) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		return true
	}
	return abs == "/dev" || abs == "/proc" || strings.HasPrefix(abs, "/dev/") || strings.HasPrefix(abs, "/proc/")
}

// replaceFile writes b to path through a temporary file in its directory
// and a rename, keeping the mode of the file replaced (0644 for a new one).
func replaceFile(path string, b []byte) error {
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".hallmark-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	return err
}

// writeInPlace writes b to what path names (a terminal, a pipe, a device)
// without replacing or truncating it: a regular file reached through /dev
// or /proc (a redirected stdout) is appended to.
func writeInPlace(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
