// Package examples holds no code: its directory has the CI and Kubernetes
// examples of README.md (GitLab CI, GitHub Actions, a Kubernetes runner pod
// with a buildkit sidecar over mutual TLS), and its tests check them as far
// as a machine without GitLab, GitHub or a cluster can — end to end against
// the test bed's buildkitd when the bed is up.
package examples
