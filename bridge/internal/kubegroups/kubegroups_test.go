package kubegroups

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/state"
	"github.com/argocd-monitor/argocd-monitor/exporter/kubetest"
)

const ns = "argocd-monitor"

func newStore(t *testing.T, api *kubetest.API, id string) *Store {
	t.Helper()
	s, err := New(Config{Client: api.NewClient(), Namespace: ns, Identity: id,
		ClaimTimeout: 30 * time.Second, ResolvedWindow: time.Hour, TTL: 168 * time.Hour, DedupeWindow: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func begin(t *testing.T, s *Store, group, key string) *state.Claim {
	t.Helper()
	c, err := s.Begin(t.Context(), group, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Two replicas get the same firing notification at once (an HA
// Alertmanager pair): one posts, the other waits and acknowledges.
func TestSimultaneousCopiesPostOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := kubetest.New()
		a, b := newStore(t, api, "a"), newStore(t, api, "b")
		ca := begin(t, a, "g", "firing-1")
		if ca.Found || ca.Duplicate {
			t.Fatalf("first claim = %+v, want a new message to post", ca)
		}
		got := make(chan *state.Claim)
		go func() { got <- begin(t, b, "g", "firing-1") }()
		time.Sleep(5 * time.Second) // a posts slowly
		select {
		case c := <-got:
			t.Fatalf("b did not wait for a's claim: %+v", c)
		default:
		}
		if err := ca.Done(t.Context(), state.Entry{Channel: "C1", TS: "1.1"}, false); err != nil {
			t.Fatal(err)
		}
		if cb := <-got; !cb.Duplicate {
			t.Fatalf("b's claim = %+v, want a duplicate", cb)
		}
	})
}

// Firing on one replica, resolved on the other (or after a restart of
// both): the resolved notification updates the same message.
func TestResolvedOnAnotherReplicaUpdatesTheMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := kubetest.New()
		a := newStore(t, api, "a")
		ca := begin(t, a, "g", "firing-1")
		if err := ca.Done(t.Context(), state.Entry{Channel: "C1", TS: "1.1", Fields: map[string]string{"ack": "alice"}}, false); err != nil {
			t.Fatal(err)
		}
		b := newStore(t, api, "b") // a fresh replica knows only the API
		cb := begin(t, b, "g", "resolved-1")
		if !cb.Found || cb.Entry.TS != "1.1" || cb.Entry.Channel != "C1" || cb.Entry.Fields["ack"] != "alice" {
			t.Fatalf("b's claim = %+v, want a's message and fields", cb)
		}
		if err := cb.Done(t.Context(), cb.Entry, true); err != nil {
			t.Fatal(err)
		}
		// The HA pair's second copy of the resolved notification.
		if c := begin(t, a, "g", "resolved-1"); !c.Duplicate {
			t.Fatalf("late copy of resolved = %+v, want a duplicate", c)
		}
		// Firing again after resolve: a new message.
		time.Sleep(time.Minute)
		if c := begin(t, a, "g", "firing-2"); c.Found || c.Duplicate {
			t.Fatalf("firing after resolve = %+v, want a new message", c)
		}
	})
}

// Alertmanager's repeat_interval sends the same notification hours later:
// not a duplicate, an update of the message.
func TestRepeatAfterTheDedupeWindowUpdates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := kubetest.New()
		a := newStore(t, api, "a")
		if err := begin(t, a, "g", "firing-1").Done(t.Context(), state.Entry{Channel: "C1", TS: "1.1"}, false); err != nil {
			t.Fatal(err)
		}
		time.Sleep(4 * time.Hour)
		c := begin(t, newStore(t, api, "b"), "g", "firing-1")
		if c.Duplicate || !c.Found || c.Entry.TS != "1.1" {
			t.Fatalf("repeat = %+v, want an update of 1.1", c)
		}
	})
}

func TestAbortLetsARetryClaim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := kubetest.New()
		a, b := newStore(t, api, "a"), newStore(t, api, "b")
		begin(t, a, "g", "firing-1").Abort(t.Context())
		c := begin(t, b, "g", "firing-1")
		if c.Duplicate || c.Found {
			t.Fatalf("retry after a failed post = %+v, want a claim to post", c)
		}
	})
}

