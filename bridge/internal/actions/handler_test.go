package actions

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/interact"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slack"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slackfake"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/state"
	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

var now = time.Date(2026, 11, 20, 10, 42, 0, 0, time.UTC)

const (
	alice  = "U0ALICE"
	bob    = "U0BOB"
	oncall = "S0ONCALL"
	// groupKey is the group whose message the clicks are on.
	groupKey = `{}:{alertname="ArgoCDAppDegraded"}`
)

var groupID = state.GroupID(groupKey)

// fakeAM is Alertmanager's silence API as far as the bridge uses it.
type fakeAM struct {
	mu       sync.Mutex
	posted   []map[string]any
	deleted  []string
	status   int // answer to POST when non-zero
	body     string
	srv      *httptest.Server
	reqCount int
}

func newFakeAM(t *testing.T) *fakeAM {
	am := &fakeAM{}
	am.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		am.mu.Lock()
		defer am.mu.Unlock()
		am.reqCount++
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/v2/silences":
			if am.status != 0 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(am.status)
				_, _ = io.WriteString(w, am.body)
				return
			}
			var s map[string]any
			_ = json.NewDecoder(r.Body).Decode(&s)
			am.posted = append(am.posted, s)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"silenceID":"5e1ec7ed-0000-4000-8000-00000000000`+string(rune('0'+len(am.posted)))+`"}`)
		case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/api/v2/silence/"):
			am.deleted = append(am.deleted, strings.TrimPrefix(r.URL.Path, "/api/v2/silence/"))
			w.WriteHeader(http.StatusOK)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(am.srv.Close)
	return am
}

// fakeExporter is the exporter's resume endpoint.
type fakeExporter struct {
	mu      sync.Mutex
	calls   []string // "ns/name by"
	status  int
	body    string // the answer with status (default: a not-under-remediation error)
	message string // the answer's message when it succeeds (default: a real one)
}

func newFakeExporter(t *testing.T) (*fakeExporter, string) {
	e := &fakeExporter{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer write-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if e.status != 0 {
			w.WriteHeader(e.status)
			body := e.body
			if body == "" {
				body = `{"error":"app argocd/payments is not under remediation"}`
			}
			_, _ = io.WriteString(w, body)
			return
		}
		var req apiv1.ActionRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		e.calls = append(e.calls, r.URL.Path+" "+req.RequestedBy)
		msg := e.message
		if msg == "" {
			msg = "pause cleared, one attempt scheduled now"
		}
		_ = json.NewEncoder(w).Encode(apiv1.ActionResponse{Message: msg})
	}))
	t.Cleanup(srv.Close)
	return e, srv.URL
}

type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

type groups struct{}

func (g groups) Render(id string, st render.Status) (*render.Message, bool) {
	if id != groupID {
		return nil, false
	}
	return &render.Message{Text: "payments: " + strings.Join(st.Lines, " | "), Color: render.ColorCritical}, true
}

type env struct {
	h       *Handler
	slack   *slackfake.Fake
	am      *fakeAM
	exp     *fakeExporter
	counter *prometheus.CounterVec
	store   *Store
}

func newEnv(t *testing.T, policy Policy) *env {
	t.Helper()
	fake := slackfake.New("xoxb-test")
	bot := slack.NewBot(secret.Static("xoxb-test"), fake.APIURL(), slack.NewHTTPClient(fake))
	reqs, dur := slack.NewMetrics(nil)
	// The message the clicks are on (ts 1700000000.000001).
	if _, err := bot.Post(t.Context(), slack.Target{Channel: "C0123"}, &render.Message{Text: "payments"}); err != nil {
		t.Fatal(err)
	}
	d := slack.NewDeliverer(bot, nil, slack.NewPacer(0), slack.Options{Deadline: 5 * time.Second, FirstBackoff: time.Millisecond}, reqs, dur)
	am := newFakeAM(t)
	silencer, err := NewAlertmanager(am.srv.URL, http.DefaultClient, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	exp, expURL := newFakeExporter(t)
	rem, err := NewExporter(expURL, &http.Client{Transport: bearer{"write-token"}})
	if err != nil {
		t.Fatal(err)
	}
	counter := NewCounter(nil)
	gs, err := state.Open("", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := gs.Put(groupKey, state.Entry{Channel: "C0123", TS: "1700000000.000001"}); err != nil {
		t.Fatal(err)
	}
	store := NewStore(gs, func() time.Time { return now })
	// The group's firing alerts as its last delivery recorded them in the shared state.
	if err := store.Update(t.Context(), groupID, func(s *State) {
		s.Alerts = []map[string]string{
			{"alertname": "ArgoCDAppDegraded", "namespace": "argocd", "name": "payments", "health_status": "Degraded", "severity": "critical"},
		}
	}); err != nil {
		t.Fatal(err)
	}
	h := New(Config{
		Policy: policy, Silencer: silencer, Remediator: rem, Slack: slack.NewActor(d, bot),
		Groups: groups{},
		Store:  store, Now: func() time.Time { return now }, Counter: counter,
	})
	return &env{h: h, slack: fake, am: am, exp: exp, counter: counter, store: store}
}

func clickOn(action, user string, app string) interact.Interaction {
	v := render.ButtonValue{Group: groupID}
	if app != "" {
		ns, name, _ := strings.Cut(app, "/")
		v.Namespace, v.Name = ns, name
	}
	return interact.Interaction{ActionID: action, Value: v.Encode(), UserID: user, UserName: "someone", TeamDomain: "acme",
		ChannelID: "C0123", MessageTS: "1700000000.000001", ActionTS: "1700000100." + user}
}

// slackCalls summarises what Slack received: method and text.
func (e *env) slackCalls() []string {
	var out []string
	for _, r := range e.slack.Requests() {
		kind := r.Method
		if r.Method == "chat.postMessage" && r.ThreadTS != "" {
			kind = "reply"
		}
		out = append(out, kind+": "+r.Text)
	}
	return out
}

func (e *env) want(t *testing.T, action, result string) {
	t.Helper()
	if got := testutil.ToFloat64(e.counter.WithLabelValues(action, result)); got != 1 {
		t.Errorf("actions_total{action=%s,result=%s} = %v, want 1", action, result, got)
	}
}

func has(calls []string, prefix, contains string) bool {
	for _, c := range calls {
		if strings.HasPrefix(c, prefix) && strings.Contains(c, contains) {
			return true
		}
	}
	return false
}

func TestActionsAllowed(t *testing.T) {
	policy := Policy{Retry: &Allow{Users: []string{alice}}, Resume: &Allow{Users: []string{alice}}}
	tests := []struct {
		name   string
		click  interact.Interaction
		action string
		update string // text the updated message must contain
		reply  string
		check  func(t *testing.T, e *env)
	}{
		{name: "silence 1h", click: clickOn(render.ActionSilence1h, bob, ""), action: ActionSilence,
			update: "Silenced by <@U0BOB> until 11:42 UTC", reply: "silenced this group for 1h, until 11:42 UTC",
			check: func(t *testing.T, e *env) {
				if len(e.am.posted) != 1 {
					t.Fatalf("silences posted: %d", len(e.am.posted))
				}
				s := e.am.posted[0]
				b, _ := json.Marshal(s["matchers"])
				for _, w := range []string{`"name":"alertname","value":"ArgoCDAppDegraded"`, `"name":"name","value":"payments"`} {
					if !strings.Contains(string(b), w) {
						t.Errorf("matchers %s lack %s", b, w)
					}
				}
				if strings.Contains(string(b), "health_status") {
					t.Errorf("state label in matchers: %s", b)
				}
				if s["createdBy"] != "someone (slack:U0BOB)" || s["comment"] != "Silenced from Slack: https://acme.slack.com/archives/C0123/p1700000000000001" {
					t.Errorf("createdBy %v comment %v", s["createdBy"], s["comment"])
				}
				if s["endsAt"] != "2026-11-20T11:42:00.000Z" {
					t.Errorf("endsAt %v", s["endsAt"])
				}
			}},
		{name: "silence 24h", click: clickOn(render.ActionSilence24h, bob, ""), action: ActionSilence, update: "until Nov 21 10:42 UTC", reply: "for 24h,"},
		{name: "ack", click: clickOn(render.ActionAck, bob, ""), action: ActionAck, update: "Acked by <@U0BOB> at 10:42 UTC", reply: "acknowledged at 10:42 UTC"},
		{name: "resume", click: clickOn(render.ActionResume, alice, "argocd/payments"), action: ActionResume,
			update: "Remediation resumed by <@U0ALICE> at 10:42 UTC (argocd/payments)", reply: "pause cleared, one attempt scheduled now",
			check: func(t *testing.T, e *env) {
				if len(e.exp.calls) != 1 || e.exp.calls[0] != "/api/v1/apps/argocd/payments/remediation/resume someone (slack:U0ALICE)" {
					t.Errorf("exporter calls %v", e.exp.calls)
				}
			}},
		{name: "retry", click: clickOn(render.ActionRetry, alice, "argocd/payments"), action: ActionRetry, update: "Sync retried by <@U0ALICE>", reply: "asked for a sync retry of argocd/payments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, policy)
			e.h.Handle(t.Context(), tc.click)
			e.want(t, tc.action, ResultOK)
			calls := e.slackCalls()
			if !has(calls, "chat.update", tc.update) || !has(calls, "reply", tc.reply) || has(calls, "chat.postEphemeral", "") {
				t.Errorf("slack calls %q\nwant an update with %q and a reply with %q", calls, tc.update, tc.reply)
			}
			if tc.check != nil {
				tc.check(t, e)
			}
		})
	}
}

func TestActionsRefused(t *testing.T) {
	policy := Policy{Silence: &Allow{UserGroups: []string{oncall}}, Retry: &Allow{Users: []string{alice}}, Ack: &Allow{Users: []string{alice}}}
	tests := []struct {
		name   string
		click  interact.Interaction
		action string
		result string
		why    string
	}{
		{"resume is nobody's by default", clickOn(render.ActionResume, alice, "argocd/payments"), ActionResume, ResultRefused, "nobody yet"},
		{"retry by someone else", clickOn(render.ActionRetry, bob, "argocd/payments"), ActionRetry, ResultRefused, "only <@U0ALICE> may"},
		{"silence outside the user group", clickOn(render.ActionSilence4h, bob, ""), ActionSilence, ResultRefused, "only <!subteam^S0ONCALL> may"},
		{"expire outside the user group", clickOn(render.ActionExpire, bob, ""), ActionExpire, ResultRefused, "only <!subteam^S0ONCALL> may"},
		{"ack restricted to alice", clickOn(render.ActionAck, bob, ""), ActionAck, ResultRefused, "only <@U0ALICE> may"},
		// Retry acts only on an app of the message's group (issue 20, defect 3).
		{"retry of another app", clickOn(render.ActionRetry, alice, "argocd/billing"), ActionRetry, ResultInvalid, "argocd/billing is not a firing app of this message"},
		{"retry of the same name in another namespace", clickOn(render.ActionRetry, alice, "other/payments"), ActionRetry, ResultInvalid, "other/payments is not a firing app of this message"},
		{"retry in a group the bridge does not know", interact.Interaction{ActionID: render.ActionRetry, Value: render.ButtonValue{Group: "ffff", Namespace: "argocd", Name: "payments"}.Encode(),
			UserID: alice, ChannelID: "C0123", MessageTS: "1700000000.000001", ActionTS: "9"}, ActionRetry, ResultInvalid, "no firing alerts on record"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, policy)
			e.slack.Push(slackfake.Response{Body: `{"ok":true,"users":["U0CAROL"]}`}) // usergroups.users.list
			e.h.Handle(t.Context(), tc.click)
			e.want(t, tc.action, tc.result)
			calls := e.slackCalls()
			if !has(calls, "chat.postEphemeral", tc.why) || !has(calls, "reply", "refused") || has(calls, "chat.update", "") {
				t.Errorf("slack calls %q, want an ephemeral with %q, an audit reply and no update", calls, tc.why)
			}
			if len(e.am.posted) != 0 || len(e.exp.calls) != 0 {
				t.Errorf("something was done: silences %v, exporter %v", e.am.posted, e.exp.calls)
			}
			if st := e.store.get(t); st.Ack != nil || st.Silence != nil || st.Remediation != nil {
				t.Errorf("state changed: %+v", st)
			}
		})
	}
	t.Run("user group member may silence", func(t *testing.T) {
		e := newEnv(t, policy)
		e.slack.Push(slackfake.Response{Body: `{"ok":true,"users":["U0BOB"]}`})
		e.h.Handle(t.Context(), clickOn(render.ActionSilence1h, bob, ""))
		e.want(t, ActionSilence, ResultOK)
	})
}

func TestActionsFailures(t *testing.T) {
	policy := Policy{Resume: &Allow{Users: []string{alice}}}
	tests := []struct {
		name   string
		setup  func(e *env)
		click  interact.Interaction
		action string
		why    string
	}{
		{"alertmanager refuses", func(e *env) { e.am.status, e.am.body = 400, `"bad matcher"` },
			clickOn(render.ActionSilence1h, bob, ""), ActionSilence, "Alertmanager did not accept the silence (HTTP 400): bad matcher"},
		{"alertmanager down", func(e *env) { e.am.srv.Close() },
			clickOn(render.ActionSilence1h, bob, ""), ActionSilence, "Alertmanager is unreachable, it did not get the silence"},
		{"exporter refuses", func(e *env) { e.exp.status = 409 },
			clickOn(render.ActionResume, alice, "argocd/payments"), ActionResume, "the exporter did not accept the resume (HTTP 409): app argocd/payments is not under remediation"},
		{"group unknown to the bridge", func(*env) {},
			interact.Interaction{ActionID: render.ActionSilence1h, Value: "g=ffff", UserID: bob, ChannelID: "C0123", MessageTS: "1.2", ActionTS: "3"}, ActionSilence, "no firing alerts on record"},
		// What Alertmanager and the exporter answer is outside text: escaped like every other
		// (issue 20, defect 2).
		{"alertmanager's refusal escaped", func(e *env) { e.am.status, e.am.body = 400, strconv.Quote(hostile) },
			clickOn(render.ActionSilence1h, bob, ""), ActionSilence, "Alertmanager did not accept the silence (HTTP 400): " + hostileEscaped},
		{"the exporter's refusal escaped", func(e *env) { e.exp.status, e.exp.body = 409, `{"error":`+strconv.Quote(hostile)+`}` },
			clickOn(render.ActionResume, alice, "argocd/payments"), ActionResume, "the exporter did not accept the resume (HTTP 409): " + hostileEscaped},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, policy)
			tc.setup(e)
			e.h.Handle(t.Context(), tc.click)
			e.want(t, tc.action, ResultError)
			calls := e.slackCalls()
			if !has(calls, "chat.postEphemeral", tc.why) || has(calls, "chat.update", "") || !has(calls, "reply", "failed (") || !has(calls, "reply", tc.why) {
				t.Errorf("slack calls %q, want an ephemeral and an audit reply with %q, no update", calls, tc.why)
			}
			noLeaks(t, calls)
		})
	}
	t.Run("exporter down", func(t *testing.T) {
		e := newEnv(t, policy)
		gone := httptest.NewServer(http.NotFoundHandler())
		gone.Close() // a port nobody listens on any more
		rem, _ := NewExporter(gone.URL, http.DefaultClient)
		e.h.cfg.Remediator = rem
		e.h.Handle(t.Context(), clickOn(render.ActionResume, alice, "argocd/payments"))
		e.want(t, ActionResume, ResultError)
		calls := e.slackCalls()
		if !has(calls, "chat.postEphemeral", "the exporter is unreachable") {
			t.Errorf("slack calls %q", calls)
		}
		noLeaks(t, calls)
	})
}

func TestReplayDoesNothingTwice(t *testing.T) {
	e := newEnv(t, Policy{})
	c := clickOn(render.ActionSilence1h, bob, "")
	e.h.Handle(t.Context(), c)
	e.h.Handle(t.Context(), c)
	e.want(t, ActionSilence, ResultOK)
	e.want(t, ActionSilence, ResultReplay)
	if len(e.am.posted) != 1 {
		t.Errorf("%d silences, want 1", len(e.am.posted))
	}
}

func TestExpireSilenceAndSlack429(t *testing.T) {
	e := newEnv(t, Policy{})
	e.h.Handle(t.Context(), clickOn(render.ActionSilence1h, bob, ""))
	// The update after expiring meets a 429 first: retried within the deadline.
	e.slack.Push(slackfake.Response{Status: 429, RetryAfter: "0"})
	expire := clickOn(render.ActionExpire, alice, "")
	e.h.Handle(t.Context(), expire)
	e.want(t, ActionExpire, ResultOK)
	if len(e.am.deleted) != 1 || e.am.deleted[0] != "5e1ec7ed-0000-4000-8000-000000000001" {
		t.Errorf("deleted %v", e.am.deleted)
	}
	if st := e.store.get(t); st.Silence != nil {
		t.Errorf("silence still on record: %+v", st.Silence)
	}
	calls := e.slackCalls()
	n := 0
	for _, c := range calls {
		if strings.HasPrefix(c, "chat.update") {
			n++
		}
	}
	if n != 3 || !has(calls, "reply", "expired the silence") {
		t.Errorf("want 3 updates (silence, 429, expire) and the audit reply: %q", calls)
	}
}

func TestUnknownButton(t *testing.T) {
	e := newEnv(t, Policy{})
	e.h.Handle(t.Context(), interact.Interaction{ActionID: "launch_rockets", Value: "g=x", UserID: bob, ChannelID: "C1", MessageTS: "1.2"})
	e.want(t, ActionUnknown, ResultInvalid)
}

func TestPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		p   Policy
		err string
	}{
		{Policy{}, ""},
		{Policy{Retry: &Allow{Users: []string{"alice"}}}, `"alice" is not a Slack user ID`},
		{Policy{Resume: &Allow{UserGroups: []string{"U0ALICE"}}}, "not a Slack user group ID"},
		{Policy{Ack: &Allow{Anyone: true, Users: []string{alice}}}, "choose one"},
	} {
		err := tc.p.Validate()
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%+v: %v, want %q", tc.p, err, tc.err)
		}
	}
}

// hostile is outside text that would notify the channel and hide a link if Slack read it as
// mrkdwn; hostileEscaped is how it must reach Slack.
const (
	hostile        = `<!channel> see <http://evil.example|here> & <@U0EVIL>`
	hostileEscaped = `&lt;!channel&gt; see &lt;http://evil.example|here&gt; &amp; &lt;@U0EVIL&gt;`
)

