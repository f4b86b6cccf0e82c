package slack

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/slack-go/slack"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slackfake"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/state"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

type rig struct {
	d        *Deliverer
	fake     *slackfake.Fake
	store    *state.Store
	requests *prometheus.CounterVec
}

// newRig delivers to an in-process fake Slack; run it inside a synctest bubble, where waits
// cost no real time.
func newRig(t *testing.T, mode string, interval time.Duration) *rig {
	t.Helper()
	fake := slackfake.New("xoxb-test-token")
	requests, duration := NewMetrics(nil)
	var tr Transport
	var store *state.Store
	if mode == "bot" {
		tr = NewBot(secret.Static("xoxb-test-token"), fake.APIURL(), NewHTTPClient(fake))
		store, _ = state.Open("", time.Hour)
	} else {
		tr = &Webhook{Client: NewHTTPClient(fake)}
	}
	d := NewDeliverer(tr, store, NewPacer(interval), Options{Deadline: 8 * time.Second, AttemptTimeout: 100 * time.Millisecond}, requests, duration)
	return &rig{d: d, fake: fake, store: store, requests: requests}
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
		script     []slackfake.Response
		wantErr    string // "" = delivered
		permanent  bool
		wantCalls  int
		wantResult string // a result counted at least once
		wantSleep  time.Duration
	}{
		{name: "webhook ok", mode: "webhook", wantCalls: 1, wantResult: ResultOK},
		{name: "webhook 429 waits Retry-After", mode: "webhook", script: []slackfake.Response{{Status: 429, RetryAfter: "3"}}, wantCalls: 2, wantResult: ResultRateLimited, wantSleep: 3 * time.Second},
		{name: "webhook 429 beyond deadline gives up", mode: "webhook", script: []slackfake.Response{{Status: 429, RetryAfter: "30"}}, wantErr: "ratelimited", wantCalls: 1},
		{name: "webhook 500 retried", mode: "webhook", script: []slackfake.Response{{Status: 500}, {Status: 502}}, wantCalls: 3, wantResult: ResultServerError},
		{name: "webhook 500 until deadline", mode: "webhook", script: repeat(slackfake.Response{Status: 500}, 20), wantErr: "server_error", wantResult: ResultServerError},
		{name: "webhook invalid_payload is permanent", mode: "webhook", script: []slackfake.Response{{Status: 400, Body: "invalid_payload"}}, wantErr: "invalid_payload", permanent: true, wantCalls: 1, wantResult: ResultClientError},
		{name: "webhook channel_is_archived is permanent", mode: "webhook", script: []slackfake.Response{{Status: 410, Body: "channel_is_archived"}}, wantErr: "channel_is_archived", permanent: true, wantCalls: 1},
		{name: "webhook timeout retried then delivered", mode: "webhook", script: []slackfake.Response{{Delay: time.Second}}, wantCalls: 2, wantResult: ResultTimeout},
		{name: "bot ok", mode: "bot", wantCalls: 1, wantResult: ResultOK},
		{name: "bot invalid_blocks is permanent", mode: "bot", script: []slackfake.Response{{APIError: "invalid_blocks"}}, wantErr: "invalid_blocks", permanent: true, wantCalls: 1, wantResult: ResultClientError},
		{name: "bot channel_not_found is permanent", mode: "bot", script: []slackfake.Response{{APIError: "channel_not_found"}}, wantErr: "channel_not_found", permanent: true, wantCalls: 1},
		{name: "bot invalid_auth is permanent", mode: "bot", script: []slackfake.Response{{APIError: "invalid_auth"}}, wantErr: "invalid_auth", permanent: true, wantCalls: 1},
		{name: "bot 429 Retry-After", mode: "bot", script: []slackfake.Response{{Status: 429, RetryAfter: "2"}}, wantCalls: 2, wantResult: ResultRateLimited, wantSleep: 2 * time.Second},
		{name: "bot internal_error retried", mode: "bot", script: []slackfake.Response{{APIError: "internal_error"}}, wantCalls: 2, wantResult: ResultServerError},
		{name: "bot 503 retried", mode: "bot", script: []slackfake.Response{{Status: 503}}, wantCalls: 2, wantResult: ResultServerError},
		{name: "bot timeouts until deadline", mode: "bot", script: repeat(slackfake.Response{Delay: time.Second}, 20), wantErr: "timeout", wantResult: ResultTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, tc.mode, 0)
				r.fake.Push(tc.script...)
				start := time.Now()
				err := r.d.Deliver(context.Background(), r.note("g", false))
				took := time.Since(start)
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
				if tc.wantSleep > 0 && took != tc.wantSleep {
					t.Errorf("took %v, want the Retry-After wait %v", took, tc.wantSleep)
				}
				if took > 8*time.Second {
					t.Errorf("waited past the deadline: %v", took)
				}
			})
		})
	}
}

