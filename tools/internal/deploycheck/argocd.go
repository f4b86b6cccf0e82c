package deploycheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Account is the Argo CD local account the exporter's token belongs to.
const Account = "argocd-monitor"

// Application is the part of Argo CD's Application (argoproj.io/v1alpha1, field names from its
// swagger) that deploy/argocd-application*.yaml may use; anything else is rejected as unknown.
type Application struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Project string `json:"project"`
		Source  struct {
			RepoURL        string `json:"repoURL"`
			TargetRevision string `json:"targetRevision"`
			Path           string `json:"path"`
			// Helm is set when Path is a chart (deploy/argocd-application-helm.yaml).
			Helm *struct {
				ReleaseName  string          `json:"releaseName"`
				ValuesObject json.RawMessage `json:"valuesObject,omitempty"`
			} `json:"helm,omitempty"`
		} `json:"source"`
		Destination struct {
			Server    string `json:"server,omitempty"`
			Name      string `json:"name,omitempty"`
			Namespace string `json:"namespace"`
		} `json:"destination"`
		SyncPolicy *struct {
			Automated *struct {
				Prune      bool `json:"prune,omitempty"`
				SelfHeal   bool `json:"selfHeal,omitempty"`
				AllowEmpty bool `json:"allowEmpty,omitempty"`
			} `json:"automated,omitempty"`
			SyncOptions []string `json:"syncOptions,omitempty"`
			Retry       *struct {
				Limit   int64 `json:"limit,omitempty"`
				Backoff *struct {
					Duration    string `json:"duration,omitempty"`
					Factor      int64  `json:"factor,omitempty"`
					MaxDuration string `json:"maxDuration,omitempty"`
				} `json:"backoff,omitempty"`
			} `json:"retry,omitempty"`
		} `json:"syncPolicy,omitempty"`
	} `json:"spec"`
}

// strictYAML decodes one YAML document into v, rejecting unknown and duplicate fields.
func strictYAML(data []byte, v any) error {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	strict, err := sigsjson.UnmarshalStrict(js, v)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// ReadApplication decodes an Application file strictly and checks its kind and destination.
func ReadApplication(path string) (Application, error) {
	var app Application
	data, err := os.ReadFile(path)
	if err != nil {
		return app, err
	}
	name := filepath.Base(path)
	if err := strictYAML(data, &app); err != nil {
		return app, fmt.Errorf("%s: %w", name, err)
	}
	switch {
	case app.APIVersion != "argoproj.io/v1alpha1" || app.Kind != "Application":
		return app, fmt.Errorf("%s: %s/%s, want argoproj.io/v1alpha1/Application", name, app.APIVersion, app.Kind)
	case app.Spec.Destination.Server == "" && app.Spec.Destination.Name == "":
		return app, fmt.Errorf("%s: destination needs server or name", name)
	case app.Spec.Destination.Namespace == "":
		return app, fmt.Errorf("%s: no destination.namespace", name)
	}
	return app, nil
}

// CheckApplication checks that the self-management Application deploys an overlay of this
// repository into the namespace that overlay renders to.
func CheckApplication(root string) error {
	app, err := ReadApplication(filepath.Join(root, "deploy", "argocd-application.yaml"))
	if err != nil {
		return err
	}
	if app.Spec.Source.Helm != nil {
		return errors.New("argocd-application.yaml: a helm section, but the source is an overlay")
	}
	overlay := filepath.Base(app.Spec.Source.Path)
	if app.Spec.Source.Path != filepath.ToSlash(OverlayDir(overlay)) || !slices.Contains(Overlays, overlay) {
		return fmt.Errorf("argocd-application.yaml: source.path %q is not one of deploy/overlays/%v", app.Spec.Source.Path, Overlays)
	}
	objs, err := Decode(mustRead(filepath.Join(root, RenderedPath(overlay))))
	if err != nil {
		return fmt.Errorf("%s: %w", RenderedPath(overlay), err)
	}
	for _, o := range objs {
		if ns, ok := o.(*corev1.Namespace); ok && ns.Name != app.Spec.Destination.Namespace {
			return fmt.Errorf("argocd-application.yaml: destination.namespace %q, but overlay %s deploys to %q",
				app.Spec.Destination.Namespace, overlay, ns.Name)
		}
	}
	return nil
}

func mustRead(path string) []byte {
	data, _ := os.ReadFile(path) // a missing file decodes to no objects and fails the caller's checks
	return data
}

// CheckArgoCDConfig checks the two patches for Argo CD's own ConfigMaps: the account may only
// hold API keys, and its RBAC grants exactly applications get and sync.
func CheckArgoCDConfig(root string) error {
	var errs []error
	read := func(name string) *corev1.ConfigMap {
		path := filepath.Join(root, "deploy", "argocd", name)
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		obj, err := DecodeOne(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return nil
		}
		cm, ok := obj.(*corev1.ConfigMap)
		if !ok || cm.Namespace != "argocd" || cm.Name+".yaml" != name {
			errs = append(errs, fmt.Errorf("%s: want ConfigMap %s in namespace argocd", name, strings.TrimSuffix(name, ".yaml")))
			return nil
		}
		return cm
	}
	if cm := read("argocd-cm.yaml"); cm != nil {
		if got := cm.Data["accounts."+Account]; got != "apiKey" {
			errs = append(errs, fmt.Errorf("argocd-cm: accounts.%s = %q, want apiKey (tokens only, no login)", Account, got))
		}
		if len(cm.Data) != 1 {
			errs = append(errs, fmt.Errorf("argocd-cm: a patch must carry only our account key, has %d keys", len(cm.Data)))
		}
	}
	if cm := read("argocd-rbac-cm.yaml"); cm != nil {
		if err := checkPolicy(cm); err != nil {
			errs = append(errs, fmt.Errorf("argocd-rbac-cm: %w", err))
		}
	}
	return errors.Join(errs...)
}

// checkPolicy parses the Casbin CSV lines under our own policy.<name>.csv key (Argo CD appends
// such keys to policy.csv) and wants exactly get and sync on applications for the account.
func checkPolicy(cm *corev1.ConfigMap) error {
	key := "policy." + Account + ".csv"
	if len(cm.Data) != 1 || cm.Data[key] == "" {
		return fmt.Errorf("want exactly the key %s, so the patch never replaces your policy.csv", key)
	}
	var actions []string
	for _, line := range strings.Split(cm.Data[key], "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		if len(f) != 6 || f[0] != "p" || f[1] != Account || f[2] != "applications" || f[5] != "allow" || !strings.Contains(f[4], "/") {
			return fmt.Errorf("line %q: want p, %s, applications, <action>, <project>/<app>, allow", line, Account)
		}
		actions = append(actions, f[3])
	}
	slices.Sort(actions)
	if actions = slices.Compact(actions); !slices.Equal(actions, []string{"get", "sync"}) {
		return fmt.Errorf("actions %v, want exactly [get sync]", actions)
	}
	return nil
}
