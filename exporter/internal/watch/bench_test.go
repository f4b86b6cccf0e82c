package watch

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/collector"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/exposition"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/measure"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/poller"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/remediate"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

const benchToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtb25pdG9yIn0.c2lnbmF0dXJl"

// traffic is what the simulator sends the exporter: a projected List, the
// stream's initial ADDED burst and a run of change events, all as bytes.
type traffic struct {
	list    []byte
	resync  []byte // a List of ResyncFields after the changes
	burst   []byte
	changes []byte // SSE, nChanges events
}

const nChanges = 600

// capture records the simulator's answers for n apps once per process.
var capture = sync.OnceValues(func() (*traffic, error) {
	const n = 10000
	sim, err := argocdsim.New(argocdsim.Config{Token: benchToken, Apps: n, NoScenario: true})
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	get := func(path string, fields []string, sse bool) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path+"?fields="+url.QueryEscape(strings.Join(fields, ",")), nil)
		req.Header.Set("Authorization", "Bearer "+benchToken)
		if sse {
			req.Header.Set("Accept", "text/event-stream")
		}
		return http.DefaultClient.Do(req)
	}
	t := &traffic{}
	resp, err := get("/api/v1/applications", argocd.ProjectedFields, false)
	if err != nil {
		return nil, err
	}
	t.list, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp, err = get("/api/v1/stream/applications", argocd.StreamFields, true)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 1<<20)
	readEvents := func(k int) ([]byte, error) {
		var out bytes.Buffer
		for k > 0 {
			line, err := br.ReadBytes('\n')
			if err != nil {
				return nil, err
			}
			out.Write(line)
			if bytes.HasPrefix(line, []byte("data:")) {
				k--
			}
		}
		line, err := br.ReadBytes('\n') // the blank line ending the last event
		out.Write(line)
		return out.Bytes(), err
	}
	if t.burst, err = readEvents(n); err != nil {
		return nil, err
	}
	// Each change turns a different healthy app unhealthy: an event equal
	// to the app's previous one would be dropped by the server.
	rng := rand.New(rand.NewPCG(1, 2))
	apps := rng.Perm(n)[:nChanges]
	go func() {
		for i, a := range apps {
			h := []argocd.HealthStatus{argocd.HealthDegraded, argocd.HealthProgressing}[i%2]
			_ = sim.SetState(fmt.Sprintf("app-%05d", 1+a), argocdsim.ControlState{Health: &h})
		}
	}()
	if t.changes, err = readEvents(nChanges); err != nil {
		return nil, err
	}
	// The resync's List sees the apps as the changes left them.
	rs, err := get("/api/v1/applications", argocd.ResyncFields, false)
	if err != nil {
		return nil, err
	}
	defer rs.Body.Close()
	if t.resync, err = io.ReadAll(rs.Body); err != nil {
		return nil, err
	}
	for _, b := range []*[]byte{&t.list, &t.resync, &t.burst, &t.changes} {
		if *b, err = offHeap(*b); err != nil {
			return nil, err
		}
	}
	return t, nil
})

// offHeap copies b to memory the Go heap does not hold: the captured
// traffic is the simulator's, and on the heap it would raise the GC's goal
// (by twice its size) and so the exporter's measured peak.
func offHeap(b []byte) ([]byte, error) {
	m, err := syscall.Mmap(-1, 0, max(len(b), 1), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, err
	}
	return m[:copy(m, b)], nil
}

