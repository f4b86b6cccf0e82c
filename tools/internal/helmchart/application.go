package helmchart

import (
	"fmt"
	"path/filepath"

	"sigs.k8s.io/yaml"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/deploycheck"
)

// ApplicationPath is the Argo CD Application that installs the chart, relative to the root.
const ApplicationPath = "deploy/argocd-application-helm.yaml"

// ReadApplication decodes ApplicationPath strictly, checks that it installs this chart under the
// release name the docs use, and returns it with its values as a YAML document.
func ReadApplication(root string) (deploycheck.Application, string, error) {
	app, err := deploycheck.ReadApplication(filepath.Join(root, ApplicationPath))
	if err != nil {
		return app, "", err
	}
	switch helm := app.Spec.Source.Helm; {
	case app.Spec.Source.Path != ChartDir:
		return app, "", fmt.Errorf("%s: source.path %q, want the chart %s", ApplicationPath, app.Spec.Source.Path, ChartDir)
	case helm == nil || helm.ReleaseName != Release:
		return app, "", fmt.Errorf("%s: want helm.releaseName %q", ApplicationPath, Release)
	}
	values, err := yaml.JSONToYAML(app.Spec.Source.Helm.ValuesObject)
	if err != nil {
		return app, "", fmt.Errorf("%s: valuesObject: %w", ApplicationPath, err)
	}
	return app, string(values), nil
}