func repeat(r slackfake.Response, n int) []slackfake.Response {
	out := make([]slackfake.Response, n)
	for i := range out {
		out[i] = r
	}
	return out
}

// TestBotUpdatesOriginalAndThreads: firing posts; resolved updates that message in place and
// replies in its thread; the next firing starts a new message.
func TestBotUpdatesOriginalAndThreads(t *testing.T) {
	synctest.Test(t, testBotUpdatesOriginalAndThreads)
}

func testBotUpdatesOriginalAndThreads(t *testing.T) {
	r := newRig(t, "bot", 0)
	ctx := context.Background()
	for _, resolved := range []bool{false, true, false} {
		if err := r.d.Deliver(ctx, r.note("g1", resolved)); err != nil {
			t.Fatal(err)
		}
	}
	reqs := r.fake.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests: %+v", len(reqs), reqs)
	}
	post, upd, reply, again := reqs[0], reqs[1], reqs[2], reqs[3]
	if post.Method != slackfake.MethodPost || post.Channel != "#alerts" || post.Token != "xoxb-test-token" || post.Attach == "" {
		t.Errorf("post: %+v", post)
	}
	if upd.Method != slackfake.MethodUpdate || upd.Result != "ok" || upd.TS != post.TS || upd.Channel != post.ChannelID {
		t.Errorf("update must target the original message: %+v", upd)
	}
	if reply.Method != slackfake.MethodPost || reply.ThreadTS != post.TS || reply.Text != "✅ Resolved: X" {
		t.Errorf("thread reply: %+v", reply)
	}
	if again.Method != slackfake.MethodPost || again.ThreadTS != "" {
		t.Errorf("new incident should be a new message: %+v", again)
	}
}

func TestBotUpdateOfDeletedMessagePostsNew(t *testing.T) {
	synctest.Test(t, testBotUpdateOfDeletedMessagePostsNew)
}

func testBotUpdateOfDeletedMessagePostsNew(t *testing.T) {
	r := newRig(t, "bot", 0)
	ctx := context.Background()
	if err := r.d.Deliver(ctx, r.note("g1", false)); err != nil {
		t.Fatal(err)
	}
	r.fake.Push(slackfake.Response{APIError: "message_not_found"})
	if err := r.d.Deliver(ctx, r.note("g1", true)); err != nil {
		t.Fatal(err)
	}
	reqs := r.fake.Requests()
	if len(reqs) != 3 || reqs[2].Method != slackfake.MethodPost || reqs[2].ThreadTS != "" {
		t.Fatalf("want post, failed update, new post: %+v", reqs)
	}
	if _, ok := r.store.Get("g1"); ok {
		t.Error("resolved group still in state")
	}
}

// TestPacing: messages to one webhook are spaced by the interval; another webhook is not held
// up.
func TestPacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "webhook", time.Second)
		ctx := context.Background()
		start := time.Now()
		for range 3 {
			if err := r.d.Deliver(ctx, r.note("g", false)); err != nil {
				t.Fatal(err)
			}
		}
		if took := time.Since(start); took != 2*time.Second {
			t.Errorf("three posts took %v, want 2s (1s apart)", took)
		}
		other := r.note("g", false)
		other.Target.WebhookURL = strings.Replace(other.Target.WebhookURL, "B000", "B001", 1) // another channel
		start = time.Now()
		if err := r.d.Deliver(ctx, other); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("another channel waited %v", took)
		}
	})
}