// BenchmarkHourAt10k replays one hour of the exporter's side of the traffic
// at 10,000 apps and 100 app changes a minute, captured from the simulator:
// polling every 30 s is 120 projected Lists; watching is 6 resyncs (5 Lists
// of ResyncFields, 1 projected List) and 6,000 events, each applied as it
// comes, plus keepalives. Each List and publish goes through the poller and
// a remediation engine as in the binary, and every 30 s a scrape writes the
// app families as /metrics does. Reported per hour: bytes read from Argo
// CD, exporter CPU outside scrapes ("cpu-s/hour", the simulator is not
// running meanwhile), CPU of the scrapes, and the peak heap with scrapes.
// The one-off start (a List and the stream's ADDED burst) is in
// "start-MiB".
func BenchmarkHourAt10k(b *testing.B) {
	tr, err := capture()
	if err != nil {
		b.Fatal(err)
	}
	keepalives := int(time.Hour / (15 * time.Second))
	for _, mode := range []string{"poll", "watch"} {
		b.Run(mode, func(b *testing.B) {
			var bytesRead int
			var cpu, scrapeCPU time.Duration
			var peak uint64
			for range b.N {
				engine, err := remediate.New(remediationConfig(2*time.Minute), nopSyncer{}, remediate.Options{})
				if err != nil {
					b.Fatal(err)
				}
				p := poller.New(poller.Config{Client: listClient{tr.list, tr.resync}, Observer: engine})
				apps, out := collector.New(p, collector.Config{}), exposition.NewWriter(io.Discard, true)
				scrape := func() { // the app families as /metrics writes them
					cpu0 := measure.CPU()
					for _, tf := range apps.TextFamilies() {
						if err := tf.Write(out); err != nil {
							b.Fatal(err)
						}
					}
					_ = out.Flush()
					scrapeCPU += measure.CPU() - cpu0
				}
				list := func() {
					if err := p.Poll(context.Background()); err != nil {
						b.Fatal(err)
					}
					bytesRead += len(tr.list)
				}
				list() // seed, not counted below
				bytesRead = 0
				runtime.GC()
				heap := measure.StartPeakHeap()
				cpu0 := measure.CPU()
				if mode == "poll" {
					for range 120 {
						list()
						scrape() // every 30 s
					}
				} else {
					w := New(Config{Poller: p})
					var rd *argocd.StreamReader
					for i := range 60 {
						switch {
						case i == 0:
							list() // the hourly full resync
						case i%10 == 0:
							if err := p.Resync(context.Background()); err != nil {
								b.Fatal(err)
							}
							bytesRead += len(tr.resync)
						}
						if i%(nChanges/100) == 0 {
							rd = argocd.NewStreamReader(bytes.NewReader(tr.changes), true)
						}
						// A minute: 100 events as they come, 2 scrapes, 4 keepalives.
						for e := range 100 {
							ev, err := rd.Next()
							if err != nil {
								b.Fatal(err)
							}
							w.apply(context.Background(), []argocd.WatchEvent{ev})
							if e%50 == 0 {
								scrape()                                      // every 30 s
								p.Reobserve(context.Background(), time.Now()) // the engine's review every 30 s
							}
							if e%25 == 0 {
								w.apply(context.Background(), []argocd.WatchEvent{{Type: argocd.EventKeepalive}})
							}
						}
						bytesRead += len(tr.changes) * 100 / nChanges
					}
					bytesRead += keepalives * len(":\n")
				}
				cpu += measure.CPU() - cpu0
				peak = max(peak, heap.Stop())
				engine.Close()
			}
			b.ReportMetric(float64(bytesRead)/(1<<20), "MiB-read/hour")
			b.ReportMetric((cpu-scrapeCPU).Seconds()/float64(b.N), "cpu-s/hour") // reading Argo CD; scrapes apart
			b.ReportMetric(scrapeCPU.Seconds()/float64(b.N), "scrape-cpu-s/hour")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB") // the captured traffic is off the heap
			b.ReportMetric(float64(len(tr.list)+len(tr.burst))/(1<<20), "start-MiB")
		})
	}
}

// listClient answers every List with the captured body for its fields.
type listClient struct{ list, resync []byte }

func (c listClient) List(_ context.Context, opts argocd.ListOptions) ([]argocd.App, error) {
	if slices.Equal(opts.Fields, argocd.ResyncFields) {
		return argocd.DecodeList(bytes.NewReader(c.resync))
	}
	return argocd.DecodeList(bytes.NewReader(c.list))
}

func (c listClient) Get(context.Context, string, string, string) (argocd.App, error) {
	return argocd.App{}, fmt.Errorf("no Get in this benchmark")
}

// remediationConfig is the engine with the exporter's flag defaults but grace.
func remediationConfig(grace time.Duration) remediate.Config {
	return remediate.Config{Mode: remediate.ModeOn, Grace: grace, Backoff: time.Minute, MaxBackoff: 10 * time.Minute,
		MaxAttempts: 3, ResetOnNewRevision: true, MaxConcurrent: 5, RateLimit: 1, RateBurst: 5}
}

