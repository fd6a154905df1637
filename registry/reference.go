package registry

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// ErrNotDigest is returned by ParseDigest for a reference without a digest.
var ErrNotDigest = errors.New("reference has no digest")

// nameOptions returns the parsing options for a reference string: strict
// validation, and plain HTTP for insecure hosts.
func (r *Registry) nameOptions(ref string) []name.Option {
	opts := []name.Option{name.StrictValidation}
	host, _, _ := strings.Cut(ref, "/")
	if r.IsInsecure(host) {
		opts = append(opts, name.Insecure)
	}
	return opts
}

// NameOptions returns name options that apply to every reference: plain
// HTTP is allowed only where the host is insecure, which callers check with
// ParseReference; this returns the options for ref's host.
func (r *Registry) NameOptions(ref string) []name.Option { return r.nameOptions(ref) }

// ParseReference parses an image reference (repo:tag or repo@digest). The
// registry and repository must be explicit; a missing tag is an error too,
// so "latest" is never assumed.
func (r *Registry) ParseReference(s string) (name.Reference, error) {
	if strings.Contains(s, "@") {
		return r.ParseDigest(s)
	}
	t, err := r.ParseTag(s)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// ParseTag parses repo:tag.
func (r *Registry) ParseTag(s string) (name.Tag, error) {
	if err := explicitRegistry(s); err != nil {
		return name.Tag{}, err
	}
	t, err := name.NewTag(s, r.nameOptions(s)...)
	if err != nil {
		return name.Tag{}, fmt.Errorf("invalid image reference %q: %w (want REGISTRY/REPOSITORY:TAG)", s, err)
	}
	return t, nil
}

// ParseRepository parses REGISTRY/REPOSITORY.
func (r *Registry) ParseRepository(s string) (name.Repository, error) {
	if err := explicitRegistry(s); err != nil {
		return name.Repository{}, err
	}
	repo, err := name.NewRepository(s, r.nameOptions(s)...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("invalid repository %q: %w (want REGISTRY/REPOSITORY)", s, err)
	}
	return repo, nil
}

// ParseDigest parses repo@sha256:... and fails with ErrNotDigest for a tag.
func (r *Registry) ParseDigest(s string) (name.Digest, error) {
	if !strings.Contains(s, "@") {
		return name.Digest{}, fmt.Errorf("%q: %w (want REGISTRY/REPOSITORY@sha256:...)", s, ErrNotDigest)
	}
	if err := explicitRegistry(s); err != nil {
		return name.Digest{}, err
	}
	d, err := name.NewDigest(s, r.nameOptions(s)...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("invalid image digest reference %q: %w (want REGISTRY/REPOSITORY@sha256:<64 hex>)", s, err)
	}
	return d, nil
}

// explicitRegistry refuses references that would silently mean Docker Hub:
// hallmark pushes and signs, so the registry must be named.
func explicitRegistry(s string) error {
	if s == "" {
		return errors.New("empty image reference (want REGISTRY/REPOSITORY:TAG)")
	}
	host, rest, ok := strings.Cut(s, "/")
	if !ok || rest == "" || !(strings.ContainsAny(host, ".:") || host == "localhost") {
		return fmt.Errorf("invalid image reference %q: name the registry, e.g. registry.example.com/%s", s, s)
	}
	return nil
}
