package argocd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/measure"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

func TestLargeListIsRealistic(t *testing.T) {
	n, err := io.Copy(io.Discard, argocdsim.LargeList(100))
	if err != nil {
		t.Fatal(err)
	}
	if per := n / 100; per < 11<<10 || per > 13<<10 {
		t.Errorf("%d bytes an item, want about 12 KB", per)
	}
	apps, err := argocd.DecodeList(argocdsim.LargeList(100))
	if err != nil || len(apps) != 100 || apps[99].Name != "app-99" || !apps[0].Detailed {
		t.Fatalf("%d apps, %v", len(apps), err)
	}
}

// heapSampler records the peak of live heap objects above the baseline
// and the CPU time while a benchmark runs.
type heapSampler struct {
	peak     *measure.PeakHeap
	base     uint64
	cpuStart time.Duration
}

func startSampler() *heapSampler {
	runtime.GC()
	return &heapSampler{base: measure.Heap(), cpuStart: measure.CPU(), peak: measure.StartPeakHeap()}
}

func (h *heapSampler) report(b *testing.B) {
	peak := h.peak.Stop()
	cpu := measure.CPU() - h.cpuStart
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1e9, "cpu-s/op")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peak-min(peak, h.base))/(1<<20), "peak-heap-growth-MiB")
}

// benchList runs list once an op for 1k and 10k apps and reports CPU and
// peak heap beside ns/op.
func benchList(b *testing.B, list func(n int) ([]argocd.App, error)) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			size, _ := io.Copy(io.Discard, argocdsim.LargeList(n))
			b.SetBytes(size)
			b.ReportAllocs()
			h := startSampler()
			b.ResetTimer()
			for range b.N {
				apps, err := list(n)
				if err != nil || len(apps) != n {
					b.Fatal(len(apps), err)
				}
			}
			b.StopTimer()
			h.report(b)
		})
	}
}

// BenchmarkDecodeList decodes whole (unprojected) List bodies of 1k and 10k
// apps, about 12 MB and 120 MB, streamed from a generator.
func BenchmarkDecodeList(b *testing.B) {
	benchList(b, func(n int) ([]argocd.App, error) { return argocd.DecodeList(argocdsim.LargeList(n)) })
}

// BenchmarkPollList is one poll as the exporter does it: Client.List over
// HTTP against a server streaming the whole body (the server's generator is
// cheap next to the decoder, but its CPU is included).
func BenchmarkPollList(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("selector"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.Copy(w, argocdsim.LargeList(n))
	}))
	defer srv.Close()
	cl, err := argocd.NewClient(argocd.Config{APIURL: srv.URL, Token: secret.Static(testToken), Timeout: time.Minute}, nil)
	if err != nil {
		b.Fatal(err)
	}
	benchList(b, func(n int) ([]argocd.App, error) {
		// The fake reads the app count from the selector.
		return cl.List(context.Background(), argocd.ListOptions{Selector: strconv.Itoa(n)})
	})
}

// BenchmarkListVsValid decodes a whole 10,000-app List held in memory and,
// side by side, merely validates the same bytes with encoding/json.Valid:
// the floor any decoder of these bytes pays. The target is decode
// at most 2x valid.
func BenchmarkListVsValid(b *testing.B) {
	body, err := io.ReadAll(argocdsim.LargeList(10000))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("valid", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for range b.N {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for range b.N {
			apps, err := argocd.DecodeList(bytes.NewReader(body))
			if err != nil || len(apps) != 10000 {
				b.Fatal(len(apps), err)
			}
		}
	})
}
