package deploycheck

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Names the manifests and docs/deploy.md share.
const (
	ExporterName = "argocd-exporter"
	BridgeName   = "slack-bridge"
	RunAsUser    = 65532 // distroless "nonroot"
	PartOfLabel  = "app.kubernetes.io/part-of"
)

// SecretKeys are the Secrets the deployment references (created by the operator of the cluster,
// never by these manifests) and the keys each may hold.
var SecretKeys = map[string][]string{
	"argocd-monitor-argocd-token":         {"token"},
	"argocd-monitor-slack":                {"webhook-url", "bot-token", "app-token", "signing-secret"},
	"argocd-monitor-bridge-webhook-token": {"token"},
	"argocd-monitor-api-token":            {"token"},
	WriteTokenSecret:                      {"token"},
}

// maxConfigMapBytes is the API server's limit on a ConfigMap's data (generated dashboards grow).
const maxConfigMapBytes = 1 << 20

func configMapSize(cm *corev1.ConfigMap) int {
	n := 0
	for k, v := range cm.Data {
		n += len(k) + len(v)
	}
	for k, v := range cm.BinaryData {
		n += len(k) + len(v)
	}
	return n
}

// render indexes decoded objects for the cross-reference rules.
type render struct {
	namespace   string
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
	accounts    map[string]bool
	pdbs        []*policyv1.PodDisruptionBudget
	roles       map[string]*rbacv1.Role
	bindings    []*rbacv1.RoleBinding
	netpols     []*networkingv1.NetworkPolicy
	monitors    []*monitoringv1.ServiceMonitor
	rules       []*monitoringv1.PrometheusRule
	amConfigs   []*monitoringv1alpha1.AlertmanagerConfig
	jobs        map[string]bool // Prometheus job names the ServiceMonitors produce
	errs        []error
}

func (r *render) errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf(format, args...))
}

// Check applies the deployment's rules to the objects of one rendered overlay whose namespace is
// namespace, and returns every violation (nil when all hold).
func Check(objs []Object, namespace string) error {
	r := &render{namespace: namespace, configMaps: map[string]*corev1.ConfigMap{}, accounts: map[string]bool{}, roles: map[string]*rbacv1.Role{}}
	sawNamespace := false
	for _, o := range objs {
		kind := reflect.TypeOf(o).Elem().Name()
		// One label finds everything this project deployed (kubectl get -l, Argo CD filters).
		if o.GetLabels()[PartOfLabel] != "argocd-monitor" {
			r.errorf("%s %s: label %s=argocd-monitor missing", kind, o.GetName(), PartOfLabel)
		}
		if ns, ok := o.(*corev1.Namespace); ok {
			sawNamespace = sawNamespace || ns.Name == namespace
		} else if o.GetNamespace() != namespace {
			r.errorf("%s %s: namespace %q, want %q", kind, o.GetName(), o.GetNamespace(), namespace)
		}
		switch o := o.(type) {
		case *corev1.Secret:
			r.errorf("Secret %s: secrets are referenced, never inlined in the manifests", o.Name)
		case *corev1.ConfigMap:
			r.configMaps[o.Name] = o
			if n := configMapSize(o); n > maxConfigMapBytes {
				r.errorf("ConfigMap %s: %d bytes of data, the API server accepts at most %d", o.Name, n, maxConfigMapBytes)
			}
		case *corev1.ServiceAccount:
			r.accounts[o.Name] = true
		case *appsv1.Deployment:
			r.deployments = append(r.deployments, o)
		case *corev1.Service:
			r.services = append(r.services, o)
		case *policyv1.PodDisruptionBudget:
			r.pdbs = append(r.pdbs, o)
		case *rbacv1.Role:
			r.roles[o.Name] = o
		case *rbacv1.RoleBinding:
			r.bindings = append(r.bindings, o)
		case *networkingv1.NetworkPolicy:
			r.netpols = append(r.netpols, o)
		case *monitoringv1.ServiceMonitor:
			r.monitors = append(r.monitors, o)
		case *monitoringv1.PrometheusRule:
			r.rules = append(r.rules, o)
		case *monitoringv1alpha1.AlertmanagerConfig:
			r.amConfigs = append(r.amConfigs, o)
		}
	}
	if !sawNamespace {
		r.errorf("no Namespace %q object", namespace)
	}
	for _, d := range r.deployments {
		r.checkPod(d)
	}
	r.checkExporter()
	r.checkBridge()
	r.checkRBAC()
	r.checkServices()
	r.checkNetworkPolicies()
	r.checkAppAPI()
	r.checkActions()
	r.checkMonitoring()
	return errors.Join(r.errs...)
}

