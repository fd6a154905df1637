package builder

import (
	"context"
	"errors"
	"io"
	"strings"
	"syscall"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TransportError is a build or connection that failed because buildkitd
// could not be reached or the connection to it broke, not because the
// build itself failed: the same build may succeed on another buildkitd.
type TransportError struct {
	// Addr is the buildkitd address.
	Addr string
	// Err is the error as Build or Connect reports it.
	Err error
}

func (e *TransportError) Error() string { return e.Err.Error() }
func (e *TransportError) Unwrap() error { return e.Err }

// IsTransport reports whether err is a TransportError.
func IsTransport(err error) bool {
	var te *TransportError
	return errors.As(err, &te)
}

// transportFailure reports whether err, as returned by the BuildKit
// client, says that the connection failed (gRPC Unavailable, a reset or
// refused connection, an unexpected EOF) rather than that the build did.
func transportFailure(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	if s, ok := status.FromError(err); ok && s.Code() == codes.Unavailable {
		return true
	}
	msg := err.Error()
	for _, m := range []string{"code = Unavailable", "Unavailable: ", "transport is closing", "error reading from server: EOF", "connection reset by peer", "connection refused"} {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}
