package registry

import (
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// staticKeychain resolves the given credentials by registry host.
type staticKeychain []Credential

func (k staticKeychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	if c, ok := k.lookup(res.RegistryStr()); ok {
		return authn.FromConfig(authn.AuthConfig{Username: c.Username, Password: c.Password}), nil
	}
	return authn.Anonymous, nil
}

func (k staticKeychain) lookup(host string) (Credential, bool) {
	for _, c := range k {
		if c.Registry == host || (host == name.DefaultRegistry && c.Registry == "docker.io") {
			return c, true
		}
	}
	return Credential{}, false
}

// Lookup returns the static credential configured for host, if any.
func (r *Registry) Lookup(host string) (Credential, bool) {
	return staticKeychain(r.credentials).lookup(host)
}

// registryResource makes a keychain resource for a registry host.
func registryResource(host string) authn.Resource {
	reg, err := name.NewRegistry(host, name.WeakValidation)
	if err != nil {
		return name.Registry{}
	}
	return reg
}