type nopSyncer struct{}

func (nopSyncer) Sync(context.Context, argocd.SyncRequest) error { return nil }

// seen records when each change the benchmark makes reaches the snapshot's
// observer (what /metrics and the remediation engine see).
type seen struct {
	mu      sync.Mutex
	pending map[string]time.Time // app -> when it was changed
	want    map[string]argocd.HealthStatus
	lat     []time.Duration
}

func (s *seen) changed(name string, h argocd.HealthStatus) {
	s.mu.Lock()
	s.pending[name], s.want[name] = time.Now(), h
	s.mu.Unlock()
}

func (s *seen) check(apps []argocd.App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range apps {
		if at, ok := s.pending[apps[i].Name]; ok && apps[i].Health == s.want[apps[i].Name] {
			s.lat = append(s.lat, time.Since(at))
			delete(s.pending, apps[i].Name)
		}
	}
}

func (s *seen) Observe(_ context.Context, apps []argocd.App, _ time.Time) { s.check(apps) }

func (s *seen) ObserveChanges(_ context.Context, changed, _ []argocd.App, _ time.Time) {
	s.check(changed)
}

// BenchmarkChangeToMetric measures, in real time against the simulator with
// 10,000 apps over loopback HTTP, how long 100 app changes (one every
// 300 ms) take to reach the snapshot: watching, and polling every 30 s;
// watch-100k is the same watch against 100,000 apps. watch-100k-100-per-s
// drives 2,000 changes at 100 a second against 100,000 apps while
// /metrics is scraped (gzip'd OpenMetrics, current mode) every 5 s: a
// change counts as seen when the poller has it, which is when the next
// scrape shows it (issue 26: p99 under 500 ms).
func BenchmarkChangeToMetric(b *testing.B) {
	for _, tc := range []struct {
		name        string
		mode        string
		n, changes  int
		every       time.Duration
		scrapeEvery time.Duration
	}{
		{"watch", "watch", 10000, 100, 300 * time.Millisecond, 0},
		{"poll", "poll", 10000, 100, 300 * time.Millisecond, 0},
		{"watch-100k", "watch", 100000, 100, 300 * time.Millisecond, 0},
		{"watch-100k-100-per-s", "watch", 100000, 2000, 10 * time.Millisecond, 5 * time.Second},
	} {
		mode, n := tc.mode, tc.n
		b.Run(tc.name, func(b *testing.B) {
			var all []time.Duration
			for range b.N {
				sim, err := argocdsim.New(argocdsim.Config{Token: benchToken, Apps: n, NoScenario: true})
				if err != nil {
					b.Fatal(err)
				}
				srv := httptest.NewServer(sim.Handler())
				cl, err := argocd.NewClient(argocd.Config{APIURL: srv.URL, Token: secret.Static(benchToken), Timeout: time.Minute}, nil)
				if err != nil {
					b.Fatal(err)
				}
				obs := &seen{pending: map[string]time.Time{}, want: map[string]argocd.HealthStatus{}}
				p := poller.New(poller.Config{Client: cl, Projected: true, Interval: 30 * time.Second, Observer: obs})
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				var w *Watcher
				if mode == "watch" {
					w = New(Config{Client: cl, Poller: p, Projected: true})
					go func() { w.Run(ctx); close(done) }()
				} else {
					go func() { p.Run(ctx); close(done) }()
				}
				for len(p.Apps()) < n { // seeded
					time.Sleep(10 * time.Millisecond)
				}
				// The stream's initial ADDED burst is start-up, not change latency.
				for w != nil && testutil.ToFloat64(w.events.WithLabelValues("added")) < float64(n) {
					time.Sleep(10 * time.Millisecond)
				}
				var scrapes []time.Duration
				scraped := make(chan struct{})
				if tc.scrapeEvery > 0 {
					h := exposition.Handler(prometheus.NewRegistry(),
						collector.New(p, collector.Config{StateSets: collector.StateSetsCurrent}), exposition.Opts{})
					go func() {
						defer close(scraped)
						t := time.NewTicker(tc.scrapeEvery)
						defer t.Stop()
						for {
							select {
							case <-ctx.Done():
								return
							case <-t.C:
							}
							req := httptest.NewRequest("GET", "/metrics", nil)
							req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
							req.Header.Set("Accept-Encoding", "gzip")
							start := time.Now()
							h.ServeHTTP(httptest.NewRecorder(), req)
							scrapes = append(scrapes, time.Since(start))
						}
					}()
				} else {
					close(scraped)
				}
				rng := rand.New(rand.NewPCG(3, 4))
				next := time.Now()
				for i, a := range rng.Perm(n)[:tc.changes] {
					name := fmt.Sprintf("app-%05d", 1+a)
					h := []argocd.HealthStatus{argocd.HealthDegraded, argocd.HealthProgressing}[i%2]
					obs.changed(name, h)
					if err := sim.SetState(name, argocdsim.ControlState{Health: &h}); err != nil {
						b.Fatal(err)
					}
					next = next.Add(tc.every) // a steady rate, whatever SetState took
					time.Sleep(time.Until(next))
				}
				for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
					obs.mu.Lock()
					left := len(obs.pending)
					obs.mu.Unlock()
					if left == 0 {
						break
					}
				}
				cancel()
				<-done
				<-scraped
				srv.Close()
				if len(scrapes) > 0 {
					b.ReportMetric(float64(len(scrapes)), "scrapes")
					b.ReportMetric(slices.Max(scrapes).Seconds(), "max-scrape-s")
				}
				obs.mu.Lock()
				if len(obs.pending) > 0 {
					b.Fatalf("%d changes never seen", len(obs.pending))
				}
				all = append(all, obs.lat...)
				obs.mu.Unlock()
			}
			slices.Sort(all)
			b.ReportMetric(all[len(all)/2].Seconds(), "p50-s")
			b.ReportMetric(all[len(all)*99/100].Seconds(), "p99-s")
		})
	}
}

