package argocdsim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkList10k measures serving a full 10k-app List (about 120 MB), from cached item
// encodings after the first call: the simulator must not be the bottleneck of the exporter's
// own 10k benchmark.
func BenchmarkList10k(b *testing.B) {
	sim, err := New(Config{Token: testToken, Apps: 10000, NoScenario: true})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	b.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/applications", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	get := func() int64 {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		n, _ := io.Copy(io.Discard, resp.Body)
		return n
	}
	b.SetBytes(get()) // the first List encodes every app once
	b.ReportAllocs()
	for b.Loop() {
		get()
	}
}
