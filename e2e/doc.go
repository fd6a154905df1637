// Package e2e holds hallmark's end-to-end tests. They run the hallmark
// binary as a user would, against the real services of the test bed that
// hack/testbed.sh starts on 127.0.0.1 (buildkitd on a unix socket and on tcp
// with mutual TLS, a registry without and one with the OCI 1.1 referrers
// API, Fulcio, a timestamp authority, an OIDC issuer, the cosign CLI).
//
// Without the bed (HALLMARK_TESTBED unset) the tests skip, except under CI
// (CI=true), where a missing bed is a failure.
package e2e
