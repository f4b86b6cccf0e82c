// Command generate writes every generated file of the repository from one params file: the
// Prometheus rule file, the PrometheusRule, the Grafana dashboards' JSON and their ConfigMaps,
// and the --metrics.state-sets=current twins of the promtool tests (alerts/tests/current/).
// -params and -out are relative to -root; -out writes the same tree elsewhere (the end-to-end
// test's short-duration rules, a trial with other params).
//
//	GOWORK=off go -C tools run ./cmd/generate [-params alerts/params.yaml] [-out DIR]
package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/alertrules"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/alerttests"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/dashboards"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/params"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	root := fs.String("root", "..", "repository root (the default suits go -C tools run)")
	paramsFile := fs.String("params", "alerts/params.yaml", "params file overriding the defaults of tools/internal/params")
	out := fs.String("out", "", "directory the generated tree is written into (default: the root)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	at := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(*root, p)
	}
	p, err := params.Load(at(*paramsFile))
	if err != nil {
		return err
	}
	source := filepath.ToSlash(*paramsFile)
	if filepath.IsAbs(*paramsFile) {
		source = filepath.Base(*paramsFile)
	}
	generated, err := files(p, source)
	if err != nil {
		return err
	}
	twins, err := alerttests.Twins(*root)
	if err != nil {
		return err
	}
	maps.Copy(generated, twins)
	dir := *root
	if *out != "" {
		dir = at(*out)
	}
	// Everything is rendered before the first write: a bad params file writes nothing.
	for name, b := range generated {
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ChartFiles is the Helm chart's directory of generated files (its templates read them with
// .Files.Get; the chart/kustomize comparison in tools/internal/helmchart checks the result).
const ChartFiles = "deploy/helm/argocd-monitor/files/"

// files maps each generated file's path in the repository to its content; source names the
// params file in the files' headers.
func files(p params.Params, source string) (map[string][]byte, error) {
	rules, err := alertrules.Files(p, source)
	if err != nil {
		return nil, err
	}
	dash, err := dashboards.Files(p, source)
	if err != nil {
		return nil, err
	}
	m := map[string][]byte{
		"alerts/argocd-monitor.rules.yaml":                              rules.Rules,
		"deploy/components/prometheus-operator/prometheusrule.yaml":     rules.PrometheusRule,
		"deploy/components/prometheus-operator/grafana-dashboards.yaml": dash.ConfigMaps,
		// The Helm chart reads only files inside its directory: the same rule file, verbatim.
		ChartFiles + "argocd-monitor.rules.yaml": rules.Rules,
	}
	for name, b := range dash.JSON {
		m["dashboards/"+name] = b
		m[ChartFiles+"dashboards/"+name] = b
	}
	return m, nil
}
