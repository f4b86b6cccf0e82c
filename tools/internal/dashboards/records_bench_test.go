package dashboards

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/util/teststorage"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/alertrules"
)

// BenchmarkDegradedPerProject answers "how many apps are Degraded per project" at 10,000 apps
// (60,000 health series) from the raw state set and from argocd_monitor:app_health_status:count,
// as docs/promql.md and the Overview do. The recorded series are written once by evaluating the
// recording rules.
func BenchmarkDegradedPerProject(b *testing.B) {
	ctx := context.Background()
	st := teststorage.New(b)
	at := time.Unix(3600, 0)
	app := st.Appender(ctx)
	states := []string{"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}
	for i := range 10000 {
		for j, s := range states {
			l := labels.FromStrings("__name__", "argocd_monitor_app_health_status", "job", "argocd-monitor-exporter",
				"instance", "exporter:9797", "namespace", fmt.Sprintf("team-%d", i%20), "name", fmt.Sprintf("app-%d", i),
				"project", fmt.Sprintf("project-%d", i%50), "health_status", s)
			v := 0.0
			if j == i%len(states) {
				v = 1
			}
			if _, err := app.Append(0, l, at.UnixMilli(), v); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		b.Fatal(err)
	}
	engine := promqltest.NewTestEngine(b, false, 5*time.Minute, 1_000_000)

	recordRules(b, engine, st, at, at)

	for _, bc := range []struct{ name, expr string }{
		{"raw", `sum by (project) (max by (namespace, name, project) (argocd_monitor_app_health_status{health_status="Degraded"}))`},
		{"recorded", `sum by (project) (` + alertrules.RecordHealth + `{health_status="Degraded"})`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				q, err := engine.NewInstantQuery(ctx, st, nil, bc.expr, at)
				if err != nil {
					b.Fatal(err)
				}
				res := q.Exec(ctx)
				if res.Err != nil {
					b.Fatal(res.Err)
				}
				if v, err := res.Vector(); err != nil || len(v) != 50 {
					b.Fatalf("%d projects, %v", len(v), err)
				}
				q.Close()
			}
		})
	}
}