func (r *render) deployment(name string) *appsv1.Deployment {
	for _, d := range r.deployments {
		if d.Name == name {
			return d
		}
	}
	r.errorf("Deployment %s: missing", name)
	return nil
}

// checkPod holds every Deployment to the hardening and wiring the issue asks for.
func (r *render) checkPod(d *appsv1.Deployment) {
	spec := d.Spec.Template.Spec
	where := "Deployment " + d.Name
	if !r.accounts[spec.ServiceAccountName] {
		r.errorf("%s: ServiceAccount %q not in the render", where, spec.ServiceAccountName)
	}
	// A token only where a Role says what it may do.
	bound := r.roleOf(spec.ServiceAccountName) != nil
	if mount := spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken; mount != bound {
		r.errorf("%s: automountServiceAccountToken must be %t (a Role is bound to its ServiceAccount: %t)", where, bound, bound)
	}
	if psc := spec.SecurityContext; psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		r.errorf("%s: pod seccompProfile must be RuntimeDefault", where)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
		if n := countSources(v.VolumeSource); n != 1 {
			r.errorf("%s: volume %s has %d sources, want 1", where, v.Name, n)
		}
		if v.Secret != nil {
			if _, ok := SecretKeys[v.Secret.SecretName]; !ok {
				r.errorf("%s: volume %s mounts unknown Secret %q", where, v.Name, v.Secret.SecretName)
			}
		}
	}
	if len(spec.Containers) == 0 {
		r.errorf("%s: no containers", where)
	}
	for _, c := range spec.Containers {
		r.checkContainer(where+" container "+c.Name, c, volumes)
	}
}

func (r *render) checkContainer(where string, c corev1.Container, volumes map[string]corev1.Volume) {
	r.checkSecurityContext(where, c.SecurityContext)
	r.checkProbe(where+" livenessProbe", c.LivenessProbe, "/-/healthy", c.Ports)
	r.checkProbe(where+" readinessProbe", c.ReadinessProbe, "/-/ready", c.Ports)
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := c.Resources.Requests[res], c.Resources.Limits[res]
		if req.IsZero() || lim.IsZero() {
			r.errorf("%s: %s request and limit must both be set", where, res)
		} else if req.Cmp(lim) > 0 {
			r.errorf("%s: %s request %s above limit %s", where, res, req.String(), lim.String())
		}
	}
	if len(c.Command) != 1 || !strings.HasPrefix(c.Command[0], "/usr/local/bin/") {
		r.errorf("%s: command must name one binary of the image under /usr/local/bin, got %q", where, c.Command)
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil || e.ValueFrom.ConfigMapKeyRef == nil {
			continue
		}
		ref := e.ValueFrom.ConfigMapKeyRef
		if cm, ok := r.configMaps[ref.Name]; !ok {
			r.errorf("%s: env %s reads ConfigMap %q, not in the render", where, e.Name, ref.Name)
		} else if _, ok := cm.Data[ref.Key]; !ok {
			r.errorf("%s: env %s reads key %q missing from ConfigMap %s", where, e.Name, ref.Key, ref.Name)
		}
	}
	if len(c.EnvFrom) > 0 {
		r.errorf("%s: use explicit env entries, not envFrom (every variable must be a flag's)", where)
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		if _, ok := volumes[m.Name]; !ok {
			r.errorf("%s: volumeMount %s names no volume", where, m.Name)
		}
		if m.SubPath != "" {
			r.errorf("%s: volumeMount %s uses subPath, which never sees a rotated Secret", where, m.Name)
		}
		mounts[m.MountPath] = m
	}
	// Every file a flag names lies in a mounted volume; a Secret file is one of the Secret's keys.
	for _, a := range c.Args {
		name, val, ok := strings.Cut(a, "=")
		if !ok || !strings.HasPrefix(name, "--") || !strings.HasSuffix(name, "-file") && !strings.HasSuffix(name, ".file") {
			continue
		}
		m, ok := mounts[path.Dir(val)]
		if !ok {
			r.errorf("%s: %s points outside every volumeMount", where, name)
			continue
		}
		v := volumes[m.Name]
		switch {
		case v.Secret != nil:
			if !slices.Contains(SecretKeys[v.Secret.SecretName], path.Base(val)) {
				r.errorf("%s: %s reads key %q, not a key of Secret %s", where, name, path.Base(val), v.Secret.SecretName)
			}
		case strings.Contains(name, "state"):
			if m.ReadOnly {
				r.errorf("%s: %s lies on a read-only mount", where, name)
			}
		}
	}
}

