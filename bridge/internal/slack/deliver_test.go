package slack

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slack/slacktest"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/state"
)

// fakeClock advances only when the deliverer sleeps, so waits cost no real time.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

func (c *fakeClock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

type rig struct {
	d        *Deliverer
	fake     *slacktest.Server
	clock    *fakeClock
	store    *state.Store
	requests *prometheus.CounterVec
}

func newRig(t *testing.T, mode string, interval time.Duration) *rig {
	t.Helper()
	fake := slacktest.New()
	t.Cleanup(fake.Close)
	clock := newFakeClock()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "r", Help: "h"}, []string{"method", "result"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "d", Help: "h"}, []string{"method"})
	var tr Transport
	var store *state.Store
	if mode == "bot" {
		tr = NewBot("xoxb-test-token", fake.APIURL(), NewHTTPClient())
		store, _ = state.Open("", time.Hour, clock.Now)
	} else {
		tr = &Webhook{Client: NewHTTPClient()}
	}
	d := NewDeliverer(tr, store, NewPacer(interval), Options{Deadline: 8 * time.Second, AttemptTimeout: 100 * time.Millisecond, Clock: clock}, requests, duration)
	return &rig{d: d, fake: fake, clock: clock, store: store, requests: requests}
}

func (r *rig) note(groupKey string, resolved bool) Notification {
	msg := &render.Message{Text: "fallback", Color: render.ColorCritical, Reply: "✅ Resolved: X"}
	return Notification{GroupKey: groupKey, Resolved: resolved, Message: msg,
		Target: Target{Route: "default", Channel: "#alerts", WebhookURL: r.fake.WebhookURL()}}
}

