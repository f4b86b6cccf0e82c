// Command dashgen writes argocd-monitor's Grafana dashboards as JSON files and as ConfigMaps for
// Grafana's dashboard sidecar, from the defaults in tools/internal/params overridden by a params
// file (the Argo CD URL of the links). Relative paths are resolved against the repository root
// (the nearest parent directory holding go.work).
//
//	GOWORK=off go -C tools run ./cmd/dashgen -params FILE -out-dir DIR [-out-configmaps PATH]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/dashboards"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/gencli"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "dashgen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("dashgen", flag.ContinueOnError)
	common := gencli.Register(fs)
	outDir := fs.String("out-dir", "", "directory for the dashboard JSON files (required)")
	outCM := fs.String("out-configmaps", "", "where to write the Grafana dashboard ConfigMaps (optional)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *outDir == "" {
		return fmt.Errorf("-out-dir is required")
	}
	setup, err := common.Load()
	if err != nil {
		return err
	}
	r := setup.Resolver
	out, err := dashboards.Files(setup.Params, setup.Source)
	if err != nil {
		return err
	}
	for name, b := range out.JSON {
		if err := r.Write(filepath.Join(r.Abs(*outDir), name), b); err != nil {
			return err
		}
	}
	if *outCM != "" {
		return r.Write(*outCM, out.ConfigMaps)
	}
	return nil
}
