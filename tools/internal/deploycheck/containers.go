package deploycheck

import (
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// ContainersPath is the committed list of every container command line the overlays deploy,
// read by the CLI tests of the exporter and the bridge (each parses its own entries with its
// real kong CLI). Kubernetes knowledge (ConfigMap references) stays here; the product modules
// only see args and env.
var ContainersPath = filepath.Join("deploy", "rendered", "containers.json")

// Container is one container of a rendered overlay as its process sees it.
type Container struct {
	Overlay    string            `json:"overlay"`
	Deployment string            `json:"deployment"`
	Binary     string            `json:"binary"` // base name of command[0]
	Args       []string          `json:"args"`
	Env        map[string]string `json:"env"` // ConfigMap references resolved
}

// Containers lists the containers of one decoded overlay, resolving env values from the
// overlay's ConfigMaps. Env from Secrets or the downward API (but the pod's name) is an error:
// secrets come as files.
func Containers(overlay string, objs []Object) ([]Container, error) {
	configMaps := map[string]*corev1.ConfigMap{}
	for _, o := range objs {
		if cm, ok := o.(*corev1.ConfigMap); ok {
			configMaps[cm.Name] = cm
		}
	}
	var out []Container
	for _, o := range objs {
		d, ok := o.(*appsv1.Deployment)
		if !ok {
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if len(c.Command) == 0 {
				return nil, fmt.Errorf("deployment %s container %s: no command", d.Name, c.Name)
			}
			ct := Container{Overlay: overlay, Deployment: d.Name, Binary: path.Base(c.Command[0]), Args: c.Args, Env: map[string]string{}}
			for _, e := range c.Env {
				switch {
				case e.ValueFrom == nil:
					ct.Env[e.Name] = e.Value
				case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
					ct.Env[e.Name] = "$(metadata.name)" // the pod's name, known only at run time
				case e.ValueFrom.ConfigMapKeyRef != nil:
					ref := e.ValueFrom.ConfigMapKeyRef
					cm := configMaps[ref.Name]
					if cm == nil {
						return nil, fmt.Errorf("deployment %s env %s: ConfigMap %s key %s not in the render", d.Name, e.Name, ref.Name, ref.Key)
					}
					v, ok := cm.Data[ref.Key]
					if !ok {
						return nil, fmt.Errorf("deployment %s env %s: ConfigMap %s key %s not in the render", d.Name, e.Name, ref.Name, ref.Key)
					}
					ct.Env[e.Name] = v
				default:
					return nil, fmt.Errorf("deployment %s env %s: only literals and ConfigMap keys (secrets are mounted files)", d.Name, e.Name)
				}
			}
			out = append(out, ct)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Deployment < out[j].Deployment })
	return out, nil
}

// RenderContainers builds every overlay of root, and production with the optional components,
// and returns the content of ContainersPath.
func RenderContainers(root string) ([]byte, error) {
	builds := map[string]func() ([]byte, error){}
	names := slices.Clone(Overlays)
	for _, o := range Overlays {
		builds[o] = func() ([]byte, error) { return Render(root, o) }
	}
	withAll := "production+" + strings.Join(OptionalComponents, "+")
	builds[withAll] = func() ([]byte, error) { return BuildWithComponents(root, "production", OptionalComponents) }
	names = append(names, withAll)
	var all []Container
	for _, o := range names {
		out, err := builds[o]()
		if err != nil {
			return nil, err
		}
		objs, err := Decode(out)
		if err != nil {
			return nil, fmt.Errorf("overlay %s: %w", o, err)
		}
		cs, err := Containers(o, objs)
		if err != nil {
			return nil, fmt.Errorf("overlay %s: %w", o, err)
		}
		all = append(all, cs...)
	}
	data, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}
