package cli

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed moves a command's positional arguments after its flags, so
// that `hallmark sign IMAGE --key k` works like `hallmark sign --key k
// IMAGE` (urfave/cli v2 stops parsing flags at the first argument; cosign
// and docker users expect flags anywhere), and global flags given after the
// command (`hallmark release --debug`) before it. Everything after "--"
// stays positional.
func interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		i++ // global flags (all boolean)
	}
	if i >= len(args) {
		return args
	}
	cmd := app.Command(args[i])
	if cmd == nil {
		return args
	}
	out := slices.Clone(args[:i+1])
	var positional []string
	rest := args[i+1:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		switch {
		case a == "--":
			positional = append(positional, rest[j+1:]...)
			j = len(rest)
		case isGlobalFlag(app, cmd, a):
			out = slices.Insert(out, i, a) // before the command name
			i++
		case len(a) > 1 && strings.HasPrefix(a, "-"):
			out = append(out, a)
			if takesValue(cmd, a) && j+1 < len(rest) {
				j++
				out = append(out, rest[j])
			}
		default:
			positional = append(positional, a)
		}
	}
	if len(positional) == 0 {
		return out
	}
	return append(append(out, "--"), positional...)
}

// isGlobalFlag reports whether a is one of the app's (boolean) flags and
// not one of the command's, e.g. `hallmark release --debug`.
func isGlobalFlag(app *cli.App, cmd *cli.Command, a string) bool {
	n := strings.TrimLeft(a, "-")
	n, _, _ = strings.Cut(n, "=")
	has := func(flags []cli.Flag) bool {
		return slices.ContainsFunc(flags, func(f cli.Flag) bool { return slices.Contains(f.Names(), n) })
	}
	return strings.HasPrefix(a, "-") && has(app.Flags) && !has(cmd.Flags)
}

// takesValue reports whether the flag argument a (e.g. "--key", "-a")
// consumes the next argument as its value.
func takesValue(cmd *cli.Command, a string) bool {
	flagName := strings.TrimLeft(a, "-")
	if strings.Contains(flagName, "=") {
		return false
	}
	for _, f := range cmd.Flags {
		if !slices.Contains(f.Names(), flagName) {
			continue
		}
		_, isBool := f.(*cli.BoolFlag)
		return !isBool
	}
	return false // unknown flags are reported by the parser
}
