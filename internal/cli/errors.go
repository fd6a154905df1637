package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/ci"
	"github.com/hallmark-dev/hallmark/doctor"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/release"
	"github.com/hallmark-dev/hallmark/signer"
	"github.com/hallmark-dev/hallmark/verifier"
)

// Exit codes, one per stage, documented in README.md.
const (
	exitOK      = 0
	exitFailure = 1 // an error outside the stages below
	exitUsage   = 2 // bad flags, arguments or environment
	exitBuild   = 3 // build or push
	exitSign    = 4 // signing
	exitVerify  = 5 // verification
	exitSIGINT  = 130
	exitSIGTERM = 143
)

// This file is the one place where errors become exit codes and messages:
// commands and the release library tag errors with the stage they come
// from (release.StageError), and report maps the stage, refined by the
// library error inside, to the exit code, and adds the hints that name
// flags.

// usageErr is a usage error (exit 2) formatted as fmt.Errorf does.
func usageErr(format string, a ...any) error { return release.Usagef(format, a...) }

// inStage tags err with the stage it comes from; nil stays nil.
func inStage(s release.Stage, err error) error { return release.StageError(s, err) }

func onUsageError(_ *cli.Context, err error, _ bool) error {
	if m := undefinedFlag.FindStringSubmatch(err.Error()); m != nil {
		return usageErr("flag provided but not defined: %s (see --help)", flagName(m[1]))
	}
	return usageErr("%w (see --help)", err)
}

// undefinedFlag is Go's flag package's message for an unknown flag, which
// shows one dash whatever was typed.
var undefinedFlag = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)

// report prints err as one line on w, with the flags that set the options
// it refers to, and returns the process exit code.
func report(w io.Writer, err error, sig os.Signal) int {
	if err == nil && sig == nil {
		return exitOK
	}
	fmt.Fprintf(w, "error: %s\n", errorLine(err, sig))
	switch sig {
	case os.Interrupt:
		return exitSIGINT
	case syscall.SIGTERM:
		return exitSIGTERM
	}
	return exitCode(err)
}

// errorLine is the one line report prints after "error: " for err, or for
// the signal that stopped the work.
func errorLine(err error, sig os.Signal) string {
	switch {
	case sig == os.Interrupt:
		return "interrupted (SIGINT)"
	case sig == syscall.SIGTERM:
		return "terminated (SIGTERM)"
	case err == nil:
		return ""
	}
	return oneLine(renderOptions(message(err)))
}

// exitCode maps err's stage to its exit code. A signing or verification
// error that is the input's fault (a bad option, token, key password or
// file; a policy or trust material that cannot be used) is a usage error.
func exitCode(err error) int {
	if errors.Is(err, registry.ErrPlainHTTP) {
		return exitUsage // a registry the user did not allow plain HTTP to, in any stage
	}
	switch release.StageOf(err) {
	case release.StageUsage:
		return exitUsage
	case release.StageBuild, release.StageTag:
		return exitBuild
	case release.StageSign:
		if signUsage(err) {
			return exitUsage
		}
		return exitSign
	case release.StageVerify:
		if errors.Is(err, verifier.ErrPolicy) || errors.Is(err, verifier.ErrNoPolicy) || errors.Is(err, verifier.ErrLoad) {
			return exitUsage
		}
		return exitVerify
	}
	return exitFailure
}

// signUsage reports whether a signing error is bad input.
func signUsage(err error) bool {
	var te *signer.TokenError
	return errors.As(err, &te) || errors.Is(err, signer.ErrConfig) || errors.Is(err, signer.ErrKeyPassword) ||
		errors.Is(err, fs.ErrNotExist) || errors.Is(err, doctor.ErrInsecureFlags)
}

// message is err's message with the hints that say which flag to use.
func message(err error) string {
	var te *signer.TokenError
	switch {
	case errors.As(err, &te) && te.Reason == signer.TokenMissing:
		return "no OIDC identity token for keyless signing: " + tokenHint(ci.Detect(os.Getenv))
	case errors.Is(err, signer.ErrNoKeyPassword):
		return strings.Replace(err.Error(), signer.ErrNoKeyPassword.Error(), signer.ErrNoKeyPassword.Error()+": set COSIGN_PASSWORD", 1)
	case errors.Is(err, builder.ErrNoTag):
		return strings.Replace(err.Error(), builder.ErrNoTag.Error(), builder.ErrNoTag.Error()+": give at least one --tag REGISTRY/REPOSITORY:TAG", 1)
	}
	return err.Error()
}

// tokenHint says how to provide an OIDC token in the CI environment env.
func tokenHint(env ci.Env) string {
	if h := env.OIDC().Hint; h != "" {
		return h
	}
	return "set SIGSTORE_ID_TOKEN, pass --identity-token or --identity-token-file, or pass --key"
}

// oneLine folds a multi-line error message into one line.
func oneLine(s string) string {
	fields := strings.FieldsFunc(strings.TrimSpace(s), func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return strings.Join(fields, "; ")
}