// checkSecurityContext wants the "restricted" Pod Security Standard and the image's nonroot user.
func (r *render) checkSecurityContext(where string, sc *corev1.SecurityContext) {
	if sc == nil {
		r.errorf("%s: no securityContext", where)
		return
	}
	for _, b := range []struct {
		field string
		got   *bool
		want  bool
	}{
		{"runAsNonRoot", sc.RunAsNonRoot, true},
		{"readOnlyRootFilesystem", sc.ReadOnlyRootFilesystem, true},
		{"allowPrivilegeEscalation", sc.AllowPrivilegeEscalation, false},
	} {
		if b.got == nil || *b.got != b.want {
			r.errorf("%s: %s must be %t", where, b.field, b.want)
		}
	}
	if sc.RunAsUser == nil || *sc.RunAsUser != RunAsUser {
		r.errorf("%s: runAsUser must be %d", where, RunAsUser)
	}
	if sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		r.errorf("%s: capabilities must drop ALL and add none", where)
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		r.errorf("%s: seccompProfile must be RuntimeDefault", where)
	}
}

func (r *render) checkProbe(where string, p *corev1.Probe, wantPath string, ports []corev1.ContainerPort) {
	if p == nil || p.HTTPGet == nil {
		r.errorf("%s: want an httpGet probe of %s", where, wantPath)
		return
	}
	if p.HTTPGet.Path != wantPath {
		r.errorf("%s: path %q, want %q", where, p.HTTPGet.Path, wantPath)
	}
	if !hasPort(ports, p.HTTPGet.Port.String()) {
		r.errorf("%s: port %s is not a container port", where, p.HTTPGet.Port.String())
	}
}

func (r *render) checkExporter() {
	d := r.deployment(ExporterName)
	if d == nil {
		return
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		r.errorf("Deployment %s: replicas must be 2 (one leader remediates, the other stands by)", d.Name)
	}
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		r.errorf("Deployment %s: strategy must be RollingUpdate (the Lease hands remediation over)", d.Name)
	}
	r.requireArg(d, "--leader-elect")
	r.requireArgPrefix(d, "--remediation.state-configmap=")
	if arg(d, "--remediation.state-file=") != "" {
		r.errorf("Deployment %s: --remediation.state-file is one replica's; the replicas share --remediation.state-configmap", d.Name)
	}
	r.requirePDB(d)
}

func (r *render) checkBridge() {
	d := r.deployment(BridgeName)
	if d == nil {
		return
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		r.errorf("Deployment %s: replicas must be 2", d.Name)
	}
	r.requireArg(d, "--state.kubernetes")
	if arg(d, "--state.file=") != "" {
		r.errorf("Deployment %s: --state.file is one replica's; the replicas share --state.kubernetes", d.Name)
	}
	r.requirePDB(d)
	for _, s := range r.services {
		if s.Name == BridgeName && s.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
			r.errorf("Service %s: no ClientIP affinity: any replica may take any notification", s.Name)
		}
	}
}

func (r *render) requirePDB(d *appsv1.Deployment) {
	for _, p := range r.pdbs {
		if p.Spec.MinAvailable != nil && p.Spec.MinAvailable.IntValue() == 1 && selects(p.Spec.Selector, d.Spec.Template.Labels) {
			return
		}
	}
	r.errorf("Deployment %s: no PodDisruptionBudget with minAvailable 1 selects its pods", d.Name)
}

// arg is the value of the first argument starting with prefix ("" when none).
func arg(d *appsv1.Deployment, prefix string) string {
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, a := range c.Args {
			if v, ok := strings.CutPrefix(a, prefix); ok {
				return v
			}
		}
	}
	return ""
}

