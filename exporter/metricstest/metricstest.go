// Package metricstest holds the metric-contract check both binaries' tests run (the bridge
// imports it): the names of the metric families a binary exposes, compared with a golden list
// that the dashboards and alert rules are checked against.
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
