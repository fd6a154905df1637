package builder

import (
	"context"

	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
)

// authProvider hands buildkitd the credentials kc resolves for each
// registry host it asks about, through BuildKit's session auth provider.
func authProvider(kc authn.Keychain) session.Attachable {
	if kc == nil {
		kc = authn.NewMultiKeychain()
	}
	return authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
		AuthConfigProvider: func(_ context.Context, host string, _ []string, _ authprovider.ExpireCachedAuthCheck) (types.AuthConfig, error) {
			return resolveAuth(kc, host)
		},
	})
}

func resolveAuth(kc authn.Keychain, host string) (types.AuthConfig, error) {
	if host == authprovider.DockerHubRegistryHost {
		host = name.DefaultRegistry
	}
	reg, err := name.NewRegistry(host, name.WeakValidation)
	if err != nil {
		return types.AuthConfig{}, nil
	}
	a, err := kc.Resolve(reg)
	if err != nil {
		return types.AuthConfig{}, err
	}
	cfg, err := a.Authorization()
	if err != nil {
		return types.AuthConfig{}, err
	}
	return types.AuthConfig{
		Username:      cfg.Username,
		Password:      cfg.Password,
		Auth:          cfg.Auth,
		IdentityToken: cfg.IdentityToken,
		RegistryToken: cfg.RegistryToken,
		ServerAddress: host,
	}, nil
}
