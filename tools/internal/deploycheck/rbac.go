package deploycheck

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// roleOf is the Role bound to the ServiceAccount, nil when none.
func (r *render) roleOf(account string) *rbacv1.Role {
	for _, b := range r.bindings {
		for _, s := range b.Subjects {
			if s.Kind == rbacv1.ServiceAccountKind && s.Name == account && (s.Namespace == "" || s.Namespace == r.namespace) && b.RoleRef.Kind == "Role" {
				return r.roles[b.RoleRef.Name]
			}
		}
	}
	return nil
}

// wantRules is exactly what each process does with the Kubernetes API, derived from its flags:
// any other verb or object in its Role is an error, and so is a missing one.
func (r *render) wantRules(d *appsv1.Deployment) []rbacv1.PolicyRule {
	switch d.Name {
	case ExporterName:
		lease := arg(d, "--leader-elect-resource-name=")
		if lease == "" {
			lease = ExporterName // the flag's default
		}
		return []rbacv1.PolicyRule{
			{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}},
			{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{lease}, Verbs: []string{"get", "update"}},
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create"}},
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{arg(d, "--remediation.state-configmap=")}, Verbs: []string{"get", "update"}},
		}
	case BridgeName:
		// Group ConfigMaps are named from a hash of the group key: no rule can name them.
		return []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "create", "update", "delete"}},
		}
	}
	return nil
}

// checkRBAC: each Deployment's ServiceAccount is bound to a Role with exactly wantRules, and no
// binding grants anything to anyone else.
func (r *render) checkRBAC() {
	for _, b := range r.bindings {
		if b.RoleRef.Kind != "Role" || r.roles[b.RoleRef.Name] == nil {
			r.errorf("RoleBinding %s: binds %s %s, want a Role of this render", b.Name, b.RoleRef.Kind, b.RoleRef.Name)
		}
		for _, s := range b.Subjects {
			if s.Kind != rbacv1.ServiceAccountKind || !r.accounts[s.Name] {
				r.errorf("RoleBinding %s: subject %s %s is not a ServiceAccount of this render", b.Name, s.Kind, s.Name)
			}
		}
	}
	for _, d := range r.deployments {
		want := r.wantRules(d)
		role := r.roleOf(d.Spec.Template.Spec.ServiceAccountName)
		switch {
		case role == nil && want == nil:
			continue
		case role == nil:
			r.errorf("Deployment %s: no Role bound to ServiceAccount %s", d.Name, d.Spec.Template.Spec.ServiceAccountName)
			continue
		}
		got, exp := ruleSet(role.Rules), ruleSet(want)
		if !slices.Equal(got, exp) {
			r.errorf("Role %s: rules %v, want exactly %v", role.Name, got, exp)
		}
	}
}

// ruleSet renders rules as sorted "group/resource[names]: verb" lines, so rule order, verb order
// and how the same grants are split into rules do not matter.
func ruleSet(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, p := range rules {
		if len(p.NonResourceURLs) > 0 {
			out = append(out, fmt.Sprintf("nonResourceURLs %v", p.NonResourceURLs))
		}
		names := slices.Clone(p.ResourceNames)
		slices.Sort(names)
		for _, g := range p.APIGroups {
			for _, res := range p.Resources {
				for _, v := range p.Verbs {
					out = append(out, fmt.Sprintf("%s/%s[%s]: %s", g, res, strings.Join(names, ","), v))
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
