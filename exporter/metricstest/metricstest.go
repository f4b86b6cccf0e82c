// Package metricstest holds the metric-contract checks both binaries' tests run (the bridge
// imports it): the names of the metric families a binary exposes, compared with a golden list
// that the dashboards and alert rules are checked against, and their label names, checked
// against an allow-list of labels with bounded values.
package metricstest

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Families gathers g and compares its family names with the golden file; every family must have
// a series. With update the golden file is rewritten first (go test -update, then review). It
// returns the names, sorted.
func Families(t *testing.T, g prometheus.Gatherer, golden string, update bool) []string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
		return nil
	}
	var names []string
	for _, mf := range mfs {
		if len(mf.GetMetric()) == 0 {
			t.Errorf("family %s has no series", mf.GetName())
		}
		names = append(names, mf.GetName())
	}
	slices.Sort(names)
	got := strings.Join(names, "\n") + "\n"
	if update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run the test with -update)", err)
		return nil
	}
	if got != string(want) {
		t.Errorf("metric families changed (a public contract: review, run with -update, and tell the dashboards and the changelog):\n got:\n%s\nwant:\n%s", got, want)
	}
	return names
}

// allowedLabels are the label names a family may carry, each with bounded values; a name with
// families set is allowed only on those (or, ending in "_", on families with that suffix).
// Unbounded values (a revision of an app, an error message, a URL with a path, a fingerprint)
// never make a label: each new value is a new series in every Prometheus that scrapes us.
var allowedLabels = map[string][]string{
	// An app's identity and facts: one value per app (bounded by the fleet), stable.
	"namespace": nil, "name": nil, "project": nil, "repo": nil, "dest_server": nil, "dest_namespace": nil, "auto_sync": nil,
	// The app's parent (an Application or ApplicationSet of the same fleet): bounded by the fleet.
	"parent": {"argocd_monitor_app_info"}, "parent_kind": {"argocd_monitor_app_info"},
	// State sets and outcomes: fixed value sets.
	"health_status": nil, "sync_status": nil, "phase": nil, "condition": nil, "result": nil, "endpoint": nil, "code": nil,
	"type": nil, "cause": nil, "action": nil, "via": nil, "status": nil,
	// The bridge: Slack API methods it calls, route names from its configuration file.
	"method": nil, "route": nil,
	// A build's facts: one value per binary.
	"version": {"_build_info", "go_info"}, "revision": {"_build_info"}, "branch": {"_build_info"},
	"goversion": {"_build_info"}, "goos": {"_build_info"}, "goarch": {"_build_info"}, "tags": {"_build_info"},
}

// Labels gathers g and fails on a label name outside the allow-list above (or on a family it
// is not allowed on). It returns every family's label names, for the test's log.
func Labels(t testing.TB, g prometheus.Gatherer) map[string][]string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
		return nil
	}
	out := map[string][]string{}
	for _, mf := range mfs {
		fam := mf.GetName()
		seen := map[string]bool{}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				seen[l.GetName()] = true
			}
		}
		for name := range seen {
			out[fam] = append(out[fam], name)
			only, ok := allowedLabels[name]
			switch {
			case !ok:
				t.Errorf("%s has label %q, which is not in metricstest's allow-list: is it bounded? (no revisions, messages, URLs)", fam, name)
			case only != nil && !slices.ContainsFunc(only, func(suffix string) bool { return fam == suffix || strings.HasSuffix(fam, suffix) }):
				t.Errorf("%s has label %q, allowed only on %v", fam, name, only)
			}
		}
		slices.Sort(out[fam])
	}
	return out
}
