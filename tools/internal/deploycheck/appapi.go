package deploycheck

import (
	"fmt"
	"slices"
	"strings"

	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// APIPort is the exporter's listener, which serves the read API (/api/v1/apps/...) beside /metrics.
const APIPort = 9797

// checkAppAPI: the exporter's read API is on (a token file), the bridge asks it through the
// exporter's Service with a token file, and NetworkPolicies let the bridge, and no other pod of
// this namespace or any namespace without a pod selector, reach the exporter's port.
func (r *render) checkAppAPI() {
	exp, br := r.deployment(ExporterName), r.deployment(BridgeName)
	if exp == nil || br == nil {
		return
	}
	r.requireArgPrefix(exp, "--api.token-file=")
	r.requireArgPrefix(br, "--enrich.token-file=")
	want := fmt.Sprintf("--enrich.exporter-url=http://%s:%d", ExporterName, APIPort)
	if !hasArg(br, want) {
		r.errorf("Deployment %s: no %s argument (the exporter's Service and port)", br.Name, want)
	}
	bridgeIn := false
	for _, np := range r.netpols {
		if !selects(&np.Spec.PodSelector, exp.Spec.Template.Labels) {
			continue
		}
		for _, rule := range np.Spec.Ingress {
			if !allowsPort(rule.Ports, APIPort) {
				continue
			}
			if len(rule.From) == 0 {
				r.errorf("NetworkPolicy %s: ingress to the exporter's port %d from anywhere; only the bridge (and Prometheus) may", np.Name, APIPort)
			}
			for _, peer := range rule.From {
				if peer.NamespaceSelector == nil && peer.PodSelector != nil && selects(peer.PodSelector, br.Spec.Template.Labels) {
					bridgeIn = true
				}
				if peer.PodSelector == nil || len(peer.PodSelector.MatchLabels)+len(peer.PodSelector.MatchExpressions) == 0 {
					r.errorf("NetworkPolicy %s: ingress to the exporter's port %d from whole namespaces; name the pods", np.Name, APIPort)
				}
			}
		}
	}
	if !bridgeIn {
		r.errorf("NetworkPolicies: no ingress rule lets the bridge's pods reach the exporter on %d (the read API)", APIPort)
	}
	bridgeOut := r.egressAllows(br, APIPort, func(peer networkingv1.NetworkPolicyPeer) bool {
		return peer.NamespaceSelector == nil && peer.PodSelector != nil && selects(peer.PodSelector, exp.Spec.Template.Labels)
	})
	if !bridgeOut {
		r.errorf("NetworkPolicies: no egress rule lets the bridge reach the exporter's pods on %d (the read API)", APIPort)
	}
}

// egressAllows: a NetworkPolicy of d's pods lets them reach a peer that ok accepts on port.
func (r *render) egressAllows(d *appsv1.Deployment, port int, ok func(networkingv1.NetworkPolicyPeer) bool) bool {
	for _, np := range r.netpols {
		if !selects(&np.Spec.PodSelector, d.Spec.Template.Labels) {
			continue
		}
		for _, rule := range np.Spec.Egress {
			if !allowsPort(rule.Ports, port) {
				continue
			}
			if slices.ContainsFunc(rule.To, ok) {
				return true
			}
		}
	}
	return false
}

func hasArg(d *appsv1.Deployment, arg string) bool {
	for _, c := range d.Spec.Template.Spec.Containers {
		if slices.Contains(c.Args, arg) {
			return true
		}
	}
	return false
}

func allowsPort(ports []networkingv1.NetworkPolicyPort, port int) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		if p.Port == nil || p.Port.IntValue() == port {
			return true
		}
	}
	return false
}

// checkGrouping: one incident, one message. The route groups by app, and a paused remediation
// inhibits the same app's OutOfSync and SyncFailed.
func (r *render) checkGrouping(ac *monitoringv1alpha1.AlertmanagerConfig) {
	if ac.Spec.Route == nil {
		return
	}
	if g := ac.Spec.Route.GroupBy; !slices.Equal(g, []string{"namespace", "name"}) {
		r.errorf("AlertmanagerConfig %s: groupBy %v, want [namespace name] (one message per app)", ac.Name, g)
	}
	found := false
	for _, ir := range ac.Spec.InhibitRules {
		src, tgt := matcherText(ir.SourceMatch), matcherText(ir.TargetMatch)
		if strings.Contains(src, "ArgoCDAppRemediationPaused") && strings.Contains(tgt, "ArgoCDAppOutOfSync") &&
			strings.Contains(tgt, "ArgoCDAppSyncFailed") && slices.Equal(ir.Equal, []string{"namespace", "name"}) {
			found = true
		}
	}
	if !found {
		r.errorf("AlertmanagerConfig %s: no inhibit rule by which ArgoCDAppRemediationPaused explains the app's OutOfSync and SyncFailed", ac.Name)
	}
	// One page per cause across the fleet: each fleet alert inhibits its victims' alerts by the
	// cause's labels (docs/bridge.md#fleet).
	perApp := []string{"ArgoCDAppDegraded", "ArgoCDAppUnhealthy", "ArgoCDAppSyncFailed", "ArgoCDAppOutOfSync"}
	for _, want := range []struct {
		source  string
		victims []string
		equal   []string
	}{
		{"ArgoCDDestinationDown", append(slices.Clone(perApp), "ArgoCDClusterConnectionLost"), []string{"dest_server"}},
		{"ArgoCDParentDegraded", perApp, []string{"parent_kind", "parent"}},
	} {
		var missing []string
		for _, v := range want.victims {
			if !inhibits(ac.Spec.InhibitRules, want.source, v, want.equal) {
				missing = append(missing, v)
			}
		}
		if len(missing) > 0 {
			r.errorf("AlertmanagerConfig %s: %s inhibits no %v with equal %v", ac.Name, want.source, missing, want.equal)
		}
	}
}

// inhibits reports whether an inhibit rule whose source matches alertname source silences an
// alert named target with the equal labels.
func inhibits(rules []monitoringv1alpha1.InhibitRule, source, target string, equal []string) bool {
	for _, ir := range rules {
		if matchesAlertname(ir.SourceMatch, source) && matchesAlertname(ir.TargetMatch, target) && slices.Equal(ir.Equal, equal) {
			return true
		}
	}
	return false
}

// matchesAlertname reports whether matchers on alertname alone accept name (= or =~ with an
// alternation of plain names).
func matchesAlertname(ms []monitoringv1alpha1.Matcher, name string) bool {
	ok := false
	for _, m := range ms {
		if m.Name != "alertname" {
			return false
		}
		switch m.MatchType {
		case "", monitoringv1alpha1.MatchEqual:
			ok = m.Value == name
		case monitoringv1alpha1.MatchRegexp:
			ok = slices.Contains(strings.Split(m.Value, "|"), name)
		default:
			return false
		}
		if !ok {
			return false
		}
	}
	return ok
}

func matcherText(ms []monitoringv1alpha1.Matcher) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.Name + string(m.MatchType) + m.Value + ";")
	}
	return b.String()
}
