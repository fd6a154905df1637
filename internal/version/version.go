// Package version holds hallmark's version: set at link time for release
// builds, else read from the build info Go records in every binary.
package version

import "runtime/debug"

// Version is hallmark's version. Release builds set it with
// -ldflags "-X github.com/hallmark-dev/hallmark/internal/version.Version=v1.2.3";
// otherwise String takes it from the build info.
var Version = ""

// String returns the version of this binary.
func String() string {
	if Version != "" {
		return Version
	}
	bi, _ := debug.ReadBuildInfo()
	return fromBuildInfo(bi)
}

// fromBuildInfo returns the module version of a `go install …@version`
// build; for a build inside a checkout (`go build`, whose module version
// is "(devel)"), "devel+" and the VCS revision's first 12 characters, with
// "-dirty" when the tree had local changes; "dev" when neither is known
// (e.g. -buildvcs=false).
func fromBuildInfo(bi *debug.BuildInfo) string {
	if bi == nil {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	v := "devel+" + rev[:min(12, len(rev))]
	if dirty {
		v += "-dirty"
	}
	return v
}

// UserAgent is the User-Agent hallmark sends to registries.
func UserAgent() string { return "hallmark/" + String() }