func TestPacerSlots(t *testing.T) {
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
	synctest.Test(t, testPacingPastDeadlineIsTransient)
}

func testPacingPastDeadlineIsTransient(t *testing.T) {
	r := newRig(t, "webhook", time.Second)
	n := r.note("g", false)
	// Nine deliveries in flight booked the next 9s of the channel: past the 8s deadline.
	now := time.Now()
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

// TestGivingUpReportsLastFailure: when the retries end because no slot is left before the
// deadline, the answer names Slack's last failure, not the pacer (it read "channel busy
// (pacing)" although Slack was failing).
func TestGivingUpReportsLastFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "webhook", time.Second)
		r.d.opt.Deadline = 2500 * time.Millisecond
		r.fake.Push(slackfake.Response{Status: 500})
		first := make(chan error, 1)
		go func() { first <- r.d.Deliver(context.Background(), r.note("g1", false)) }()
		synctest.Wait() // g1 failed once and waits its backoff
		// Two more groups for the channel book its slots at 1s and 2s, so g1's retry would come
		// after its deadline.
		var others sync.WaitGroup
		for _, g := range []string{"g2", "g3"} {
			others.Go(func() { _ = r.d.Deliver(context.Background(), r.note(g, false)) })
		}
		err := <-first
		others.Wait()
		if err == nil || !strings.Contains(err.Error(), "server_error") {
			t.Fatalf("err = %v, want Slack's server_error", err)
		}
	})
}

type refused struct{}

func (refused) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
}

// TestNetworkErrorHidesWebhookURL: the HTTP client's error names the URL (the secret); the
// classified error must not.
func TestNetworkErrorHidesWebhookURL(t *testing.T) { synctest.Test(t, testNetworkErrorHidesWebhookURL) }

func testNetworkErrorHidesWebhookURL(t *testing.T) {
	fake := slackfake.New("")
	requests, duration := NewMetrics(nil)
	d := NewDeliverer(&Webhook{Client: NewHTTPClient(refused{})}, nil, NewPacer(0), Options{Deadline: time.Second}, requests, duration)
	err := d.Deliver(context.Background(), Notification{Message: &render.Message{Text: "x"}, Target: Target{Route: "default", WebhookURL: fake.WebhookURL()}})
	if err == nil || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), ResultNetworkError) {
		t.Fatalf("err = %v", err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"3", 3 * time.Second, true},
		{" 0 ", 0, true},
		{"Fri, 20 Nov 2026 10:00:07 GMT", 7 * time.Second, true},
		{"Friday, 20-Nov-26 10:00:07 GMT", 7 * time.Second, true},
		{"Fri, 20 Nov 2026 09:59:00 GMT", 0, true},
		{"-1", 0, false},
		{"soon", 0, false},
	}
	for _, tc := range tests {
		if got, ok := parseRetryAfter(tc.in, now); got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestRetryAfterHTTPDate: Slack (or a proxy in front of it) may send Retry-After as a date;
// the retry waits until then.
func TestRetryAfterHTTPDate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, mode := range []string{"webhook", "bot"} {
			r := newRig(t, mode, 0)
			r.fake.Push(slackfake.Response{Status: 429, RetryAfter: time.Now().Add(4 * time.Second).UTC().Format(http.TimeFormat)})
			start := time.Now()
			if err := r.d.Deliver(context.Background(), r.note("g", false)); err != nil {
				t.Fatalf("%s: %v", mode, err)
			}
			if took := time.Since(start); took != 4*time.Second || r.fake.Count() != 2 {
				t.Errorf("%s: delivered after %v in %d requests, want 4s and 2", mode, took, r.fake.Count())
			}
		}
	})
}

