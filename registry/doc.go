// Package registry holds what hallmark's commands share to talk to OCI
// registries: reference parsing and validation, the credential keychain
// (static credentials such as CI job tokens first, then the docker config
// and its credential helpers), and one set of go-containerregistry remote
// options: a shared transport with connection reuse; one ping per registry
// for the whole invocation, and one question whether it has the referrers
// API; bounded exponential retries with jitter that honour Retry-After; the
// hallmark user agent; plain HTTP only for hosts named insecure. Every
// request is bounded against a hostile or broken registry: at most
// MaxRedirects redirects, never from https to http, no credential sent to
// another origin after a redirect; header and body-progress timeouts;
// responses cut at a size limit (manifests 4 MiB, blobs 8 MiB by default).
// A bearer token realm on a private address is accepted from a registry
// on a private network, or when named in Config.TokenRealms.
package registry
