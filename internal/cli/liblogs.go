package cli

import (
	"context"
	"io"
	"log/slog"

	"github.com/sirupsen/logrus"
)

// routeLibraryLogs sends what BuildKit's client and containerd log through
// logrus (e.g. containerd's "failed check for fsverity support" when a
// local cache directory is opened) to hallmark's logger, so stderr has one
// log style: as warnings, with --debug everything, with --progress quiet
// nothing. A library's "error" is one it reports and often retries itself
// (containerd's content store logs a Write to a locked ref, then retries
// it): what fails the command is the command's own error line, so a
// library's log never reads as one.
func routeLibraryLogs(e *env, progress string) {
	level := logrus.WarnLevel
	switch {
	case e.debug:
		level = logrus.DebugLevel
	case progress == "quiet":
		level = logrus.PanicLevel
	}
	std := logrus.StandardLogger()
	std.SetOutput(io.Discard)
	std.SetLevel(level)
	std.ReplaceHooks(logrus.LevelHooks{})
	std.AddHook(&slogHook{log: e.logger()})
}

// slogHook forwards logrus entries to a slog logger.
type slogHook struct{ log *slog.Logger }

func (*slogHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h *slogHook) Fire(entry *logrus.Entry) error {
	level := slog.LevelDebug
	switch {
	case entry.Level <= logrus.WarnLevel:
		level = slog.LevelWarn
	case entry.Level == logrus.InfoLevel:
		level = slog.LevelInfo
	}
	attrs := make([]any, 0, 2*len(entry.Data))
	for k, v := range entry.Data {
		attrs = append(attrs, k, v)
	}
	ctx := entry.Context
	if ctx == nil {
		ctx = context.Background()
	}
	h.log.Log(ctx, level, entry.Message, attrs...)
	return nil
}
