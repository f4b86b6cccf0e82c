package collector_test

import (
	"bufio"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/collector"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/exposition"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/poller"
)

// BenchmarkRender renders 1k and 10k apps decoded from the padded real
// fixtures as text: "registry" is the Collector through a
// prometheus.Registry, then expfmt; "gatherer" is Gather (built sorted),
// then expfmt, which the protobuf format still takes; "direct" is
// TextFamilies, what /metrics writes for the text formats.
func BenchmarkRender(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		apps, err := argocd.DecodeList(argocdsim.LargeList(n))
		if err != nil {
			b.Fatal(err)
		}
		c := collector.New(source{poller.Snapshot{Apps: apps, Up: true, LastSuccess: time.Now(), Attempted: true}})
		viaRegistry := prometheus.NewRegistry()
		viaRegistry.MustRegister(c)
		gathered := func(g prometheus.Gatherer) func() {
			return func() {
				mfs, err := g.Gather()
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
		}
		bw := bufio.NewWriterSize(io.Discard, 64<<10)
		for _, path := range []struct {
			name   string
			render func()
		}{
			{"registry", gathered(viaRegistry)},
			{"gatherer", gathered(exposition.Gatherers(prometheus.NewRegistry(), c))},
			{"direct", func() {
				for _, tf := range c.TextFamilies() {
					if err := tf.Write(bw, false); err != nil {
						b.Fatal(err)
					}
				}
				_ = bw.Flush()
			}},
		} {
			b.Run(fmt.Sprintf("%s/%d", path.name, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					path.render()
				}
			})
		}
	}
}