func TestDeliverAnswers(t *testing.T) {
	tests := []struct {
		name       string
		mode       string
		script     []slacktest.Response
		wantErr    string // "" = delivered
		permanent  bool
		wantCalls  int
		wantResult string // a result counted at least once
		wantSleep  time.Duration
	}{
		{name: "webhook ok", mode: "webhook", wantCalls: 1, wantResult: ResultOK},
		{name: "webhook 429 waits Retry-After", mode: "webhook", script: []slacktest.Response{{Status: 429, RetryAfter: "3"}}, wantCalls: 2, wantResult: ResultRateLimited, wantSleep: 3 * time.Second},
		{name: "webhook 429 beyond deadline gives up", mode: "webhook", script: []slacktest.Response{{Status: 429, RetryAfter: "30"}}, wantErr: "ratelimited", wantCalls: 1},
		{name: "webhook 500 retried", mode: "webhook", script: []slacktest.Response{{Status: 500}, {Status: 502}}, wantCalls: 3, wantResult: ResultServerError},
		{name: "webhook 500 until deadline", mode: "webhook", script: repeat(slacktest.Response{Status: 500}, 20), wantErr: "server_error", wantResult: ResultServerError},
		{name: "webhook invalid_payload is permanent", mode: "webhook", script: []slacktest.Response{{Status: 400, Body: "invalid_payload"}}, wantErr: "invalid_payload", permanent: true, wantCalls: 1, wantResult: ResultClientError},
		{name: "webhook channel_is_archived is permanent", mode: "webhook", script: []slacktest.Response{{Status: 410, Body: "channel_is_archived"}}, wantErr: "channel_is_archived", permanent: true, wantCalls: 1},
		{name: "webhook timeout retried then delivered", mode: "webhook", script: []slacktest.Response{{Delay: time.Second}}, wantCalls: 2, wantResult: ResultTimeout},
		{name: "bot ok", mode: "bot", wantCalls: 1, wantResult: ResultOK},
		{name: "bot invalid_blocks is permanent", mode: "bot", script: []slacktest.Response{{APIError: "invalid_blocks"}}, wantErr: "invalid_blocks", permanent: true, wantCalls: 1, wantResult: ResultClientError},
		{name: "bot channel_not_found is permanent", mode: "bot", script: []slacktest.Response{{APIError: "channel_not_found"}}, wantErr: "channel_not_found", permanent: true, wantCalls: 1},
		{name: "bot invalid_auth is permanent", mode: "bot", script: []slacktest.Response{{APIError: "invalid_auth"}}, wantErr: "invalid_auth", permanent: true, wantCalls: 1},
		{name: "bot 429 Retry-After", mode: "bot", script: []slacktest.Response{{Status: 429, RetryAfter: "2"}}, wantCalls: 2, wantResult: ResultRateLimited, wantSleep: 2 * time.Second},
		{name: "bot internal_error retried", mode: "bot", script: []slacktest.Response{{APIError: "internal_error"}}, wantCalls: 2, wantResult: ResultServerError},
		{name: "bot 503 retried", mode: "bot", script: []slacktest.Response{{Status: 503}}, wantCalls: 2, wantResult: ResultServerError},
		{name: "bot timeouts until deadline", mode: "bot", script: repeat(slacktest.Response{Delay: time.Second}, 20), wantErr: "timeout", wantResult: ResultTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.mode, 0)
			r.fake.Push(tc.script...)
			err := r.d.Deliver(context.Background(), r.note("g", false))
			if tc.wantErr == "" && err != nil {
				t.Fatalf("not delivered: %v", err)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				var p interface{ Permanent() bool }
				if got := errors.As(err, &p) && p.Permanent(); got != tc.permanent {
					t.Errorf("permanent = %v, want %v", got, tc.permanent)
				}
				if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "xoxb") {
					t.Errorf("error leaks a secret: %v", err)
				}
			}
			if tc.wantCalls > 0 && r.fake.Count() != tc.wantCalls {
				t.Errorf("%d requests to Slack, want %d", r.fake.Count(), tc.wantCalls)
			}
			if tc.wantResult != "" {
				method := MethodWebhook
				if tc.mode == "bot" {
					method = MethodPostMessage
				}
				if v := testutil.ToFloat64(r.requests.WithLabelValues(method, tc.wantResult)); v < 1 {
					t.Errorf("slack_requests_total{%s,%s} = %v", method, tc.wantResult, v)
				}
			}
			if tc.wantSleep > 0 {
				if s := r.clock.sleeps(); len(s) == 0 || s[0] != tc.wantSleep {
					t.Errorf("waited %v, want first wait %v", s, tc.wantSleep)
				}
			}
			if !r.clock.Now().Before(time.Date(2026, 11, 20, 10, 0, 8, 1, time.UTC)) {
				t.Errorf("waited past the deadline: %v", r.clock.Now())
			}
		})
	}
}

func repeat(r slacktest.Response, n int) []slacktest.Response {
	out := make([]slacktest.Response, n)
	for i := range out {
		out[i] = r
	}
	return out
}

// TestBotUpdatesOriginalAndThreads: firing posts; resolved updates that message in place and
// replies in its thread; the next firing starts a new message.
func TestBotUpdatesOriginalAndThreads(t *testing.T) {
	r := newRig(t, "bot", 0)
	ctx := context.Background()
	if err := r.d.Deliver(ctx, r.note("g1", false)); err != nil {
		t.Fatal(err)
	}
	if err := r.d.Deliver(ctx, r.note("g1", true)); err != nil {
		t.Fatal(err)
	}
	if err := r.d.Deliver(ctx, r.note("g1", false)); err != nil {
		t.Fatal(err)
	}
	reqs := r.fake.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests: %+v", len(reqs), reqs)
	}
	post, upd, reply, again := reqs[0], reqs[1], reqs[2], reqs[3]
	if post.Method != "chat.postMessage" || post.Channel != "#alerts" || post.Token != "xoxb-test-token" || post.Attach == "" {
		t.Errorf("post: %+v", post)
	}
	if upd.Method != "chat.update" || upd.TS != "1700000000.000001" || upd.Channel != "#alerts" {
		t.Errorf("update must target the original message: %+v", upd)
	}
	if reply.Method != "chat.postMessage" || reply.ThreadTS != "1700000000.000001" || reply.Text != "✅ Resolved: X" {
		t.Errorf("thread reply: %+v", reply)
	}
	if again.Method != "chat.postMessage" || again.ThreadTS != "" {
		t.Errorf("new incident should be a new message: %+v", again)
	}
}

