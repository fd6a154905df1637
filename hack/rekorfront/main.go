// Command rekorfront serves a POSIX rekor-tiles log at one URL the way
// Sigstore's public-good Rekor v2 logs are served, for the test bed
// (hack/testbed.sh): the tlog-tiles read API (GET /checkpoint and
// /tile/..., entry bundles included) from the log's storage directory,
// and everything else (the write API POST /api/v2/log/entries, /healthz,
// GET /api/v2/checkpoint) passed on to rekor-server, whose POSIX build
// serves no reads itself (GET /api/v2/checkpoint is 501 there).
//
// Files are read as rekor-server writes them (Tessera renames each
// checkpoint and tile into place): nothing is cached, and nothing of the
// storage directory outside checkpoint and tile/ is served.
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

	"github.com/hallmark-dev/hallmark/hack/internal/httpserve"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:15017", "`ADDRESS` to listen on")
	api := flag.String("api", "", "rekor-server's HTTP `URL` (writes and all but the tiles go there)")
	storage := flag.String("storage", "", "rekor-server's --storage-dir `DIR` (the tiles are read there)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *api, *storage); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr, api, storage string) error {
	h, err := newHandler(api, storage)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	log.Printf("serving Rekor v2 at http://%s: tiles from %s, the rest from %s", l.Addr(), storage, api)
	return httpserve.Serve(ctx, httpserve.Server{Listener: l, Handler: h})
}
