package helmchart

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// ApplicationPath is the Argo CD Application that installs the chart, relative to the root.
const ApplicationPath = "deploy/argocd-application-helm.yaml"

// Application is the part of Argo CD's Application (argoproj.io/v1alpha1, field names from its
// swagger) that ApplicationPath may use; anything else is rejected as unknown.
type Application struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Project string `json:"project"`
		Source  struct {
			RepoURL        string `json:"repoURL"`
			TargetRevision string `json:"targetRevision"`
			Path           string `json:"path"`
			Helm           struct {
				ReleaseName  string          `json:"releaseName"`
				ValuesObject json.RawMessage `json:"valuesObject"`
			} `json:"helm"`
		} `json:"source"`
		Destination struct {
			Server    string `json:"server,omitempty"`
			Name      string `json:"name,omitempty"`
			Namespace string `json:"namespace"`
		} `json:"destination"`
		SyncPolicy json.RawMessage `json:"syncPolicy,omitempty"`
	} `json:"spec"`
}

// ReadApplication decodes ApplicationPath strictly, checks that it installs this chart under the
// release name the docs use, and returns it with its values as a YAML document.
func ReadApplication(root string) (Application, string, error) {
	var app Application
	data, err := os.ReadFile(filepath.Join(root, ApplicationPath))
	if err != nil {
		return app, "", err
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return app, "", fmt.Errorf("%s: %w", ApplicationPath, err)
	}
	strict, err := sigsjson.UnmarshalStrict(js, &app)
	if err == nil {
		err = errors.Join(strict...)
	}
	if err != nil {
		return app, "", fmt.Errorf("%s: %w", ApplicationPath, err)
	}
	switch {
	case app.APIVersion != "argoproj.io/v1alpha1" || app.Kind != "Application":
		return app, "", fmt.Errorf("%s: %s/%s, want argoproj.io/v1alpha1/Application", ApplicationPath, app.APIVersion, app.Kind)
	case app.Spec.Source.Path != ChartDir:
		return app, "", fmt.Errorf("%s: source.path %q, want the chart %s", ApplicationPath, app.Spec.Source.Path, ChartDir)
	case app.Spec.Source.Helm.ReleaseName != Release:
		return app, "", fmt.Errorf("%s: helm.releaseName %q, want %q", ApplicationPath, app.Spec.Source.Helm.ReleaseName, Release)
	case app.Spec.Destination.Namespace == "":
		return app, "", fmt.Errorf("%s: no destination.namespace", ApplicationPath)
	case app.Spec.Destination.Server == "" && app.Spec.Destination.Name == "":
		return app, "", fmt.Errorf("%s: destination needs server or name", ApplicationPath)
	}
	values, err := yaml.JSONToYAML(app.Spec.Source.Helm.ValuesObject)
	if err != nil {
		return app, "", fmt.Errorf("%s: valuesObject: %w", ApplicationPath, err)
	}
	return app, string(values), nil
}
