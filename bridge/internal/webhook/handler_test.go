package webhook

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

type notifierFunc func(ctx context.Context, m *notification.Message) error

func (f notifierFunc) Notify(ctx context.Context, m *notification.Message) error { return f(ctx, m) }

type permanentErr struct{}

func (permanentErr) Error() string   { return "slack client_error: invalid_blocks" }
func (permanentErr) Permanent() bool { return true }

func newCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "webhooks_total", Help: "h"}, []string{"code"})
}

func TestHandler(t *testing.T) {
	body, err := os.ReadFile("testdata/firing.json")
	if err != nil {
		t.Fatal(err)
	}
	const token = "s3cret-token"
	tests := []struct {
		name     string
		method   string
		auth     string
		body     string
		notify   error
		wantCode int
		wantBody string
		notified bool
	}{
		{name: "delivered", method: "POST", auth: "Bearer " + token, body: string(body), wantCode: 200, notified: true},
		// The one Bearer rule (exporter/bearer; issue 20, defect 8).
		{name: "bearer is case-insensitive", method: "POST", auth: "bearer " + token, body: string(body), wantCode: 200, notified: true},
		{name: "BEARER", method: "POST", auth: "BEARER " + token, body: string(body), wantCode: 200, notified: true},
		{name: "two spaces", method: "POST", auth: "Bearer  " + token, body: string(body), wantCode: 200, notified: true},
		{name: "no token68", method: "POST", auth: "Bearer " + token + " x", body: string(body), wantCode: 401},
		{name: "GET not allowed", method: "GET", auth: "Bearer " + token, wantCode: 405},
		{name: "no token", method: "POST", body: string(body), wantCode: 401},
		{name: "wrong token", method: "POST", auth: "Bearer nope", body: string(body), wantCode: 401},
		{name: "basic instead of bearer", method: "POST", auth: "Basic " + token, body: string(body), wantCode: 401},
		{name: "too large", method: "POST", auth: "Bearer " + token, body: `{"alerts":[` + strings.Repeat(" ", MaxBodyBytes) + `]}`, wantCode: 413},
		{name: "malformed", method: "POST", auth: "Bearer " + token, body: `{"alerts":`, wantCode: 400, wantBody: "truncated JSON"},
		{name: "no alerts", method: "POST", auth: "Bearer " + token, body: `{"alerts":[]}`, wantCode: 400, wantBody: "no alerts"},
		{name: "permanent slack error", method: "POST", auth: "Bearer " + token, body: string(body), notify: permanentErr{}, wantCode: 422, wantBody: "invalid_blocks", notified: true},
		{name: "transient slack error", method: "POST", auth: "Bearer " + token, body: string(body), notify: errors.New("slack server_error: 500"), wantCode: 503, notified: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			counter := newCounter()
			h := NewHandler(notifierFunc(func(_ context.Context, m *notification.Message) error {
				called = true
				return tc.notify
			}), secret.Static(token), 4, counter, slog.New(slog.DiscardHandler))
			srv := httptest.NewServer(h)
			defer srv.Close()
			req, _ := http.NewRequest(tc.method, srv.URL, strings.NewReader(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantCode || !strings.Contains(string(got), tc.wantBody) {
				t.Errorf("answer %d %q, want %d containing %q", resp.StatusCode, got, tc.wantCode, tc.wantBody)
			}
			if called != tc.notified {
				t.Errorf("notified = %v, want %v", called, tc.notified)
			}
			if v := testutil.ToFloat64(counter.WithLabelValues(strconv.Itoa(tc.wantCode))); v != 1 {
				t.Errorf("webhooks_total{code=%d} = %v", tc.wantCode, v)
			}
			if strings.Contains(string(got), token) {
				t.Error("answer leaks the token")
			}
		})
	}
}

// TestFloodGetsFast503: with every slot busy, one more webhook is refused at once, without its
// body being read or a delivery started.
func TestFloodGetsFast503(t *testing.T) {
	const slots = 3
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(slots)
	h := NewHandler(notifierFunc(func(ctx context.Context, _ *notification.Message) error {
		started.Done()
		<-release
		return nil
	}), nil, slots, newCounter(), slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(h)
	defer srv.Close()
	body := `{"alerts":[{"status":"firing"}]}`
	codes := make(chan int, slots)
	for range slots {
		go func() {
			resp, err := srv.Client().Post(srv.URL, "application/json", strings.NewReader(body))
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	started.Wait()
	resp, err := srv.Client().Post(srv.URL, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("flood answer %d, want 503", resp.StatusCode)
	}
	close(release)
	for range slots {
		if c := <-codes; c != 200 {
			t.Errorf("in-flight delivery answered %d", c)
		}
	}
}
