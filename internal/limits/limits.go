package limits

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// The default limits.
const (
	// MaxManifest is the largest manifest or index read from a registry,
	// as registries themselves accept (distribution, Harbor, ECR: 4 MiB).
	MaxManifest = 4 << 20
	// MaxBlob is the largest blob hallmark reads from a registry: the
	// signature layers and configs, bundles, statements. cosign's own
	// signature layers are a few KiB.
	MaxBlob = 8 << 20
	// MaxFile is the largest key, certificate, identity token, trusted root
	// or other trust file read (real ones are a few KiB).
	MaxFile = 4 << 20
)

// ErrTooLarge is wrapped by every *TooLargeError.
var ErrTooLarge = errors.New("too large")

// TooLargeError is a read stopped at its limit.
type TooLargeError struct {
	// What names what was read: a file, a URL.
	What string
	// Limit is the limit in bytes.
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than the limit of %s", e.What, Size(e.Limit))
}

// Unwrap returns ErrTooLarge.
func (e *TooLargeError) Unwrap() error { return ErrTooLarge }

// Size formats n bytes for messages: "4 MiB", "512 KiB", "100 bytes".
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ReadAll reads r to its end, or fails with a *TooLargeError for what
// once more than limit bytes came.
func ReadAll(r io.Reader, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{What: what, Limit: limit}
	}
	return b, nil
}

// ReadFile reads the file at path, at most limit bytes (MaxFile when limit
// is 0). It never reads more than limit+1 bytes, so /dev/zero or a fifo
// that never ends fail at once.
func ReadFile(path string, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = MaxFile
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAll(f, limit, path)
}

// Reader returns a reader of r that fails with a *TooLargeError for what
// once more than limit bytes were read from it.
func Reader(r io.Reader, limit int64, what string) io.Reader {
	return &limited{r: r, left: limit, limit: limit, what: what}
}

type limited struct {
	r     io.Reader
	left  int64 // bytes still allowed
	limit int64
	what  string
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, &TooLargeError{What: l.what, Limit: l.limit}
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n + int(l.left), &TooLargeError{What: l.what, Limit: l.limit}
	}
	return n, err
}