// requireArg wants the boolean flag name set (alone, or =true).
func (r *render) requireArg(d *appsv1.Deployment, name string) {
	for _, c := range d.Spec.Template.Spec.Containers {
		if slices.Contains(c.Args, name) || slices.Contains(c.Args, name+"=true") {
			return
		}
	}
	r.errorf("Deployment %s: no %s argument", d.Name, name)
}

func (r *render) requireArgPrefix(d *appsv1.Deployment, prefix string) {
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, a := range c.Args {
			if strings.HasPrefix(a, prefix) {
				return
			}
		}
	}
	r.errorf("Deployment %s: no %s argument", d.Name, prefix)
}

// checkServices: each Service selects exactly one Deployment's pods and targets a named port.
func (r *render) checkServices() {
	for _, s := range r.services {
		var matched []*appsv1.Deployment
		for _, d := range r.deployments {
			if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
				matched = append(matched, d)
			}
		}
		if len(matched) != 1 {
			r.errorf("Service %s: selects %d Deployments, want 1", s.Name, len(matched))
			continue
		}
		for _, p := range s.Spec.Ports {
			if !hasPort(matched[0].Spec.Template.Spec.Containers[0].Ports, p.TargetPort.String()) {
				r.errorf("Service %s: targetPort %s is not a port of Deployment %s", s.Name, p.TargetPort.String(), matched[0].Name)
			}
		}
	}
}

// checkNetworkPolicies: every Deployment is isolated in both directions.
func (r *render) checkNetworkPolicies() {
	for _, d := range r.deployments {
		var in, out bool
		for _, np := range r.netpols {
			if !selects(&np.Spec.PodSelector, d.Spec.Template.Labels) {
				continue
			}
			for _, t := range np.Spec.PolicyTypes {
				in = in || t == networkingv1.PolicyTypeIngress
				out = out || t == networkingv1.PolicyTypeEgress
			}
		}
		if !in || !out {
			r.errorf("Deployment %s: NetworkPolicies must restrict both ingress (%t) and egress (%t)", d.Name, in, out)
		}
	}
}

// checkMonitoring applies to overlays with the prometheus-operator component (any ServiceMonitor).
func (r *render) checkMonitoring() {
	if len(r.monitors) == 0 && len(r.amConfigs) == 0 && len(r.rules) == 0 {
		return
	}
	r.jobs = map[string]bool{}
	for _, want := range []string{ExporterName, BridgeName} {
		var sm *monitoringv1.ServiceMonitor
		for _, m := range r.monitors {
			if m.Name == want {
				sm = m
			}
		}
		if sm == nil {
			r.errorf("ServiceMonitor %s: missing", want)
			continue
		}
		svc := r.selectedService(&sm.Spec.Selector)
		if svc == nil {
			r.errorf("ServiceMonitor %s: selects no Service", sm.Name)
			continue
		}
		job := svc.Name // the operator's default job label
		if sm.Spec.JobLabel != "" {
			if job = svc.Labels[sm.Spec.JobLabel]; job == "" {
				r.errorf("ServiceMonitor %s: jobLabel %s is not a label of Service %s", sm.Name, sm.Spec.JobLabel, svc.Name)
			}
		}
		r.jobs[job] = true
		for _, ep := range sm.Spec.Endpoints {
			if !serviceHasPort(svc, ep.Port) {
				r.errorf("ServiceMonitor %s: port %q is not a port of Service %s", sm.Name, ep.Port, svc.Name)
			}
			// The app series carry their own namespace label, which must not be overwritten.
			if want == ExporterName && !ep.HonorLabels {
				r.errorf("ServiceMonitor %s: honorLabels must be true", sm.Name)
			}
		}
	}
	if len(r.rules) == 0 {
		r.errorf("no PrometheusRule in the render")
	}
	r.checkRuleJobs()
	dashboards := 0
	for _, cm := range r.configMaps {
		if cm.Labels["grafana_dashboard"] == "1" {
			dashboards++
		}
	}
	if dashboards == 0 {
		r.errorf(`no ConfigMap labelled grafana_dashboard: "1"`)
	}
	if len(r.amConfigs) != 1 {
		r.errorf("want 1 AlertmanagerConfig, got %d", len(r.amConfigs))
		return
	}
	r.checkAlertmanagerConfig(r.amConfigs[0])
}

