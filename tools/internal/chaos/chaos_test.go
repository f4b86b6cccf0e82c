package chaos

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestScheduleStable: one seed, one schedule, whenever and wherever it is made (the replay
// promise); another seed, another schedule.
func TestScheduleStable(t *testing.T) {
	a, b := NewSchedule(42, 10*time.Minute), NewSchedule(42, 10*time.Minute)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("seed 42 made two schedules:\n%s\n%s", a, b)
	}
	if reflect.DeepEqual(a.Faults, NewSchedule(43, 10*time.Minute).Faults) {
		t.Fatal("seeds 42 and 43 made the same schedule")
	}
	// Pinned: a change of the generator breaks every printed seed; say so in docs/reliability.md.
	want := NewSchedule(1, 2*time.Minute).Faults[0]
	if got := NewSchedule(1, 2*time.Minute).Faults[0]; got != want || got.At < 12*time.Second {
		t.Fatalf("first fault of seed 1: %v", got)
	}
}

// TestScheduleShape: every fault kind at least once, in time order, inside the fault window,
// never two at once, for the smoke run and the soak.
func TestScheduleShape(t *testing.T) {
	for _, soak := range []time.Duration{2 * time.Minute, 10 * time.Minute, time.Hour} {
		for seed := range uint64(50) {
			s := NewSchedule(seed, soak)
			n := s.Count()
			for _, k := range Kinds {
				if n[k] == 0 {
					t.Fatalf("soak %s seed %d: no %s\n%s", soak, seed, k, s)
				}
			}
			quietFrom := time.Duration(float64(soak) * (1 - Quiet))
			for i, f := range s.Faults {
				if f.At < soak/10 || f.End() > quietFrom || f.For <= 0 || f.Target < 0 || f.Target > 1 {
					t.Fatalf("soak %s seed %d: fault %v outside [%s, %s]\n%s", soak, seed, f, soak/10, quietFrom, s)
				}
				if i > 0 && f.At < s.Faults[i-1].End() {
					t.Fatalf("soak %s seed %d: %v overlaps %v", soak, seed, f, s.Faults[i-1])
				}
			}
		}
	}
	if s := NewSchedule(7, 10*time.Minute).String(); !strings.Contains(s, "SEED=7 SOAK=10m0s make chaos") {
		t.Errorf("the printed schedule does not say how to replay it:\n%s", s)
	}
}

func TestChurnStable(t *testing.T) {
	var eligible []int
	for i := 0; i < 1000; i += 4 {
		eligible = append(eligible, i)
	}
	a := NewChurn(9, 2*time.Minute, eligible, 30*time.Second)
	if !reflect.DeepEqual(a, NewChurn(9, 2*time.Minute, eligible, 30*time.Second)) {
		t.Fatal("seed 9 made two churns")
	}
	open, short, seen := 0, 0, map[string]bool{}
	for _, in := range a {
		if seen[in.App] {
			t.Errorf("%s twice", in.App)
		}
		seen[in.App] = true
		var n int
		if _, err := fmt.Sscanf(in.App, "app-%05d", &n); err != nil || n%4 != 0 {
			t.Errorf("%s is not an eligible app", in.App)
		}
		if in.End == 0 {
			open++
		} else if in.End <= in.Start || in.End > 90*time.Second {
			t.Errorf("incident %+v ends out of order or after the quiet end", in)
		} else if in.End-in.Start < 30*time.Second {
			short++
		}
	}
	if len(a) < 4 || open == 0 || short == 0 {
		t.Errorf("churn of %d incidents, %d open, %d short: want some of each", len(a), open, short)
	}
}

func TestSeedFromEnv(t *testing.T) {
	env := func(v string) func(string) string { return func(string) string { return v } }
	if s, err := SeedFromEnv(env("12345")); err != nil || s != 12345 {
		t.Errorf("SEED=12345: %d %v", s, err)
	}
	if _, err := SeedFromEnv(env("abc")); err == nil {
		t.Error("SEED=abc accepted")
	}
	if d, err := SoakFromEnv(env(""), 10*time.Minute); err != nil || d != 10*time.Minute {
		t.Errorf("default soak: %s %v", d, err)
	}
	if _, err := SoakFromEnv(env("5s"), time.Minute); err == nil {
		t.Error("SOAK=5s accepted")
	}
}

