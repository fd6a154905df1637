package pool

import (
	"fmt"
	"regexp"
)

// Messages about a node's connection refer to its options as
// {builder.ConnectOptions.Addr}, {builder.TLS.Key}...: a caller renders
// them as the settings it exposes (the CLI as its flags). A node read from
// a builder file was not set that way: its messages name the node and the
// file's fields instead, so the user knows which entry to fix.

// fileFields are the builder file's names of the connection options.
var fileFields = map[string]string{
	"builder.ConnectOptions.Addr":             "addr",
	"builder.ConnectOptions.AllowInsecureTCP": "insecure-tcp",
	"builder.TLS.CACert":                      "tls.cacert",
	"builder.TLS.Cert":                        "tls.cert",
	"builder.TLS.Key":                         "tls.key",
	"builder.TLS.ServerName":                  "tls.servername",
}

// optionRef matches an option reference in a message.
var optionRef = regexp.MustCompile(`\{([a-z]+(?:\.[A-Z][A-Za-z]*){2,})\}`)

// nodeError is an error about a node, its message speaking of the node's
// builder-file fields; it unwraps to the error it rewords.
type nodeError struct {
	msg string
	err error
}

func (e *nodeError) Error() string { return e.msg }
func (e *nodeError) Unwrap() error { return e.err }

// explain returns err about n with its option references as n's
// builder-file fields ("the addr of node arm-1 in builder file
// builders.yaml"); err itself for a node not from a builder file.
func (n Node) explain(err error) error {
	if err == nil || n.File == "" {
		return err
	}
	msg := optionRef.ReplaceAllStringFunc(err.Error(), func(ref string) string {
		if f, ok := fileFields[ref[1:len(ref)-1]]; ok {
			return fmt.Sprintf("the %s of node %s in builder file %s", f, n.name(), n.File)
		}
		return ref
	})
	return &nodeError{msg: msg, err: err}
}
