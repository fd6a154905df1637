package release

import (
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// CacheRepository is the repository, next to the image's, that holds a
// release's registry cache (Options.RegistryCache): REPO/buildcache.
const CacheRepository = "buildcache"

// CacheTag is the cache tag of a build for platforms: the platforms with
// "/" as "-", joined by "_" (linux-amd64, linux-arm-v7_linux-arm64);
// "default" for a build for buildkitd's own platform. A pool node builds
// one platform, so each platform has its own cache, where the node that
// builds it (whichever it is) finds it.
func CacheTag(platforms []string) string {
	if len(platforms) == 0 {
		return "default"
	}
	parts := make([]string, len(platforms))
	for i, p := range platforms {
		parts[i] = strings.ReplaceAll(p, "/", "-")
	}
	return strings.Join(parts, "_")
}

// registryCache is the import and export of the registry cache of a
// build of repo for platforms: mode=max (every stage's layers, so that a
// multi-stage build's dependency stage is found again), and an export
// that fails only warns in the progress (ignore-error): the image is
// still pushed, signed and verified.
func registryCache(repo name.Repository, platforms []string, insecure bool) (from, to string) {
	ref := repo.Registry.Name() + "/" + repo.RepositoryStr() + "/" + CacheRepository + ":" + CacheTag(platforms)
	from = "type=registry,ref=" + ref
	to = "type=registry,ref=" + ref + ",mode=max,ignore-error=true"
	if insecure {
		from += ",registry.insecure=true"
		to += ",registry.insecure=true"
	}
	return from, to
}

// withRegistryCache is a one-node build's cache imports and exports with
// the registry cache added. A tag that does not parse is left for Build
// to report.
func withRegistryCache(o BuildOptions) (from, to []string) {
	from, to = o.Request.CacheFrom, o.Request.CacheTo
	if len(o.Tags) == 0 {
		return from, to
	}
	t, err := o.Registry.ParseTag(o.Tags[0])
	if err != nil {
		return from, to
	}
	f, e := registryCache(t.Context(), o.Request.Platforms, o.Registry.IsInsecure(t.RegistryStr()))
	return append(slices.Clone(from), f), append(slices.Clone(to), e)
}
