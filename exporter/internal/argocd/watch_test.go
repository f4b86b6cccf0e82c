package argocd_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

func TestWatch(t *testing.T) {
	small := `data: {"result":{"type":"MODIFIED","application":{"metadata":{"name":"a","namespace":"argocd"}}}}` + "\n\n"
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		code    string // api_requests_total{endpoint="watch"} label
		openErr func(error) bool
		events  int
		endErr  func(error) bool
	}{
		{name: "events then EOF", code: "200", events: 2, endErr: isErr(io.EOF),
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Accept") != "text/event-stream" || r.URL.Query().Get("fields") == "" || r.URL.Query().Get("selector") != "team=a" {
					http.Error(w, "bad request", http.StatusBadRequest)
					return
				}
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, ":\n"+small)
			}},
		{name: "401", code: "401", openErr: argocd.IsUnauthorized,
			handler: func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, `{"error":"invalid session: token has expired","code":16,"message":"invalid session: token has expired"}`, http.StatusUnauthorized)
			}},
		// Headers, then silence: cut after the stall timeout.
		{name: "stalled", code: "200", endErr: isErr(argocd.ErrStreamStalled),
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.WriteHeader(http.StatusOK)
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			cl, reqs := newClient(t, srv.URL, 5*time.Second)
			st, err := cl.Watch(context.Background(), argocd.WatchOptions{Selector: "team=a", Fields: argocd.StreamFields, StallTimeout: 100 * time.Millisecond})
			if got := testutil.ToFloat64(reqs.WithLabelValues("watch", tc.code)); got != 1 {
				t.Errorf("api_requests_total{endpoint=watch,code=%s} = %v", tc.code, got)
			}
			if tc.openErr != nil {
				if err == nil || !tc.openErr(err) {
					t.Fatalf("open: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			n := 0
			for {
				ev, err := st.Next()
				if err != nil {
					if !tc.endErr(err) {
						t.Errorf("end: %v", err)
					}
					break
				}
				if ev.Type == argocd.EventModified && !ev.App.Detailed {
					t.Error("an event asked with StreamFields should count as detailed")
				}
				n++
			}
			if n != tc.events {
				t.Errorf("%d events, want %d", n, tc.events)
			}
		})
	}
}

func TestWatchHeadersTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	cl, _ := newClient(t, srv.URL, 100*time.Millisecond)
	_, err := cl.Watch(context.Background(), argocd.WatchOptions{})
	if !errors.Is(err, context.DeadlineExceeded) || !argocd.IsTimeout(err) {
		t.Fatalf("err %v, want a timeout", err)
	}
}
