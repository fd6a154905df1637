package cli

import (
	"flag"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// flagGroup is a set of flags that belong together (how to reach
// buildkitd, the signing key, the trust material...). Each group declares
// its flags and their environment variables once, binds them to its own
// fields (Destination) and translates itself into library options in one
// method; commands compose groups.
type flagGroup interface {
	// title names the group in docs/flags.md.
	title() string
	// flags are the group's flags, bound to the group's fields.
	flags() []cli.Flag
}

// groupFlags concatenates the flags of groups, in order.
func groupFlags(groups ...flagGroup) []cli.Flag {
	var out []cli.Flag
	for _, g := range groups {
		out = append(out, g.flags()...)
	}
	return out
}

// listFlag is a repeatable string flag. A value given as a flag is one
// entry (a newline in it does not split it), or with commas set one entry
// per comma-separated part. A value from its environment variable holds
// one entry per line (with commas set, also comma-separated), as README.md
// documents. Values given as flags replace the variable's.
type listFlag struct {
	*cli.StringSliceFlag
	// commas splits values on commas too (tags, platforms, hosts: values
	// that cannot hold one).
	commas bool
	dst    *[]string
}

// newListFlag returns a listFlag bound to dst.
func newListFlag(f *cli.StringSliceFlag, commas bool, dst *[]string) *listFlag {
	return &listFlag{StringSliceFlag: f, commas: commas, dst: dst}
}

// Apply binds the flag to dst, with the environment variable's entries
// until the flag is given.
func (f *listFlag) Apply(set *flag.FlagSet) error {
	v := &listValue{dst: f.dst, commas: f.commas}
	*f.dst = nil
	for _, name := range f.EnvVars {
		if val, ok := os.LookupEnv(name); ok && strings.TrimSpace(val) != "" {
			*f.dst = splitEntries(val, "\n", f.commas)
			v.fromEnv = true
			f.HasBeenSet = true
			break
		}
	}
	for _, name := range f.Names() {
		set.Var(v, name, f.Usage)
	}
	return nil
}

// listValue is a listFlag's flag.Value.
type listValue struct {
	dst     *[]string
	commas  bool
	fromEnv bool // dst holds the environment variable's entries
}

func (v *listValue) String() string {
	if v.dst == nil {
		return ""
	}
	return strings.Join(*v.dst, ",")
}

// aliasCopy is what Serialize returns: urfave/cli copies a flag's value
// to its other names (-a to --annotations) through Serialize and Set; they
// all share this value already, so Set ignores it.
const aliasCopy = "\x00hallmark: alias copy"

// Serialize implements cli.Serializer for urfave/cli's alias copy.
func (v *listValue) Serialize() string { return aliasCopy }

func (v *listValue) Set(s string) error {
	if s == aliasCopy {
		return nil
	}
	if v.fromEnv {
		*v.dst, v.fromEnv = nil, false
	}
	*v.dst = append(*v.dst, splitEntries(s, "", v.commas)...)
	return nil
}

// splitEntries splits s at sep (none when "") and, with commas, at commas,
// trims each entry and drops the empty ones.
func splitEntries(s, sep string, commas bool) []string {
	parts := []string{s}
	if sep != "" {
		parts = strings.Split(s, sep)
	}
	var out []string
	for _, p := range parts {
		sub := []string{p}
		if commas {
			sub = strings.Split(p, ",")
		}
		for _, e := range sub {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}
