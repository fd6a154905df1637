package cli

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/verifier"
)

// tufGroup is the Sigstore TUF repository the default trusted root and
// signing config come from (cosign initialize's --mirror and --root).
type tufGroup struct {
	mirror, root string
}

func (*tufGroup) title() string { return "Sigstore TUF repository" }

func (g *tufGroup) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "tuf-mirror", Usage: "TUF repository `URL` the trusted root (without --trusted-root) and, for signing, the signing config (without --signing-config or service URLs) come from (default: Sigstore's public-good https://tuf-repo-cdn.sigstore.dev)", EnvVars: []string{"HALLMARK_TUF_MIRROR"}, Destination: &g.mirror},
		&cli.StringFlag{Name: "tuf-root", Usage: "the TUF repository's initial root.json `FILE` (required with --tuf-mirror; default: public-good's, embedded)", EnvVars: []string{"HALLMARK_TUF_ROOT"}, Destination: &g.root},
	}
}

func (g *tufGroup) applySigner(_ context.Context, o *signer.Options) error {
	o.TUFMirror, o.TUFRoot = g.mirror, g.root
	return nil
}

// withTUF returns t with the TUF repository set.
func (g *tufGroup) withTUF(t verifier.Trust) verifier.Trust {
	t.TUFMirror, t.TUFRoot = g.mirror, g.root
	return t
}