func TestBotUpdateOfDeletedMessagePostsNew(t *testing.T) {
	r := newRig(t, "bot", 0)
	ctx := context.Background()
	if err := r.d.Deliver(ctx, r.note("g1", false)); err != nil {
		t.Fatal(err)
	}
	r.fake.Push(slacktest.Response{APIError: "message_not_found"})
	if err := r.d.Deliver(ctx, r.note("g1", true)); err != nil {
		t.Fatal(err)
	}
	reqs := r.fake.Requests()
	if len(reqs) != 3 || reqs[2].Method != "chat.postMessage" || reqs[2].ThreadTS != "" {
		t.Fatalf("want post, failed update, new post: %+v", reqs)
	}
	if _, ok := r.store.Get("g1"); ok {
		t.Error("resolved group still in state")
	}
}

// TestPacing: messages to one webhook are spaced by the interval; another webhook is not held
// up; a slot past the deadline is refused without calling Slack.
func TestPacing(t *testing.T) {
	r := newRig(t, "webhook", time.Second)
	ctx := context.Background()
	for range 3 {
		if err := r.d.Deliver(ctx, r.note("g", false)); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.clock.sleeps(); len(got) != 2 || got[0] != time.Second || got[1] != time.Second {
		t.Errorf("waits %v, want [1s 1s]", got)
	}
	other := r.note("g", false)
	other.Target.WebhookURL = r.fake.URL + "/services/T000/B001/OTHER" // another webhook, another channel
	if err := r.d.Deliver(ctx, other); err != nil {
		t.Fatal(err)
	}
	if got := r.clock.sleeps(); len(got) != 2 {
		t.Errorf("another channel waited: %v", got)
	}

	p := NewPacer(time.Second)
	now := time.Now()
	for i := range 8 {
		if _, ok := p.Reserve("c", now, now.Add(7*time.Second)); !ok {
			t.Fatalf("slot %d refused inside the deadline", i)
		}
	}
	if _, ok := p.Reserve("c", now, now.Add(7*time.Second)); ok {
		t.Error("slot beyond the deadline granted")
	}
	if wait, ok := p.Reserve("d", now, now); !ok || wait != 0 {
		t.Error("fresh channel should go at once")
	}
	off := NewPacer(0)
	for range 5 {
		if wait, ok := off.Reserve("c", now, now); !ok || wait != 0 {
			t.Fatal("pacing off still waits")
		}
	}
}

func TestPacingPastDeadlineIsTransient(t *testing.T) {
	r := newRig(t, "webhook", time.Second)
	n := r.note("g", false)
	// Nine deliveries in flight booked the next 9s of the channel: past the 8s deadline.
	now := r.clock.Now()
	for range 9 {
		r.d.pacer.Reserve(paceKey(n.Target), now, now.Add(time.Hour))
	}
	err := r.d.Deliver(context.Background(), n)
	if !errors.Is(err, ErrDeadline) {
		t.Fatalf("err = %v, want ErrDeadline", err)
	}
	if r.fake.Count() != 0 {
		t.Error("Slack called although the slot was past the deadline")
	}
}

func TestNetworkErrorHidesWebhookURL(t *testing.T) {
	r := newRig(t, "webhook", 0)
	n := r.note("g", false)
	r.fake.Close()
	err := r.d.Deliver(context.Background(), n)
	if err == nil || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), ResultNetworkError) {
		t.Fatalf("err = %v", err)
	}
}
