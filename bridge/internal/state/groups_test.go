package state

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"testing/synctest"
	"time"
)

// A peer Alertmanager's late firing copy of alerts the group's last
// notification resolved (issue 20): stale, the resolved record unchanged,
// across a restart too. A newer instance of the same alert is a re-fire.
func TestLateFiringCopyAfterResolveIsStale(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a1 := Instance{Fingerprint: "aaa", StartsAt: t0}
	b1 := Instance{Fingerprint: "bbb", StartsAt: t0}
	many := func(n int) []Instance {
		out := make([]Instance, n)
		for i := range out {
			out[i] = Instance{Fingerprint: "fp-" + strconv.Itoa(i), StartsAt: t0}
		}
		return out
	}
	tests := []struct {
		name      string
		resolved  []Instance
		after     time.Duration
		firing    []Instance
		wantStale bool
	}{
		{name: "same instance", resolved: []Instance{a1, b1}, after: 10 * time.Second, firing: []Instance{a1}, wantStale: true},
		{name: "all resolved instances", resolved: []Instance{a1, b1}, after: 10 * time.Second, firing: []Instance{b1, a1}, wantStale: true},
		{name: "newer startsAt is a re-fire", resolved: []Instance{a1}, after: 10 * time.Second, firing: []Instance{{Fingerprint: "aaa", StartsAt: t0.Add(time.Minute)}}},
		{name: "one new alert among them", resolved: []Instance{a1}, after: 10 * time.Second, firing: []Instance{a1, b1}},
		{name: "no alerts in the notification", resolved: []Instance{a1}, after: 10 * time.Second},
		{name: "after the resolved window", resolved: []Instance{a1}, after: 2 * time.Hour, firing: []Instance{a1}},
		{name: "too many resolved to keep", resolved: many(MaxResolvedInstances + 1), after: 10 * time.Second, firing: []Instance{{Fingerprint: "fp-0", StartsAt: t0}}},
		{name: "as many as kept", resolved: many(MaxResolvedInstances), after: 10 * time.Second, firing: []Instance{{Fingerprint: "fp-0", StartsAt: t0}}, wantStale: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "state.json")
				s, err := Open(path, 24*time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				ctx := t.Context()
				c, _ := s.Begin(ctx, "g", "firing-1", []Instance{a1})
				if err := c.Done(ctx, Entry{Channel: "C1", TS: "1.1"}, false); err != nil {
					t.Fatal(err)
				}
				c, _ = s.Begin(ctx, "g", "resolved-1", nil)
				if !c.Found || c.Stale {
					t.Fatalf("resolving claim = %+v", c)
				}
				if err := c.Done(ctx, Entry{Channel: "C1", TS: "1.1", ResolvedAlerts: tc.resolved}, true); err != nil {
					t.Fatal(err)
				}
				before, _ := os.ReadFile(path)
				time.Sleep(tc.after)
				for _, st := range []*Store{s, reopen(t, path)} {
					got, err := st.Begin(ctx, "g", "firing-late", tc.firing)
					if err != nil {
						t.Fatal(err)
					}
					if got.Stale != tc.wantStale || got.Found {
						t.Fatalf("claim = %+v, want stale %v and no message to update", got, tc.wantStale)
					}
				}
				if after, _ := os.ReadFile(path); tc.wantStale && string(after) != string(before) {
					t.Errorf("a stale copy changed the state:\n%s\n%s", before, after)
				}
			})
		})
	}
}

// After a real re-fire posted a new message, its resolved instances are
// forgotten: the group is a new incident.
func TestRefireForgetsResolvedInstances(t *testing.T) {
	s, _ := Open("", time.Hour)
	ctx := t.Context()
	a1 := Instance{Fingerprint: "aaa", StartsAt: time.Unix(1, 0)}
	c, _ := s.Begin(ctx, "g", "resolved-1", nil)
	if err := c.Done(ctx, Entry{ResolvedAlerts: []Instance{a1}}, true); err != nil {
		t.Fatal(err)
	}
	c, _ = s.Begin(ctx, "g", "firing-2", []Instance{{Fingerprint: "aaa", StartsAt: time.Unix(2, 0)}})
	if c.Stale {
		t.Fatal("re-fire is stale")
	}
	if err := c.Done(ctx, Entry{Channel: "C", TS: "2.2"}, false); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Begin(ctx, "g", "firing-1", []Instance{a1}); c.Stale || !c.Found {
		t.Fatalf("claim after the re-fire = %+v, want the live message", c)
	}
}

// Files written before resolved groups were kept still load.
func TestOldStateFileLoads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	old := `{"version":1,"entries":{"g":{"channel":"C1","ts":"1.1","updated":"2099-01-01T00:00:00Z"}}}`
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	s := reopen(t, path)
	if e, ok := s.Get("g"); !ok || e.TS != "1.1" {
		t.Fatalf("old entry = %+v, %v", e, ok)
	}
	if c, _ := s.Begin(t.Context(), "g", "k", []Instance{{Fingerprint: "a"}}); c.Stale || !c.Found {
		t.Fatalf("claim = %+v", c)
	}
}

func reopen(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
