package argocdsim

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// TestGzip: with Config.Gzip, answers are gzip'd for a client that asks,
// as argocd-server does, but not the SSE stream nor a client that does
// not ask.
func TestGzip(t *testing.T) {
	f := newFixture(t, Config{Apps: 5, Gzip: true})
	get := func(path, accept, encoding string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, f.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Accept", accept)
		req.Header.Set("Accept-Encoding", encoding) // set: the transport does not decompress
		resp, err := f.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = resp.Body.Close() })
		return resp
	}
	resp := get("/api/v1/applications", "application/json", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("List: Content-Encoding %q, want gzip", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var l struct{ Items []json.RawMessage }
	if err := json.NewDecoder(zr).Decode(&l); err != nil || len(l.Items) != 11 {
		t.Fatalf("List: %d items, %v", len(l.Items), err)
	}
	if resp := get("/api/v1/applications", "application/json", "identity"); resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("List without gzip asked: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	resp = get("/api/v1/stream/applications", "text/event-stream", "gzip")
	if resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("SSE stream: Content-Encoding %q, want none", resp.Header.Get("Content-Encoding"))
	}
	b := make([]byte, 6)
	if _, err := io.ReadFull(resp.Body, b); err != nil || string(b) != "data: " {
		t.Errorf("SSE stream starts %q, %v", b, err)
	}
}
