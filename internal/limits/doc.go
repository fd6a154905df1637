// Package limits bounds what hallmark reads from files and from the
// network, so that a hostile registry, an endless file (/dev/zero as a key)
// or a lying Content-Length cannot grow the process without end: every
// read stops one byte past its limit with a *TooLargeError naming the limit.
package limits
