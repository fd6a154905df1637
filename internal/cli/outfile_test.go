package cli

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestWriteOutputFile: regular files and new paths are replaced atomically
// (a new inode, no temporary file left), a symbolic link keeps being one
// and its target gets the content; a FIFO and a character device are
// written in place and stay what they are; a full device is an error.
func TestWriteOutputFile(t *testing.T) {
	const content = "IMAGE_DIGEST=sha256:abc\n"
	tests := []struct {
		name string
		// setup makes the path to write and returns it, with the file
		// whose content to check ("" for none).
		setup    func(t *testing.T, dir string) (path, check string)
		wantMode fs.FileMode // the type path has afterwards (Lstat)
		wantErr  string
	}{
		{"new path", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "out.env")
			return p, p
		}, 0, ""},
		{"regular file replaced", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "out.env")
			mustWrite(t, p, "old content, longer than the new one\n")
			return p, p
		}, 0, ""},
		{"symlink to a regular file: kept, target replaced", func(t *testing.T, dir string) (string, string) {
			target := filepath.Join(dir, "real.env")
			mustWrite(t, target, "old\n")
			link := filepath.Join(dir, "link.env")
			mustSymlink(t, "real.env", link)
			return link, target
		}, fs.ModeSymlink, ""},
		{"symlink to a new path: kept, target created", func(t *testing.T, dir string) (string, string) {
			link := filepath.Join(dir, "link.env")
			mustSymlink(t, filepath.Join(dir, "new.env"), link)
			return link, filepath.Join(dir, "new.env")
		}, fs.ModeSymlink, ""},
		{"FIFO written in place", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "fifo")
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			got := make(chan string, 1)
			go func() {
				f, err := os.Open(p)
				if err != nil {
					got <- err.Error()
					return
				}
				defer f.Close()
				b, _ := io.ReadAll(f)
				got <- string(b)
			}()
			t.Cleanup(func() {
				if s := <-got; s != content {
					t.Errorf("FIFO reader got %q, want %q", s, content)
				}
			})
			return p, ""
		}, fs.ModeNamedPipe, ""},
		{"symlink to /dev/null written in place", func(t *testing.T, dir string) (string, string) {
			link := filepath.Join(dir, "null")
			mustSymlink(t, "/dev/null", link)
			return link, ""
		}, fs.ModeSymlink, ""},
		{"/dev/full is an error", func(t *testing.T, dir string) (string, string) {
			return "/dev/full", ""
		}, fs.ModeDevice | fs.ModeCharDevice, "no space left on device"},
		{"symlink to /dev/full is an error", func(t *testing.T, dir string) (string, string) {
			link := filepath.Join(dir, "full")
			mustSymlink(t, "/dev/full", link)
			return link, ""
		}, fs.ModeSymlink, "no space left on device"},
		{"directory is an error", func(t *testing.T, dir string) (string, string) {
			return dir, ""
		}, fs.ModeDir, "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path, check := tt.setup(t, dir)
			var before os.FileInfo
			if check != "" {
				before, _ = os.Stat(check)
			}
			err := writeOutputFile(path, []byte(content))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Errorf("writeOutputFile(%s) = %v, want an error naming it and %q", path, err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("writeOutputFile(%s): %v", path, err)
			}
			st, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Mode().Type(); got != tt.wantMode {
				t.Errorf("%s is %v afterwards, want %v", path, got, tt.wantMode)
			}
			if check != "" {
				b, err := os.ReadFile(check)
				if err != nil || string(b) != content {
					t.Errorf("%s holds %q (%v), want %q", check, b, err, content)
				}
				if after, _ := os.Stat(check); before != nil && os.SameFile(before, after) {
					t.Errorf("%s was written in place, not replaced", check)
				}
			}
			if entries, _ := os.ReadDir(dir); hasTemp(entries) {
				t.Errorf("a temporary file is left in %s", dir)
			}
		})
	}
}

func hasTemp(entries []os.DirEntry) bool {
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".hallmark-") {
			return true
		}
	}
	return false
}

func mustWrite(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
