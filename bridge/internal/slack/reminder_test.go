package slack

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slackfake"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/state"
)

func TestReminderDue(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	h := time.Hour
	for _, tc := range []struct {
		name     string
		interval time.Duration
		since    time.Time
		now      time.Time
		sent     int
		due      int
		ok       bool
	}{
		{"before the first interval", 4 * h, t0, t0.Add(3*h + 59*time.Minute), 0, 0, false},
		{"first interval passed", 4 * h, t0, t0.Add(4 * h), 0, 1, true},
		{"first reminder sent already", 4 * h, t0, t0.Add(5 * h), 1, 1, false},
		{"second interval", 4 * h, t0, t0.Add(8*h + time.Minute), 1, 2, true},
		{"missed several: one reminder, the latest", 4 * h, t0, t0.Add(13 * h), 0, 3, true},
		{"off", 0, t0, t0.Add(100 * h), 0, 0, false},
		{"nothing firing", 4 * h, time.Time{}, t0, 0, 0, false},
		{"clock before since", 4 * h, t0, t0.Add(-h), 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			due, ok := reminderDue(tc.interval, tc.since, tc.now, tc.sent)
			if ok != tc.ok || (ok && due != tc.due) {
				t.Fatalf("reminderDue = %d, %v; want %d, %v", due, ok, tc.due, tc.ok)
			}
		})
	}
}

// TestReminderInThread: a group still firing 4h after it started gets "⏰ Still firing for 4h"
// in its thread with the next update, once per interval, never as a new top-level message.
func TestReminderInThread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "bot", 0)
		r.d.opt.ReminderInterval = 4 * time.Hour     // the clock is the bubble's: time.Now
		store, err := state.Open("", 7*24*time.Hour) // the group outlives the story
		if err != nil {
			t.Fatal(err)
		}
		r.d.state = store
		seq := 0
		since := time.Now()
		note := func() Notification {
			n := r.note("g", false)
			n.Message = &render.Message{Text: "🔴 cluster prod-eu unreachable: 30 apps", Color: render.ColorCritical, Reply: "🔴 Still firing: ArgoCDDestinationDown"}
			n.FiringSince = since
			seq++
			n.Key = fmt.Sprint("notification-", seq)
			return n
		}
		deliver := func() {
			t.Helper()
			if err := r.d.Deliver(context.Background(), note()); err != nil {
				t.Fatal(err)
			}
		}
		replies := func() []string {
			var out []string
			for _, m := range r.fake.Requests() {
				if m.Method == slackfake.MethodPost && m.ThreadTS != "" {
					out = append(out, m.Text)
				}
			}
			return out
		}
		deliver() // the post
		time.Sleep(2 * time.Hour)
		deliver() // an update within the first interval: no reminder
		time.Sleep(2 * time.Hour)
		deliver() // 4h: the reminder
		time.Sleep(time.Hour)
		deliver() // 5h: reminded already
		time.Sleep(3 * time.Hour)
		deliver() // 8h: the second
		got := replies()
		want := []string{
			"🔴 Still firing: ArgoCDDestinationDown",
			"⏰ Still firing for 4h: 🔴 cluster prod-eu unreachable: 30 apps\n🔴 Still firing: ArgoCDDestinationDown",
			"🔴 Still firing: ArgoCDDestinationDown",
			"⏰ Still firing for 8h: 🔴 cluster prod-eu unreachable: 30 apps\n🔴 Still firing: ArgoCDDestinationDown",
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("thread replies:\n%q\nwant\n%q", got, want)
		}
		tops := 0
		for _, m := range r.fake.Requests() {
			if m.Method == slackfake.MethodPost && m.ThreadTS == "" {
				tops++
			}
		}
		if tops != 1 {
			t.Fatalf("%d top-level posts, want 1", tops)
		}
	})
}
