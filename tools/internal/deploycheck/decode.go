package deploycheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Object is a decoded manifest: a typed Kubernetes or Prometheus Operator object.
type Object interface {
	metav1.Object
	runtime.Object
}

// kinds maps "apiVersion/Kind" to a constructor of the Go type the object must decode into.
// A kind the deployment does not use is an error, so a typo in apiVersion or kind is caught too.
var kinds = map[string]func() Object{
	"v1/Namespace":                             func() Object { return &corev1.Namespace{} },
	"v1/ServiceAccount":                        func() Object { return &corev1.ServiceAccount{} },
	"v1/ConfigMap":                             func() Object { return &corev1.ConfigMap{} },
	"v1/Secret":                                func() Object { return &corev1.Secret{} },
	"v1/Service":                               func() Object { return &corev1.Service{} },
	"v1/PersistentVolumeClaim":                 func() Object { return &corev1.PersistentVolumeClaim{} },
	"apps/v1/Deployment":                       func() Object { return &appsv1.Deployment{} },
	"policy/v1/PodDisruptionBudget":            func() Object { return &policyv1.PodDisruptionBudget{} },
	"rbac.authorization.k8s.io/v1/Role":        func() Object { return &rbacv1.Role{} },
	"rbac.authorization.k8s.io/v1/RoleBinding": func() Object { return &rbacv1.RoleBinding{} },
	"networking.k8s.io/v1/NetworkPolicy":       func() Object { return &networkingv1.NetworkPolicy{} },
	"monitoring.coreos.com/v1/ServiceMonitor":  func() Object { return &monitoringv1.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule":  func() Object { return &monitoringv1.PrometheusRule{} },
	"monitoring.coreos.com/v1alpha1/AlertmanagerConfig": func() Object {
		return &monitoringv1alpha1.AlertmanagerConfig{}
	},
}

// Decode splits a multi-document YAML stream and decodes each document strictly into its Go type:
// unknown fields (also in a different letter case), duplicate keys and unknown kinds are errors
// naming the document and the object.
func Decode(data []byte) ([]Object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []Object
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		obj, err := DecodeOne(doc)
		if errors.Is(err, errEmpty) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		objs = append(objs, obj)
	}
}

var errEmpty = errors.New("empty document")

// DecodeOne decodes a single YAML document strictly into its Go type.
func DecodeOne(doc []byte) (Object, error) {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, err
	}
	if string(bytes.TrimSpace(js)) == "null" {
		return nil, errEmpty
	}
	var tm metav1.TypeMeta
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
		return nil, fmt.Errorf("read apiVersion and kind: %w", err)
	}
	key := tm.APIVersion + "/" + tm.Kind
	newObj, ok := kinds[key]
	if !ok {
		return nil, fmt.Errorf("unsupported kind %q (apiVersion %q)", tm.Kind, tm.APIVersion)
	}
	obj := newObj()
	strict, err := sigsjson.UnmarshalStrict(js, obj)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("%s %s: %w", tm.Kind, obj.GetName(), errors.Join(strict...))
	}
	return obj, nil
}
