package server

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slackfake"
)

// benchBridge is a webhook-mode bridge with pacing off against a fake Slack that answers at
// once, and distinct-group payloads to send it.
func benchBridge(b *testing.B) (*Server, func(i int64) []byte) {
	fake := slackfake.New("")
	fake.KeepCountOnly()
	b.Cleanup(fake.Serve().Close) // over loopback, as in production
	cfg := testConfig(b, fake, io.Discard)
	cfg.Logger, cfg.HTTPClient = nil, nil
	cfg.MaxInFlight = 256
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := payload(b, "firing.json")
	return s, func(i int64) []byte {
		// A distinct groupKey and fingerprint per request: no dedupe shortcut.
		id := []byte(strconv.FormatInt(i, 10))
		out := bytes.Replace(tmpl, []byte(`name=\"payments\"}`), append(append([]byte(`name=\"payments-`), id...), []byte(`\"}`)...), 1)
		return bytes.Replace(out, []byte(`c0ffee1234567890`), append([]byte("fp"), id...), 1)
	}
}

// BenchmarkWebhookThroughput: concurrent Alertmanager clients over loopback HTTP, distinct
// groups, pacing off, instant fake Slack. webhooks/s is the sustained rate.
func BenchmarkWebhookThroughput(b *testing.B) {
	s, body := benchBridge(b)
	srv := httptest.NewServer(s.mux)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var seq, failed atomic.Int64
	b.SetParallelism(4) // 4 x GOMAXPROCS clients: a bounded load
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhook", bytes.NewReader(body(seq.Add(1))))
			req.Header.Set("Authorization", "Bearer am-token")
			resp, err := client.Do(req)
			if err != nil {
				failed.Add(1)
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failed.Add(1)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d webhooks not answered 200", n, b.N)
	}
}

// BenchmarkHandlerLatency: one webhook at a time through the handler (Slack round trip on
// loopback included); reports p50 and p99 of the handler's own time.
func BenchmarkHandlerLatency(b *testing.B) {
	s, body := benchBridge(b)
	h := s.mux
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	var i int64
	for b.Loop() {
		i++
		req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body(i)))
		req.Header.Set("Authorization", "Bearer am-token")
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		lat = append(lat, time.Since(start))
		if rec.Code != http.StatusOK {
			b.Fatalf("answer %d: %s", rec.Code, rec.Body)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