// TestDetailsReply: the detail that does not fit the message goes to one reply in its thread,
// which later notifications update in place (never a second reply), and which says so when
// the detail fits the message again; a failed reply leaves the message delivered.
func TestDetailsReply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "bot", 0)
		details := func(text string) *render.Message {
			return &render.Message{Text: "Details: argocd/stuck", Header: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)}}
		}
		send := func(d *render.Message, reply string) {
			t.Helper()
			n := r.note("g", false)
			n.Key, n.Message.Details, n.Message.Reply = reply, d, reply
			if err := r.d.Deliver(context.Background(), n); err != nil {
				t.Fatal(err)
			}
		}
		send(details("*Details* v1"), "")
		msgs := r.fake.Messages()
		if len(msgs) != 2 || msgs[1].ThreadTS != msgs[0].TS || !strings.Contains(msgs[1].Blocks, "v1") || msgs[1].Attach != "" {
			t.Fatalf("want the message and its Details reply (blocks, no attachment): %+v", msgs)
		}
		top, reply := msgs[0], msgs[1]

		send(details("*Details* v2"), "still firing")
		send(nil, "fits again")
		var updates []string
		for _, m := range r.fake.Messages()[2:] {
			switch {
			case m.Method == slackfake.MethodUpdate && m.TS == reply.TS:
				updates = append(updates, m.Blocks)
			case m.Method == slackfake.MethodPost && m.ThreadTS == top.TS && strings.Contains(m.Blocks, "Details"):
				t.Errorf("a second Details reply: %s", m.Blocks)
			}
		}
		if len(updates) != 2 || !strings.Contains(updates[0], "v2") || !strings.Contains(updates[1], "everything is in the message now") {
			t.Errorf("Details reply updates %q", updates)
		}

		// A Details reply Slack refuses: the message is delivered all the same.
		r2 := newRig(t, "bot", 0)
		r2.fake.Push(slackfake.Response{}, slackfake.Response{APIError: "invalid_blocks"})
		n := r2.note("g", false)
		n.Message.Details = details("x")
		if err := r2.d.Deliver(context.Background(), n); err != nil {
			t.Fatalf("the Details reply's failure failed the delivery: %v", err)
		}
		if e, _ := r2.store.Get("g"); e.TS == "" || e.DetailsTS != "" {
			t.Errorf("state %+v: want the message remembered, no Details reply", e)
		}
	})
}

// TestLateFiringCopyAfterResolveIsStale (issue 20): the peer Alertmanager's firing copy of an
// alert instance the group's last notification resolved, or its resolved copy, is ErrStale
// without a Slack call; a newer instance of the same alert posts a new message.
func TestLateFiringCopyAfterResolveIsStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "bot", 0)
		ctx := context.Background()
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		a1 := []state.Instance{{Fingerprint: "aaa", StartsAt: t0}}
		steps := []struct {
			name      string
			resolved  bool
			alerts    []state.Instance
			wantErr   error
			wantPosts int // top-level posts so far
		}{
			{name: "firing", alerts: a1, wantPosts: 1},
			{name: "resolved", resolved: true, alerts: a1, wantPosts: 1},
			{name: "late firing copy", alerts: a1, wantErr: ErrStale, wantPosts: 1},
			// The peer Alertmanager's resolved notification of the same incident, naming only
			// the alerts it knew of (chaos seed 8312004917331583366): no second message.
			{name: "late resolved copy", resolved: true, alerts: a1[:1], wantErr: ErrStale, wantPosts: 1},
			{name: "re-fire", alerts: []state.Instance{{Fingerprint: "aaa", StartsAt: t0.Add(time.Minute)}}, wantPosts: 2},
		}
		for _, s := range steps {
			before := len(r.fake.Requests())
			n := r.note("g1", s.resolved)
			n.Alerts = s.alerts
			if err := r.d.Deliver(ctx, n); !errors.Is(err, s.wantErr) || (s.wantErr == nil && err != nil) {
				t.Fatalf("%s: err = %v, want %v", s.name, err, s.wantErr)
			}
			posts := 0
			for _, q := range r.fake.Requests() {
				if q.Method == slackfake.MethodPost && q.ThreadTS == "" {
					posts++
				}
			}
			if posts != s.wantPosts {
				t.Errorf("%s: %d top-level posts, want %d", s.name, posts, s.wantPosts)
			}
			if s.wantErr != nil && len(r.fake.Requests()) != before {
				t.Errorf("%s: %d Slack requests, want none", s.name, len(r.fake.Requests())-before)
			}
		}
	})
}
