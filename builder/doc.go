// Package builder builds Dockerfiles on a buildkitd through BuildKit's client
// and its built-in dockerfile.v0 frontend, pushes the image in the same
// export, and returns the pushed digest as BuildKit reported it in the solve
// response — never by resolving a tag again.
//
// It connects over a unix socket, a rootless socket, tcp with mutual TLS, or
// BuildKit's connection helpers (kube-pod://, docker-container://), hands
// registry credentials to buildkitd through BuildKit's session auth
// provider, and streams progress through BuildKit's progressui.
package builder