// noLeaks fails when Slack got outside mrkdwn unescaped, or an internal address or dial error:
// those are for the log (issue 20, defect 2).
func noLeaks(t *testing.T, calls []string) {
	t.Helper()
	for _, c := range calls {
		for _, leak := range []string{"<!channel>", "<@U0EVIL>", "127.0.0.1", "dial", "connection refused"} {
			if strings.Contains(c, leak) {
				t.Errorf("%q reached Slack: %q", leak, c)
			}
		}
	}
}

// TestExporterAnswerEscaped: the exporter's answer to a resume, quoted in the audit reply, is
// outside text too.
func TestExporterAnswerEscaped(t *testing.T) {
	e := newEnv(t, Policy{Resume: &Allow{Users: []string{alice}}})
	e.exp.message = hostile
	e.h.Handle(t.Context(), clickOn(render.ActionResume, alice, "argocd/payments"))
	e.want(t, ActionResume, ResultOK)
	calls := e.slackCalls()
	if !has(calls, "reply", hostileEscaped) {
		t.Errorf("slack calls %q, want the reply with %q", calls, hostileEscaped)
	}
	noLeaks(t, calls)
}

// "Terminate sync" asks the exporter's terminate endpoint, audited in the thread; like retry and
// resume it is nobody's by default.
func TestTerminateSync(t *testing.T) {
	t.Run("allowed", func(t *testing.T) {
		e := newEnv(t, Policy{Terminate: &Allow{Users: []string{alice}}})
		e.exp.message = "terminated the operation that started at 2026-11-20T10:00:00Z"
		e.h.Handle(t.Context(), clickOn(render.ActionTerminate, alice, "argocd/payments"))
		e.want(t, ActionTerminate, ResultOK)
		if len(e.exp.calls) != 1 || e.exp.calls[0] != "/api/v1/apps/argocd/payments/remediation/terminate someone (slack:U0ALICE)" {
			t.Errorf("exporter calls %v", e.exp.calls)
		}
		if calls := e.slackCalls(); !has(calls, "reply", "<@U0ALICE> terminated the running sync of argocd/payments at 10:42 UTC: terminated the operation") {
			t.Errorf("slack calls %q, want the audit reply", calls)
		}
	})
	t.Run("nobody by default", func(t *testing.T) {
		e := newEnv(t, Policy{})
		e.h.Handle(t.Context(), clickOn(render.ActionTerminate, alice, "argocd/payments"))
		e.want(t, ActionTerminate, ResultRefused)
		if calls := e.slackCalls(); !has(calls, "chat.postEphemeral", "nobody yet (configure actions.terminate") || len(e.exp.calls) != 0 {
			t.Errorf("slack calls %q, exporter %v", calls, e.exp.calls)
		}
	})
	t.Run("only an app of the message", func(t *testing.T) {
		e := newEnv(t, Policy{Terminate: &Allow{Users: []string{alice}}})
		e.h.Handle(t.Context(), clickOn(render.ActionTerminate, alice, "argocd/billing"))
		e.want(t, ActionTerminate, ResultInvalid)
		if len(e.exp.calls) != 0 {
			t.Errorf("exporter called: %v", e.exp.calls)
		}
	})
}

