package promcheck

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func families(t *testing.T) Families {
	t.Helper()
	p := filepath.Join(t.TempDir(), "families.txt")
	if err := os.WriteFile(p, []byte("# comment\nargocd_monitor_api_up\n\nargocd_monitor_poll_duration_seconds\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := LoadFamilies(p)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestHas(t *testing.T) {
	f := families(t)
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"argocd_monitor_api_up", true},
		{"argocd_monitor_poll_duration_seconds_bucket", true},
		{"argocd_monitor_poll_duration_seconds_sum", true},
		{"argocd_monitor_poll_duration_seconds_count", true},
		{"up", true},
		{"argocd_monitor_api_up_bucket", true}, // a gauge has no _bucket, but the name check is by family
		{"argocd_monitor_api_upx", false},
		{"argocd_monitor_poll_duration", false},
		{"# comment", false},
		{"", false},
	} {
		if got := f.Has(tc.name); got != tc.want {
			t.Errorf("Has(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestMetricNames(t *testing.T) {
	for _, tc := range []struct {
		name, expr string
		want       []string
		err        string
	}{
		{"plain", `argocd_monitor_api_up == 0`, []string{"argocd_monitor_api_up"}, ""},
		{"name matcher", `{__name__="up", job="x"}`, []string{"up"}, ""},
		{"nested and deduplicated", `histogram_quantile(0.9, sum by (le) (rate(a_bucket[5m]))) / a_count or absent(a_count)`, []string{"a_bucket", "a_count"}, ""},
		{"subquery and offset", `max_over_time(b[1h:1m] offset 5m)`, []string{"b"}, ""},
		{"no metric name", `{job="x"}`, nil, "names no metric"},
		{"syntax error", `sum(rate(x[5m])`, nil, "parse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MetricNames(tc.expr)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSubstituteGrafana(t *testing.T) {
	in := `sum(rate(m{namespace=~"$namespace", name=~"${name}", p=~"${project:regex}"}[$__rate_interval])) / $__range`
	want := `sum(rate(m{namespace=~"x", name=~"x", p=~"x"}[5m])) / 5m`
	if got := SubstituteGrafana(in); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestCheck(t *testing.T) {
	f := families(t)
	for _, tc := range []struct {
		expr string
		err  string
	}{
		{`histogram_quantile(0.99, sum by (le) (rate(argocd_monitor_poll_duration_seconds_bucket{job="$job"}[$__rate_interval])))`, ""},
		{`up{job="e"} == 0 or absent(up{job="e"})`, ""},
		{`argocd_monitor_api_up + argocd_monitor_typo`, "argocd_monitor_typo"},
		{`rate(argocd_monitor_poll_duration_seconds_bucket[$__rate_interval]`, "parse"},
	} {
		err := f.Check(tc.expr)
		if tc.err == "" && err != nil {
			t.Errorf("Check(%s): %v", tc.expr, err)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("Check(%s) = %v, want error containing %q", tc.expr, err, tc.err)
		}
	}
}

func TestLoadFamiliesMissingFile(t *testing.T) {
	if _, err := LoadFamilies(filepath.Join(t.TempDir(), "nope.txt")); err == nil {
		t.Fatal("want error for a missing file")
	}
}
