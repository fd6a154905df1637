// Command oidc is a loopback OIDC issuer for the test bed (hack/testbed.sh).
//
// It serves OIDC discovery and a JWKS like a GitLab instance, and mints ID
// tokens with GitLab CI's claim set through GET /mint, so that Fulcio's
// gitlab-pipeline ci-provider issues certificates as it would for a GitLab
// job. Query parameters of /mint override claims; see gitlabClaims.
//
// The issuer listens with TLS on -addr when -tls-cert and -tls-key are set
// (plain HTTP otherwise), and optionally serves /mint alone over plain HTTP
// on -mint-addr for tests that do not want to load the CA.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hallmark-dev/hallmark/hack/internal/httpserve"
)

type config struct {
	addr     string
	mintAddr string
	issuer   string
	tlsCert  string
	tlsKey   string
	keyPath  string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:15010", "address of the issuer (discovery, JWKS, /mint)")
	flag.StringVar(&cfg.mintAddr, "mint-addr", "", "optional plain-HTTP address serving /mint only")
	flag.StringVar(&cfg.issuer, "issuer", "", "issuer URL (default https://ADDR, or http:// without TLS)")
	flag.StringVar(&cfg.tlsCert, "tls-cert", "", "TLS certificate (PEM) for -addr")
	flag.StringVar(&cfg.tlsKey, "tls-key", "", "TLS key (PEM) for -addr")
	flag.StringVar(&cfg.keyPath, "key", "", "RSA signing key (PKCS#8 PEM), created if missing; in-memory if empty")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	useTLS := cfg.tlsCert != "" || cfg.tlsKey != ""
	if cfg.issuer == "" {
		scheme := "http"
		if useTLS {
			scheme = "https"
		}
		cfg.issuer = scheme + "://" + cfg.addr
	}
	cfg.issuer = strings.TrimSuffix(cfg.issuer, "/")

	key, err := generateKey()
	if cfg.keyPath != "" {
		key, err = loadOrCreateKey(cfg.keyPath)
	}
	if err != nil {
		return err
	}
	// A key absent from the JWKS, for bad-signature tests (/mint?key=unknown).
	stranger, err := generateKey()
	if err != nil {
		return err
	}
	iss := &issuer{url: cfg.issuer, key: key, stranger: stranger, logger: log.New(os.Stderr, "", log.LstdFlags)}

	listen := func(addr string, h http.Handler, tls bool) (httpserve.Server, error) {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return httpserve.Server{}, fmt.Errorf("listening on %s: %w", addr, err)
		}
		s := httpserve.Server{Listener: l, Handler: h}
		if tls {
			s.CertFile, s.KeyFile = cfg.tlsCert, cfg.tlsKey
		}
		return s, nil
	}
	issuerServer, err := listen(cfg.addr, iss.handler(), useTLS)
	if err != nil {
		return err
	}
	servers := []httpserve.Server{issuerServer}
	iss.logger.Printf("issuer %s listening on %s (tls=%t)", cfg.issuer, cfg.addr, useTLS)
	if cfg.mintAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /mint", iss.mint)
		mux.HandleFunc("GET /healthz", healthz)
		mint, err := listen(cfg.mintAddr, mux, false)
		if err != nil {
			issuerServer.Listener.Close()
			return err
		}
		servers = append(servers, mint)
		iss.logger.Printf("mint endpoint on http://%s/mint", cfg.mintAddr)
	}
	return httpserve.Serve(ctx, servers...)
}

// issuer serves discovery, the JWKS and /mint.
type issuer struct {
	url      string
	key      *signingKey
	stranger *signingKey
	logger   *log.Logger
}

func (i *issuer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", i.discovery)
	mux.HandleFunc("GET /oauth/discovery/keys", i.jwks)
	mux.HandleFunc("GET /mint", i.mint)
	mux.HandleFunc("GET /healthz", healthz)
	return mux
}

func (i *issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{
		"issuer":                                i.url,
		"authorization_endpoint":                i.url + "/oauth/authorize",
		"token_endpoint":                        i.url + "/oauth/token",
		"jwks_uri":                              i.url + "/oauth/discovery/keys",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid"},
	})
}

func (i *issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{"keys": []jwk{i.key.jwk()}})
}

func (i *issuer) mint(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	claims, err := gitlabClaims(i.url, q, time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	key := i.key
	if q.Get("key") == "unknown" {
		key = i.stranger
	}
	tok, err := signJWT(key, claims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	i.logger.Printf("minted token sub=%v aud=%v exp=%v", claims["sub"], claims["aud"], claims["exp"])
	w.Header().Set("Content-Type", "application/jwt")
	fmt.Fprint(w, tok)
}

func healthz(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
