package alerttests

import (
	"strings"
	"testing"
)

func TestCurrentValues(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		keep     bool
	}{
		{"1x15", "1x15", true},
		{"0x15", "", false},
		{"0 0 1 1 0 0", "_x2 1x1 stale _", true},
		{"0x4 1x5 0x3", "_x5 1x5 stale _x3", true},
		{"3x2 0+1x3", "3x2 stale 1 2 3", true},
		{"_x3 1 stale 0", "_x3 1 stale _", true},
		{"1 0 1 0", "1 stale 1 stale", true},
		{"5-1x5", "5 4 3 2 1 stale", true},
	} {
		got, keep, err := currentValues(tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if keep != tc.keep || (keep && got != tc.want) {
			t.Errorf("%q: %q, keep %v; want %q, %v", tc.in, got, keep, tc.want, tc.keep)
		}
	}
	if _, _, err := currentValues("1 x"); err == nil {
		t.Error("a bad token is not an error")
	}
}

func TestCurrentRewritesOnlyTheCurrentFamilies(t *testing.T) {
	src := `# a comment
rule_files:
  - ../argocd-monitor.rules.yaml
tests:
  - interval: 1m
    input_series:
      - series: 'argocd_monitor_app_health_status{name="a",health_status="Degraded"}'
        values: "0 1 1"
      - series: 'argocd_monitor_app_health_status{name="a",health_status="Healthy"}'
        values: "0x2"
      - series: 'argocd_monitor_app_info{name="a"}'
        values: "1x2"
      - series: 'argocd_monitor_remediation_syncs_total{name="a",result="busy"}'
        values: "0x2"
`
	got, err := Current([]byte(src), "x.test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	for _, want := range []string{"../../argocd-monitor.rules.yaml", `values: "_ 1x1"`, `values: "1x2"`, "result=\"busy\"", "alerts/tests/x.test.yaml"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in:\n%s", want, s)
		}
	}
	if strings.Contains(s, `health_status="Healthy"`) {
		t.Errorf("an all-zero state-set member is still an input:\n%s", s)
	}
}