func TestVerify(t *testing.T) {
	const app, other = "app-00001", "app-00002"
	base := func() Check {
		return Check{
			Seed: 5, Now: 5 * time.Minute, Notify: 20 * time.Second, Resolve: 2 * time.Minute, MaxAttempts: 3,
			Incidents: []Incident{{App: app, Start: 10 * time.Second, End: 70 * time.Second}, {App: other, Start: 20 * time.Second, End: 25 * time.Second}},
			Syncs:     map[string]int{app: 3, other: 1},
			Messages: []Message{
				{At: 35 * time.Second, Method: "chat.postMessage", TS: "1.1", Content: "Degraded: argocd/" + app},
				{At: 80 * time.Second, Method: "chat.update", TS: "1.1", Content: "✅ Resolved: argocd/" + app},
				{At: 80 * time.Second, Method: "chat.postMessage", TS: "1.2", ThreadTS: "1.1", Content: "Resolved " + app},
			},
			Processes:      []Process{{Name: "slack-bridge", MaxRSS: 60 << 20, Limit: 128 << 20, GoroutinesStart: 40, GoroutinesEnd: 45}},
			GoroutineSlack: 20,
			Faults:         []Fault{{At: 30 * time.Second, Kind: KillBridge, For: 5 * time.Second}},
		}
	}
	tests := []struct {
		name   string
		change func(c *Check)
		want   []string // invariants violated
	}{
		{"all good", func(*Check) {}, nil},
		{"a fourth sync", func(c *Check) { c.Syncs[app] = 4 }, []string{"max attempts"}},
		{"a standing problem of a fixture: three syncs", func(c *Check) { c.Syncs["app-00002"] = 3; c.Standing = map[string]int{"app-00002": 1} }, nil},
		{"a fixture's fourth sync", func(c *Check) { c.Syncs["app-00003"] = 4; c.Standing = map[string]int{"app-00003": 1} }, []string{"max attempts"}},
		{"two problems, six syncs", func(c *Check) {
			c.Incidents = append(c.Incidents, Incident{App: app, Start: 200 * time.Second, End: 210 * time.Second})
			c.Syncs[app] = 6
		}, nil},
		{"lost", func(c *Check) { c.Messages = c.Messages[1:] }, []string{"one message per incident"}},
		{"duplicated", func(c *Check) {
			c.Messages = append(c.Messages, Message{At: 36 * time.Second, Method: "chat.postMessage", TS: "1.3", Content: app})
		}, []string{"one message per incident"}},
		{"a message before the incident is not its message", func(c *Check) { c.Messages[0].At = 5 * time.Second }, []string{"one message per incident"}},
		{"short incident: no message needed", func(c *Check) { c.Incidents[0].End = 25 * time.Second; c.Messages = nil }, nil},
		{"not resolved", func(c *Check) { c.Messages = c.Messages[:1] }, []string{"resolved in time"}},
		{"resolved too late", func(c *Check) { c.Messages[1].At = 200 * time.Second }, []string{"resolved in time"}},
		{"resolve window not over yet", func(c *Check) { c.Messages = c.Messages[:1]; c.Now = 100 * time.Second }, nil},
		{"open incident: no resolve needed", func(c *Check) { c.Incidents[0].End = 0; c.Messages = c.Messages[:1] }, nil},
		{"over the memory limit", func(c *Check) { c.Processes[0].MaxRSS = 129 << 20 }, []string{"memory"}},
		{"goroutine leak", func(c *Check) { c.Processes[0].GoroutinesEnd = 400 }, []string{"goroutines"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.change(&c)
			res := Verify(c)
			var got []string
			for _, v := range res.Violations {
				got = append(got, v.Invariant)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("violations %v, want %v\n%s", got, tt.want, res.Report(c.Seed))
			}
			if len(got) > 0 {
				r := res.Report(c.Seed)
				if !strings.Contains(r, "SEED=5") {
					t.Errorf("report lacks the seed:\n%s", r)
				}
				if tt.want[0] != "memory" && tt.want[0] != "goroutines" && !strings.Contains(r, "incident begins: "+app) && !strings.Contains(r, "accepted syncs in total") {
					t.Errorf("report lacks the incident's timeline:\n%s", r)
				}
			}
		})
	}
	if res := Verify(base()); res.Notified != 1 || res.Messages != 1 || res.Incidents != 2 {
		t.Errorf("figures: %+v", res)
	}
}