// BenchmarkResyncBytes counts what reaches the exporter on the wire (the
// response bodies as sent) for a whole List, the projected List the
// exporter seeds and fully resyncs with, and a resync when nothing
// changed (the op), against the simulator's filler apps (about 10 KB each
// whole); with gzip, as argocd-server answers by default (the client asks
// for it), and without.
func BenchmarkResyncBytes(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		for _, gz := range []bool{false, true} {
			if gz && n > 10000 {
				continue // the simulator gzips a 1 GiB whole List slower than the client waits
			}
			b.Run(fmt.Sprintf("apps=%d/gzip=%v", n, gz), func(b *testing.B) {
				sim, err := argocdsim.New(argocdsim.Config{Token: benchToken, Apps: n, NoScenario: true, Gzip: gz})
				if err != nil {
					b.Fatal(err)
				}
				var wire atomic.Int64
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					sim.Handler().ServeHTTP(&countingWriter{ResponseWriter: w, n: &wire}, r)
				}))
				defer srv.Close()
				cl, err := argocd.NewClient(argocd.Config{APIURL: srv.URL, Token: secret.Static(benchToken), Timeout: time.Minute}, nil)
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				wire.Store(0)
				if _, err := cl.List(ctx, argocd.ListOptions{}); err != nil {
					b.Fatal(err)
				}
				whole := wire.Swap(0)
				p := poller.New(poller.Config{Client: cl, Projected: true})
				if err := p.Poll(ctx); err != nil {
					b.Fatal(err)
				}
				projected := wire.Swap(0)
				var resync int64
				for b.Loop() {
					if err := p.Resync(ctx); err != nil {
						b.Fatal(err)
					}
					resync = wire.Swap(0)
				}
				b.ReportMetric(float64(whole)/(1<<20), "whole-list-MiB")
				b.ReportMetric(float64(projected)/(1<<20), "list-MiB")
				b.ReportMetric(float64(resync)/(1<<20), "resync-MiB")
				b.ReportMetric(100*float64(resync)/float64(projected), "resync-%-of-list")
				b.ReportMetric(100*float64(resync)/float64(whole), "resync-%-of-whole-list")
			})
		}
	}
}

// countingWriter counts the body bytes a handler sends.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return c.ResponseWriter.Write(p)
}

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
