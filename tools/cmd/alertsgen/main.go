// Command alertsgen writes argocd-monitor's alert rules (a Prometheus rule file and, optionally,
// the Prometheus Operator PrometheusRule) from the defaults in tools/internal/params overridden by
// a params file. Relative paths are resolved against the repository root (the nearest parent
// directory holding go.work), so `go -C tools run ./cmd/alertsgen -params alerts/params.yaml ...`
// works from anywhere.
//
//	GOWORK=off go -C tools run ./cmd/alertsgen -params FILE -out-rules PATH [-out-prometheusrule PATH]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/alertrules"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/params"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/repofile"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "alertsgen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("alertsgen", flag.ContinueOnError)
	paramsFile := fs.String("params", "", "params YAML overriding the defaults (empty: defaults only)")
	outRules := fs.String("out-rules", "", "where to write the Prometheus rule file (required)")
	outPR := fs.String("out-prometheusrule", "", "where to write the PrometheusRule manifest (optional)")
	root := fs.String("root", "", "repository root for relative paths (default: nearest parent with go.work)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *outRules == "" {
		return fmt.Errorf("-out-rules is required")
	}
	r, err := repofile.NewResolver(*root)
	if err != nil {
		return err
	}
	src := "defaults"
	if *paramsFile != "" {
		src = r.Rel(*paramsFile)
	}
	p, err := params.Load(r.Abs(*paramsFile))
	if err != nil {
		return err
	}
	files, err := alertrules.Files(p, src)
	if err != nil {
		return err
	}
	if err := r.Write(*outRules, files.Rules); err != nil {
		return err
	}
	if *outPR != "" {
		return r.Write(*outPR, files.PrometheusRule)
	}
	return nil
}