// A replica that died mid-delivery holds the group only for ClaimTimeout.
func TestAbandonedClaimIsTakenOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := kubetest.New()
		a, b := newStore(t, api, "a"), newStore(t, api, "b")
		ca := begin(t, a, "g", "firing-1") // a stalls here
		start := time.Now()
		c := begin(t, b, "g", "firing-1")
		if waited := time.Since(start); waited < 30*time.Second || waited > 31*time.Second {
			t.Errorf("b waited %s, want the claim timeout (30s)", waited)
		}
		if c.Duplicate {
			t.Fatal("an unfinished claim counted as delivered")
		}
		// a's post may have reached Slack: b's claim names a's, to look for it.
		if c.ID == "" || c.ID == ca.ID || len(c.Unrecorded) != 1 || c.Unrecorded[0] != ca.ID || !c.UnrecordedSince.Equal(start) {
			t.Errorf("b's claim %q inherits %v since %s, want a's claim %q since %s", c.ID, c.Unrecorded, c.UnrecordedSince, ca.ID, start)
		}
		// a's late Done must not overwrite b's claim.
		if err := ca.Done(t.Context(), state.Entry{Channel: "C", TS: "9.9"}, false); err == nil {
			t.Error("a's Done after the takeover succeeded")
		}
		ctx, cancel := context.WithTimeout(t.Context(), 8*time.Second)
		defer cancel()
		if _, err := b.Begin(ctx, "g", "firing-1", nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a third claim while b holds it: %v, want to wait until the deadline", err)
		}
	})
}

func TestSweepExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := kubetest.New()
		s := newStore(t, api, "a")
		ctx := t.Context()
		if err := begin(t, s, "resolved", "r").Done(ctx, state.Entry{Channel: "C", TS: "1"}, true); err != nil {
			t.Fatal(err)
		}
		if err := begin(t, s, "firing", "f").Done(ctx, state.Entry{Channel: "C", TS: "2"}, false); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("sweep of fresh records: %d, %v", n, err)
		}
		time.Sleep(time.Hour + time.Second)
		if n, err := s.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("sweep after the resolved window: %d deleted, %v; want 1", n, err)
		}
		time.Sleep(168 * time.Hour)
		if n, err := s.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("sweep after the TTL: %d deleted, %v; want 1", n, err)
		}
	})
}

// The figures docs/bridge.md gives.
func TestAPICallsPerNotification(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := kubetest.New()
		s := newStore(t, api, "a")
		ctx := t.Context()
		step := func(name string, want int, f func()) {
			before := api.Calls()
			f()
			if got := api.Calls() - before; got != want {
				t.Errorf("%s: %d API calls, want %d", name, got, want)
			}
		}
		step("first notification", 3, func() {
			_ = begin(t, s, "g", "f1").Done(ctx, state.Entry{Channel: "C", TS: "1"}, false)
		})
		step("update", 3, func() {
			_ = begin(t, s, "g", "f2").Done(ctx, state.Entry{Channel: "C", TS: "1"}, false)
		})
		step("duplicate", 1, func() { begin(t, s, "g", "f2") })
	})
}

func TestPartitionedReplicaFails(t *testing.T) {
	api := kubetest.New()
	c := api.NewClient()
	s, _ := New(Config{Client: c, Namespace: ns, Identity: "a", ClaimTimeout: time.Second, ResolvedWindow: time.Hour, TTL: time.Hour})
	c.Partition(true)
	if _, err := s.Begin(t.Context(), "g", "k", nil); !errors.Is(err, kubetest.ErrPartitioned) {
		t.Fatalf("err = %v", err)
	}
}

// FuzzDecodeRecord: any ConfigMap content decodes to a record or an error,
// and a decoded record survives a round trip.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(`{"channel":"C1","ts":"1.1","notification":"k","phase":"sent","holder":"a","updated":"2026-11-30T00:00:00Z"}`)
	f.Add(`{"phase":"sending","fields":{"ack":"alice"},"resolved":"2026-11-30T00:00:00Z"}`)
	f.Add(`{"phase":"lost"}`)
	f.Add(`not json`)
	f.Fuzz(func(t *testing.T, data string) {
		r, err := decodeRecord(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeRecord(string(b)); err != nil {
			t.Fatalf("round trip of %q: %v", data, err)
		}
	})
}

func TestUnreadableRecordIsReplaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := kubetest.New()
		s := newStore(t, api, "a")
		begin(t, s, "g", "f1").Abort(t.Context())
		c := api.NewClient()
		cm, err := c.CoreV1().ConfigMaps(ns).Get(t.Context(), Name("g"), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data[keyRecord] = "{broken"
		if _, err := c.CoreV1().ConfigMaps(ns).Update(t.Context(), cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if cl := begin(t, s, "g", "f1"); cl.Found || cl.Duplicate {
			t.Fatalf("claim over an unreadable record = %+v, want a fresh one", cl)
		}
	})
}

