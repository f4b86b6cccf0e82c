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
	"github.com/argocd-monitor/argocd-monitor/tools/internal/gencli"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "alertsgen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("alertsgen", flag.ContinueOnError)
	common := gencli.Register(fs)
	outRules := fs.String("out-rules", "", "where to write the Prometheus rule file (required)")
	outPR := fs.String("out-prometheusrule", "", "where to write the PrometheusRule manifest (optional)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *outRules == "" {
		return fmt.Errorf("-out-rules is required")
	}
	setup, err := common.Load()
	if err != nil {
		return err
	}
	r := setup.Resolver
	files, err := alertrules.Files(setup.Params, setup.Source)
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
