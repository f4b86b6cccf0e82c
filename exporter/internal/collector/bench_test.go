package collector_test

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/collector"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/poller"
)

// BenchmarkRender is a /metrics scrape of 1k and 10k apps decoded from the
// padded real fixtures: gather, then encode as text. "registry" is the
// Collector through a prometheus.Registry; "gatherer" is the path the binary
// serves (collector.Gatherers of a registry and the Collector's Gather).
func BenchmarkRender(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		apps, err := argocd.DecodeList(argocdsim.LargeList(n))
		if err != nil {
			b.Fatal(err)
		}
		c := collector.New(source{poller.Snapshot{Apps: apps, Up: true, LastSuccess: time.Now(), Attempted: true}})
		viaRegistry := prometheus.NewRegistry()
		viaRegistry.MustRegister(c)
		for _, path := range []struct {
			name string
			g    prometheus.Gatherer
		}{
			{"registry", viaRegistry},
			{"gatherer", collector.Gatherers(prometheus.NewRegistry(), c)},
		} {
			b.Run(fmt.Sprintf("%s/%d", path.name, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					mfs, err := path.g.Gather()
					if err != nil {
						b.Fatal(err)
					}
					enc := expfmt.NewEncoder(io.Discard, expfmt.NewFormat(expfmt.TypeTextPlain))
					for _, mf := range mfs {
						if err := enc.Encode(mf); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}
