package metricstest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// recorder keeps the errors Labels reports instead of failing the test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestLabelsRefusesUnboundedLabels(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "argocd_monitor_app_info", Help: "h"}, []string{"name", "revision"})
	g.WithLabelValues("a", "0123abc").Set(1)
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "argocd_monitor_errors_total", Help: "h"}, []string{"message"})
	c.WithLabelValues("boom").Inc()
	ok := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "argocd_monitor_build_info", Help: "h"}, []string{"revision", "version"})
	ok.WithLabelValues("abc", "1.0").Set(1)
	reg.MustRegister(g, c, ok)
	r := &recorder{TB: t}
	got := Labels(r, reg)
	all := strings.Join(r.errs, "\n")
	if len(r.errs) != 2 || !strings.Contains(all, `argocd_monitor_errors_total has label "message"`) || !strings.Contains(all, `argocd_monitor_app_info has label "revision", allowed only on`) {
		t.Errorf("errors:\n%s\nwant message refused, revision refused on app_info", all)
	}
	if strings.Join(got["argocd_monitor_build_info"], ",") != "revision,version" {
		t.Errorf("listing %v", got)
	}
}
