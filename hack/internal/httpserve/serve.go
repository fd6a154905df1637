// Package httpserve runs the test bed's small HTTP servers (hack/registry,
// hack/oidc, hack/rekorfront) until they are told to stop.
package httpserve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server is one listener of a program and what it serves: with TLS when
// CertFile and KeyFile (PEM files) are set, plain HTTP otherwise.
type Server struct {
	Listener          net.Listener
	Handler           http.Handler
	CertFile, KeyFile string
}

// Serve serves each server until one fails or ctx ends, then shuts them
// all down, giving requests in flight 5 s to finish.
func Serve(ctx context.Context, servers ...Server) error {
	errc := make(chan error, len(servers))
	running := make([]*http.Server, 0, len(servers))
	for _, s := range servers {
		srv := &http.Server{Handler: s.Handler, ReadHeaderTimeout: 10 * time.Second}
		running = append(running, srv)
		go func() {
			if s.CertFile != "" || s.KeyFile != "" {
				errc <- srv.ServeTLS(s.Listener, s.CertFile, s.KeyFile)
				return
			}
			errc <- srv.Serve(s.Listener)
		}()
	}
	var served error
	select {
	case err := <-errc:
		served = fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, srv := range running {
		if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) && served == nil {
			served = fmt.Errorf("shutting down: %w", err)
		}
	}
	return served
}