// A peer Alertmanager's late firing copy of alerts the group's last
// notification resolved (issue 20): stale, no claim, the resolved record
// unchanged. A newer instance of the same alert is a real re-fire.
func TestLateFiringCopyAfterResolveIsStale(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a1 := state.Instance{Fingerprint: "aaa", StartsAt: t0}
	b1 := state.Instance{Fingerprint: "bbb", StartsAt: t0}
	tests := []struct {
		name      string
		resolved  []state.Instance
		after     time.Duration
		firing    []state.Instance
		wantStale bool
	}{
		{name: "same instance", resolved: []state.Instance{a1, b1}, after: 10 * time.Second, firing: []state.Instance{a1}, wantStale: true},
		{name: "all resolved instances", resolved: []state.Instance{a1, b1}, after: 10 * time.Second, firing: []state.Instance{b1, a1}, wantStale: true},
		{name: "newer startsAt is a re-fire", resolved: []state.Instance{a1}, after: 10 * time.Second, firing: []state.Instance{{Fingerprint: "aaa", StartsAt: t0.Add(time.Minute)}}},
		{name: "one new alert among them", resolved: []state.Instance{a1}, after: 10 * time.Second, firing: []state.Instance{a1, b1}},
		{name: "no alerts in the notification", resolved: []state.Instance{a1}, after: 10 * time.Second},
		{name: "after the resolved window", resolved: []state.Instance{a1}, after: 2 * time.Hour, firing: []state.Instance{a1}},
		{name: "too many resolved to keep", resolved: manyInstances(state.MaxResolvedInstances+1, t0), after: 10 * time.Second, firing: []state.Instance{{Fingerprint: "fp-0", StartsAt: t0}}},
		{name: "as many as kept", resolved: manyInstances(state.MaxResolvedInstances, t0), after: 10 * time.Second, firing: []state.Instance{{Fingerprint: "fp-0", StartsAt: t0}}, wantStale: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				api := kubetest.New()
				a, b := newStore(t, api, "a"), newStore(t, api, "b")
				if err := begin(t, a, "g", "firing-1").Done(t.Context(), state.Entry{Channel: "C1", TS: "1.1"}, false); err != nil {
					t.Fatal(err)
				}
				c := begin(t, a, "g", "resolved-1")
				if err := c.Done(t.Context(), state.Entry{Channel: "C1", TS: "1.1", ResolvedAlerts: tc.resolved}, true); err != nil {
					t.Fatal(err)
				}
				before := recordOf(t, api)
				time.Sleep(tc.after)
				got, err := b.Begin(t.Context(), "g", "firing-late", tc.firing)
				if err != nil {
					t.Fatal(err)
				}
				if got.Stale != tc.wantStale || got.Duplicate || got.Found {
					t.Fatalf("claim = %+v, want stale %v and no message to update", got, tc.wantStale)
				}
				if tc.wantStale {
					if after := recordOf(t, api); after != before {
						t.Errorf("a stale copy changed the resolved record:\n%s\n%s", before, after)
					}
					// The copy from the other Alertmanager, on the other replica: stale as well.
					if again, _ := a.Begin(t.Context(), "g", "firing-late", tc.firing); !again.Stale {
						t.Errorf("second stale copy = %+v", again)
					}
				}
			})
		})
	}
}

func manyInstances(n int, at time.Time) []state.Instance {
	out := make([]state.Instance, n)
	for i := range out {
		out[i] = state.Instance{Fingerprint: "fp-" + strconv.Itoa(i), StartsAt: at}
	}
	return out
}

// recordOf is the record of group "g" as stored.
func recordOf(t *testing.T, api *kubetest.API) string {
	t.Helper()
	cm, err := api.NewClient().CoreV1().ConfigMaps(ns).Get(t.Context(), Name("g"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data[keyRecord]
}

// Records written before ResolvedAlerts existed still load.
func TestOldResolvedRecordLoads(t *testing.T) {
	r, err := decodeRecord(`{"channel":"C1","ts":"1.1","notification":"resolved-1","phase":"sent","holder":"a","updated":"2026-01-01T00:00:00Z","resolved":"2026-01-01T00:00:00Z"}`)
	if err != nil || r.Resolved.IsZero() || r.ResolvedAlerts != nil {
		t.Fatalf("old record = %+v, %v", r, err)
	}
}
