// Package version holds hallmark's version, set at link time.
package version

import "runtime/debug"

// Version is hallmark's version. Release builds set it with
// -ldflags "-X github.com/hallmark-dev/hallmark/internal/version.Version=v1.2.3";
// otherwise it is taken from the module build info, or "dev".
var Version = ""

// String returns the version of this binary.
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// UserAgent is the User-Agent hallmark sends to registries.
func UserAgent() string { return "hallmark/" + String() }
