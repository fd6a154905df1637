// Package redirect is the redirect policy of hallmark's HTTP clients that
// are not registry clients (the registry package's transport enforces the
// same on registry requests): Fulcio, the timestamp authority, key URLs.
package redirect
