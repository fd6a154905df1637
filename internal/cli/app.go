package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/internal/version"
)

// Main runs hallmark with args (os.Args: the program name first), writing
// the result to stdout and progress, logs and the error line to stderr,
// and returns the process exit code (README.md's table). SIGINT and
// SIGTERM cancel ctx's work and exit 130 and 143.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	ctx, received := signalContext(ctx, sig)

	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, interspersed(app, args))
	return report(stderr, err, received())
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "hallmark",
		Usage:   "build, push, sign and verify container images without a Docker daemon",
		Version: version.String(),
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "debug", Usage: "log debug details to stderr", EnvVars: []string{"HALLMARK_DEBUG"}},
		},
		Commands: []*cli.Command{
			buildCommand(),
			signCommand(),
			verifyCommand(),
			releaseCommand(),
			doctorCommand(),
			annotationsCommand(),
			versionCommand(),
		},
		HideHelpCommand:        true,
		EnableBashCompletion:   false,
		OnUsageError:           onUsageError,
		ExitErrHandler:         func(*cli.Context, error) {},
		CommandNotFound:        commandNotFound,
		Writer:                 stdout,
		ErrWriter:              stderr,
		UseShortOptionHandling: true,
		// Values such as build args and annotations may hold commas; flags
		// whose values cannot (tags, platforms, hosts) split them explicitly.
		DisableSliceFlagSeparator: true,
	}
	// urfave/cli does not pass the app's usage-error handler down.
	for _, cmd := range app.Commands {
		if cmd.OnUsageError == nil {
			cmd.OnUsageError = onUsageError
		}
	}
	return app
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print hallmark's version",
		Action: func(c *cli.Context) error {
			_, err := fmt.Fprintln(c.App.Writer, version.String())
			return err
		},
	}
}

// logger returns the logger library packages receive: debug details with
// --debug, warnings otherwise, always on stderr.
func logger(c *cli.Context) *slog.Logger {
	level := slog.LevelWarn
	if c.Bool("debug") {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level}))
}

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

// stageError carries the exit code of the stage that failed.
type stageError struct {
	code int
	err  error
}

func (e *stageError) Error() string { return e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

func usageErr(format string, a ...any) error {
	return &stageError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

func stage(code int, err error) error {
	if err == nil {
		return nil
	}
	return &stageError{code: code, err: err}
}

func onUsageError(_ *cli.Context, err error, _ bool) error {
	return &stageError{code: exitUsage, err: fmt.Errorf("%w (see --help)", err)}
}

func commandNotFound(c *cli.Context, name string) {
	fmt.Fprintf(c.App.ErrWriter, "error: unknown command %q (see hallmark --help)\n", name)
	os.Exit(exitUsage)
}

// report prints err as one line on w and returns the process exit code.
func report(w io.Writer, err error, sig os.Signal) int {
	if err == nil && sig == nil {
		return exitOK
	}
	switch sig {
	case os.Interrupt:
		fmt.Fprintln(w, "error: interrupted (SIGINT)")
		return exitSIGINT
	case syscall.SIGTERM:
		fmt.Fprintln(w, "error: terminated (SIGTERM)")
		return exitSIGTERM
	}
	fmt.Fprintf(w, "error: %s\n", oneLine(err.Error()))
	var se *stageError
	if errors.As(err, &se) {
		return se.code
	}
	return exitFailure
}