// jobMatcher finds the job equality matchers of PromQL, also inside JSON strings (dashboards).
var jobMatcher = regexp.MustCompile(`\bjob\s*=\s*\\?"([^"\\]*)`)

// checkRuleJobs: an alert or a dashboard selecting a job no ServiceMonitor produces would never
// fire or always show "No data".
func (r *render) checkRuleJobs() {
	check := func(where, text string) {
		for _, m := range jobMatcher.FindAllStringSubmatch(text, -1) {
			if !r.jobs[m[1]] {
				r.errorf("%s: selects job %q, but the ServiceMonitors produce %v", where, m[1], slices.Sorted(maps.Keys(r.jobs)))
			}
		}
	}
	for _, pr := range r.rules {
		for _, g := range pr.Spec.Groups {
			for _, rule := range g.Rules {
				check(fmt.Sprintf("PrometheusRule %s rule %s%s", pr.Name, rule.Alert, rule.Record), rule.Expr.String())
			}
		}
	}
	for _, cm := range r.configMaps {
		if cm.Labels["grafana_dashboard"] == "1" {
			for key, text := range cm.Data {
				check(fmt.Sprintf("ConfigMap %s dashboard %s", cm.Name, key), text)
			}
		}
	}
}

// checkAlertmanagerConfig: the receiver reaches the bridge's Service in this namespace with the
// bridge's Bearer token.
func (r *render) checkAlertmanagerConfig(ac *monitoringv1alpha1.AlertmanagerConfig) {
	var port int32
	for _, s := range r.services {
		if s.Name == BridgeName && len(s.Spec.Ports) > 0 {
			port = s.Spec.Ports[0].Port
		}
	}
	want := fmt.Sprintf("http://%s.%s.svc:%d/webhook", BridgeName, r.namespace, port)
	found := false
	for _, rc := range ac.Spec.Receivers {
		for _, wh := range rc.WebhookConfigs {
			found = true
			if wh.URL == nil || *wh.URL != want {
				r.errorf("AlertmanagerConfig %s: webhook URL %v, want %s", ac.Name, deref(wh.URL), want)
			} else if _, err := url.Parse(*wh.URL); err != nil {
				r.errorf("AlertmanagerConfig %s: webhook URL: %v", ac.Name, err)
			}
			var auth *monitoringv1.SafeAuthorization
			if wh.HTTPConfig != nil {
				auth = wh.HTTPConfig.Authorization
			}
			if auth == nil || auth.Credentials == nil || !strings.EqualFold(auth.Type, "Bearer") ||
				auth.Credentials.Name != "argocd-monitor-bridge-webhook-token" || auth.Credentials.Key != "token" {
				r.errorf("AlertmanagerConfig %s: webhook must authenticate with Bearer token argocd-monitor-bridge-webhook-token/token", ac.Name)
			}
		}
	}
	if !found {
		r.errorf("AlertmanagerConfig %s: no webhook receiver", ac.Name)
	}
	if ac.Spec.Route == nil || ac.Spec.Route.Receiver == "" {
		r.errorf("AlertmanagerConfig %s: no route", ac.Name)
	}
	r.checkGrouping(ac)
}

func (r *render) selectedService(sel *metav1.LabelSelector) *corev1.Service {
	for _, s := range r.services {
		if selects(sel, s.Labels) {
			return s
		}
	}
	return nil
}

func selects(sel *metav1.LabelSelector, set map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && !s.Empty() && s.Matches(labels.Set(set))
}

func hasPort(ports []corev1.ContainerPort, nameOrNumber string) bool {
	for _, p := range ports {
		if p.Name == nameOrNumber || fmt.Sprint(p.ContainerPort) == nameOrNumber {
			return true
		}
	}
	return false
}

func serviceHasPort(s *corev1.Service, name string) bool {
	for _, p := range s.Spec.Ports {
		if p.Name == name {
			return true
		}
	}
	return false
}

// countSources counts the set fields of a VolumeSource (a union: exactly one must be set).
func countSources(vs corev1.VolumeSource) int {
	n := 0
	v := reflect.ValueOf(vs)
	for i := range v.NumField() {
		if !v.Field(i).IsNil() {
			n++
		}
	}
	return n
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
