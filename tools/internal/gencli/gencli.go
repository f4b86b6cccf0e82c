// Package gencli holds the flags and set-up the generator commands (alertsgen, dashgen) share:
// the params file, the repository root, and resolving paths against it.
package gencli

import (
	"flag"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/params"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/repofile"
)

// Flags are the flags every generator takes.
type Flags struct {
	params, root *string
}

// Register adds -params and -root to fs.
func Register(fs *flag.FlagSet) *Flags {
	return &Flags{
		params: fs.String("params", "", "params YAML overriding the defaults (empty: defaults only)"),
		root:   fs.String("root", "", "repository root for relative paths (default: nearest parent with go.work)"),
	}
}

// Setup is what a generator needs after parsing its flags.
type Setup struct {
	Resolver repofile.Resolver
	Params   params.Params
	// Source names the params file for the "generated from" header.
	Source string
}

// Load resolves the root and reads the params file over the defaults.
func (f *Flags) Load() (Setup, error) {
	r, err := repofile.NewResolver(*f.root)
	if err != nil {
		return Setup{}, err
	}
	src := "defaults"
	if *f.params != "" {
		src = r.Rel(*f.params)
	}
	p, err := params.Load(r.Abs(*f.params))
	if err != nil {
		return Setup{}, err
	}
	return Setup{Resolver: r, Params: p, Source: src}, nil
}
