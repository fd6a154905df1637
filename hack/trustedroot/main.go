// Command trustedroot writes a Sigstore trusted_root.json for the test bed's
// private Fulcio and timestamp authority (hack/testbed.sh), so that cosign's
// --trusted-root, the cosign library (CheckOpts.TrustedMaterial) and
// sigstore-go verify against them. There is no Rekor or CT log in the test
// bed, so the file lists no transparency or CT logs.
package main

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sigstore/sigstore-go/pkg/root"
)

type config struct {
	fulcioChain string
	fulcioURL   string
	tsaChain    string
	tsaURL      string
	out         string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.fulcioChain, "fulcio-chain", "", "Fulcio CA chain (PEM, leaf-most first, root last)")
	flag.StringVar(&cfg.fulcioURL, "fulcio-url", "", "Fulcio URL")
	flag.StringVar(&cfg.tsaChain, "tsa-chain", "", "timestamp authority chain (PEM, signing cert first, root last)")
	flag.StringVar(&cfg.tsaURL, "tsa-url", "", "timestamp authority URL")
	flag.StringVar(&cfg.out, "out", "trusted_root.json", "file to write")
	flag.Parse()
	if err := run(cfg); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	var cas []root.CertificateAuthority
	if cfg.fulcioChain != "" {
		chain, err := readChain(cfg.fulcioChain)
		if err != nil {
			return err
		}
		last := len(chain) - 1
		cas = append(cas, &root.FulcioCertificateAuthority{
			Root:                chain[last],
			Intermediates:       chain[:last],
			ValidityPeriodStart: chain[last].NotBefore,
			URI:                 cfg.fulcioURL,
		})
	}
	var tsas []root.TimestampingAuthority
	if cfg.tsaChain != "" {
		chain, err := readChain(cfg.tsaChain)
		if err != nil {
			return err
		}
		if len(chain) < 2 {
			return fmt.Errorf("reading %s: want a signing certificate and a root, got %d certificates", cfg.tsaChain, len(chain))
		}
		last := len(chain) - 1
		tsas = append(tsas, &root.SigstoreTimestampingAuthority{
			Root:                chain[last],
			Intermediates:       chain[1:last],
			Leaf:                chain[0],
			ValidityPeriodStart: chain[last].NotBefore,
			URI:                 cfg.tsaURL,
		})
	}
	if len(cas) == 0 && len(tsas) == 0 {
		return errors.New("nothing to trust: give -fulcio-chain and/or -tsa-chain")
	}

	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, cas, nil, tsas, nil)
	if err != nil {
		return fmt.Errorf("creating trusted root: %w", err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encoding trusted root: %w", err)
	}
	if _, err := root.NewTrustedRootFromJSON(b); err != nil {
		return fmt.Errorf("reading back trusted root: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(cfg.out), ".trusted_root-*.json")
	if err != nil {
		return fmt.Errorf("writing trusted root: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("writing trusted root: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing trusted root: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing trusted root: %w", err)
	}
	if err := os.Rename(tmp.Name(), cfg.out); err != nil {
		return fmt.Errorf("writing trusted root: %w", err)
	}
	return nil
}

// readChain parses every CERTIFICATE block of a PEM file, in file order.
func readChain(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading chain: %w", err)
	}
	var chain []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing certificate in %s: %w", path, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("reading chain %s: no certificates", path)
	}
	return chain, nil
}
