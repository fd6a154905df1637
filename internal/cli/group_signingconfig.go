package cli

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/signer"
)

// signingConfigGroup is a Sigstore signing config naming the services to
// sign with (cosign v3's --signing-config).
type signingConfigGroup struct {
	path string
}

func (*signingConfigGroup) title() string { return "signing config" }

func (g *signingConfigGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "signing-config", Usage: "Sigstore signing_config.json `FILE` naming the Fulcio, Rekor (and its API version) and timestamp authority, chosen as cosign v3 does; exclusive with --fulcio-url, --rekor-url, --rekor-version and --timestamp-server-url", EnvVars: []string{"HALLMARK_SIGNING_CONFIG"}, Destination: &g.path},
	}
}

func (g *signingConfigGroup) applySigner(_ context.Context, o *signer.Options) error {
	o.SigningConfig = g.path
	return nil
}
