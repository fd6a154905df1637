package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/hallmark-dev/hallmark/doctor"
)

// ServicesChecked prints the warnings of the Sigstore checks release makes
// before it builds; failures end the release with its error.
func (o *releaseObserver) ServicesChecked(r doctor.Report) {
	for _, c := range r.Checks {
		if c.Status != doctor.StatusWarn {
			continue
		}
		line := "hallmark: warning: " + c.Name + ": " + c.Detail
		if c.Hint != "" {
			line += " (hint: " + c.Hint + ")"
		}
		fmt.Fprintln(o.e.stderr, oneLine(renderOptions(line)))
	}
}

// checkOutputFiles refuses, before anything is built, an output file
// release could not write after the push: its directory missing or not
// writable, or the path a directory.
func checkOutputFiles(files map[string]string) error {
	for flag, path := range files {
		if path == "" {
			continue
		}
		if err := checkOutputFile(path); err != nil {
			return usageErr("%s %s: %w", flag, path, err)
		}
	}
	return nil
}

// checkOutputFile checks path as writeOutputFile will write it: what is
// written in place (/dev/stdout, a FIFO) must be writable; what is
// replaced, its directory.
func checkOutputFile(path string) error {
	target, atomic, err := outputTarget(path)
	if err != nil {
		return err
	}
	if !atomic {
		if err := unix.Access(target, unix.W_OK); err != nil {
			return fmt.Errorf("%s is not writable: %w", target, err)
		}
		return nil
	}
	dir := filepath.Dir(target)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("directory %s does not exist", dir)
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	if err := unix.Access(dir, unix.W_OK); err != nil {
		return fmt.Errorf("directory %s is not writable: %w", dir, err)
	}
	return nil
}
