package collector_test

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/collector"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/exposition"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/poller"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/remediate"
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
		c := collector.New(source{poller.Snapshot{Apps: apps, Up: true, LastSuccess: time.Now(), Attempted: true}}, collector.Config{})
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
		bw := exposition.NewWriter(io.Discard, false)
		for _, path := range []struct {
			name   string
			render func()
		}{
			{"registry", gathered(viaRegistry)},
			{"gatherer", gathered(exposition.Gatherers(prometheus.NewRegistry(), c))},
			{"direct", func() {
				for _, tf := range c.TextFamilies() {
					if err := tf.Write(bw); err != nil {
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

type nopSyncer struct{}

func (nopSyncer) Sync(context.Context, argocd.SyncRequest) error { return nil }

// remediationEngine: an engine in mode on over n apps (none automated, all
// in scope), 1 in 100 OutOfSync and paused after 20 minutes of failed
// syncs, as BenchmarkCollect10k in remediate has it.
func remediationEngine(b *testing.B, n int) *remediate.Engine {
	e, err := remediate.New(remediate.Config{Mode: remediate.ModeOn, Grace: 2 * time.Minute, Backoff: time.Minute, MaxBackoff: 10 * time.Minute,
		MaxAttempts: 3, ResetOnNewRevision: true, MaxConcurrent: 5, RateBurst: 5}, nopSyncer{}, remediate.Options{})
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	apps := make([]argocd.App, n)
	for i := range apps {
		apps[i] = argocd.App{Namespace: "argocd", Name: "app-" + strconv.Itoa(i), Project: "team-" + strconv.Itoa(i%50),
			Sync: argocd.SyncSynced, Health: argocd.HealthHealthy, Revision: "0123456789abcdef",
			Operation: &argocd.OperationState{Phase: argocd.PhaseSucceeded, StartedAt: t0, FinishedAt: t0}}
		if i%100 == 0 {
			apps[i].Sync = argocd.SyncOutOfSync
		}
	}
	for i := range 20 {
		e.Observe(context.Background(), apps, t0.Add(time.Duration(i)*time.Minute))
	}
	e.Close()
	return e
}

// BenchmarkRemediation10k renders the engine's per-app families at 10k
// apps the way /metrics does: the gauges from AppMetrics through the
// collector's text path, the syncs counter through a registry.
func BenchmarkRemediation10k(b *testing.B) {
	e := remediationEngine(b, 10_000)
	reg := prometheus.NewRegistry()
	reg.MustRegister(e)
	for _, mode := range []collector.StateSets{collector.StateSetsFull, collector.StateSetsCurrent} {
		c := collector.New(source{poller.Snapshot{}}, collector.Config{StateSets: mode, Remediation: e})
		bw := exposition.NewWriter(io.Discard, false)
		b.Run(string(mode), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, tf := range c.TextFamilies() {
					if err := tf.Write(bw); err != nil {
						b.Fatal(err)
					}
				}
				mfs, err := reg.Gather()
				if err != nil {
					b.Fatal(err)
				}
				for _, mf := range mfs {
					if _, err := expfmt.MetricFamilyToText(bw, mf); err != nil {
						b.Fatal(err)
					}
				}
				_ = bw.Flush()
			}
		})
	}
}