// "Roll back" asks the exporter's rollback endpoint, audited in the thread; nobody's by default,
// only for an app of the message's group.
func TestRollbackButton(t *testing.T) {
	t.Run("allowed", func(t *testing.T) {
		e := newEnv(t, Policy{Rollback: &Allow{Users: []string{alice}}})
		e.exp.message = "rolled back to abc1234 (healthy until 2026-11-20T09:30:00Z); holding until its manifests change"
		e.h.Handle(t.Context(), clickOn(render.ActionRollback, alice, "argocd/payments"))
		e.want(t, ActionRollback, ResultOK)
		if len(e.exp.calls) != 1 || e.exp.calls[0] != "/api/v1/apps/argocd/payments/remediation/rollback someone (slack:U0ALICE)" {
			t.Errorf("exporter calls %v", e.exp.calls)
		}
		if calls := e.slackCalls(); !has(calls, "reply", "<@U0ALICE> rolled back argocd/payments at 10:42 UTC: rolled back to abc1234") {
			t.Errorf("slack calls %q, want the audit reply", calls)
		}
	})
	t.Run("nobody by default", func(t *testing.T) {
		e := newEnv(t, Policy{})
		e.h.Handle(t.Context(), clickOn(render.ActionRollback, alice, "argocd/payments"))
		e.want(t, ActionRollback, ResultRefused)
		if calls := e.slackCalls(); !has(calls, "chat.postEphemeral", "nobody yet (configure actions.rollback") || len(e.exp.calls) != 0 {
			t.Errorf("slack calls %q, exporter %v", calls, e.exp.calls)
		}
	})
	t.Run("only an app of the message", func(t *testing.T) {
		e := newEnv(t, Policy{Rollback: &Allow{Users: []string{alice}}})
		e.h.Handle(t.Context(), clickOn(render.ActionRollback, alice, "argocd/billing"))
		e.want(t, ActionRollback, ResultInvalid)
		if len(e.exp.calls) != 0 {
			t.Errorf("exporter called: %v", e.exp.calls)
		}
	})
}
