// Command registry serves an in-memory OCI registry with the OCI 1.1
// referrers API switched on, for the test bed (hack/testbed.sh).
//
// It is go-containerregistry's pkg/registry: content lives in memory and is
// lost when the process exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/hallmark-dev/hallmark/hack/internal/httpserve"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:15003", "address to listen on")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	logger := log.New(os.Stderr, "", log.LstdFlags)
	logger.Printf("serving OCI registry with referrers API on %s", l.Addr())
	return httpserve.Serve(ctx, httpserve.Server{Listener: l, Handler: registry.New(registry.WithReferrersSupport(true), registry.Logger(logger))})
}
