package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/hallmark-dev/hallmark/ci"
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
	code := report(stderr, err, received())
	if code != exitOK {
		reportCIFailure(ci.Detect(os.Getenv), stderr, args, errorLine(err, received()), code)
	}
	return code
}

// env is what every command shares: where output goes, the global flags
// and the CI environment.
type env struct {
	stdout, stderr io.Writer
	debug          bool
	ci             ci.Env
}

// logger returns the logger library packages receive: debug details with
// --debug, warnings otherwise, always on stderr.
func (e *env) logger() *slog.Logger {
	level := slog.LevelWarn
	if e.debug {
		level = slog.LevelDebug
	}
	return slog.New(newLineHandler(e.stderr, level))
}

// command is a hallmark command and the flag groups it is made of.
type command struct {
	*cli.Command
	groups []flagGroup
}

// commands returns hallmark's commands with their flag groups bound to e.
func commands(e *env) []command {
	return []command{
		buildCommand(e),
		signCommand(e),
		verifyCommand(e),
		releaseCommand(e),
		doctorCommand(e),
		annotationsCommand(e),
		versionCommand(e),
	}
}

func newApp(stdout, stderr io.Writer) *cli.App {
	e := &env{stdout: stdout, stderr: stderr, ci: ci.Detect(os.Getenv)}
	app := &cli.App{
		Name:    "hallmark",
		Usage:   "build, push, sign and verify container images without a Docker daemon",
		Version: version.String(),
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "debug", Usage: "log debug details to stderr", EnvVars: []string{"HALLMARK_DEBUG"}, Destination: &e.debug},
		},
		HideHelpCommand:        true,
		EnableBashCompletion:   false,
		OnUsageError:           onUsageError,
		ExitErrHandler:         func(*cli.Context, error) {},
		CommandNotFound:        commandNotFound,
		Writer:                 stdout,
		ErrWriter:              stderr,
		UseShortOptionHandling: true,
		// Repeatable flags split their values themselves (listFlag).
		DisableSliceFlagSeparator: true,
	}
	for _, cmd := range commands(e) {
		cmd.Flags = groupFlags(cmd.groups...)
		// urfave/cli does not pass the app's usage-error handler down.
		cmd.OnUsageError = onUsageError
		app.Commands = append(app.Commands, cmd.Command)
	}
	return app
}

func commandNotFound(c *cli.Context, name string) {
	fmt.Fprintf(c.App.ErrWriter, "error: unknown command %q (see hallmark --help)\n", name)
	os.Exit(exitUsage)
}
