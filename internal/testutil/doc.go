// Package testutil holds test helpers shared by hallmark's packages: an
// address nothing listens on, images pushed to a registry, self-signed
// certificates. It is imported by tests only.
package testutil
