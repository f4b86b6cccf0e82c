package server

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
)

// changes remembers, per Alertmanager group, which alerts its last delivered notification held,
// so the thread reply of an updated message says what changed ("ArgoCDAppRemediationPaused
// fired; ArgoCDAppSyncFailed resolved") instead of repeating the title. Memory only: after a
// restart, or on the other replica, the reply falls back to the rendered one.
type changes struct {
	mu   sync.Mutex
	last map[string]groupAlerts
	ttl  time.Duration
	now  func() time.Time
}

type groupAlerts struct {
	status map[string]string // alert identity -> firing/resolved
	at     time.Time
}

func newChanges(ttl time.Duration, now func() time.Time) *changes {
	return &changes{last: map[string]groupAlerts{}, ttl: ttl, now: now}
}

// alertID names an alert within its group: its alertname, and its app when the group spans apps.
func alertID(m *notification.Message, labels map[string]string) string {
	id := labels["alertname"]
	if m.GroupLabels["name"] == "" && labels["name"] != "" {
		id += " " + labels["namespace"] + "/" + labels["name"]
	}
	return id
}

func current(m *notification.Message) map[string]string {
	st := make(map[string]string, len(m.Alerts))
	for _, a := range m.Alerts {
		id := alertID(m, a.Labels)
		if st[id] != "firing" { // one firing instance keeps the name firing
			st[id] = a.Status
		}
	}
	return st
}

// describe says what changed since the group's last delivered notification; "" when nothing
// known changed (first notification, or the same alerts).
func (c *changes) describe(m *notification.Message) string {
	c.mu.Lock()
	prev, ok := c.last[m.GroupKey]
	c.mu.Unlock()
	if !ok {
		return ""
	}
	cur := current(m)
	var fired, resolved, gone []string
	for id, st := range cur {
		switch {
		case st == "firing" && prev.status[id] != "firing":
			fired = append(fired, id)
		case st == "resolved" && prev.status[id] == "firing":
			resolved = append(resolved, id)
		}
	}
	for id, st := range prev.status {
		if _, still := cur[id]; !still && st == "firing" {
			gone = append(gone, id) // inhibited, silenced, or dropped by max_alerts
		}
	}
	var parts []string
	for _, x := range []struct {
		ids  []string
		verb string
	}{{fired, "🔴 now firing: "}, {resolved, "✅ resolved: "}, {gone, "➖ no longer in this message (inhibited or silenced): "}} {
		if len(x.ids) > 0 {
			sort.Strings(x.ids)
			if len(x.ids) > 10 {
				x.ids = append(x.ids[:10], "…")
			}
			parts = append(parts, x.verb+strings.Join(x.ids, ", "))
		}
	}
	return strings.Join(parts, "\n")
}

// delivered records the group's alerts once Slack has the message; a resolved group is forgotten.
func (c *changes) delivered(m *notification.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if m.Resolved() {
		delete(c.last, m.GroupKey)
	} else {
		c.last[m.GroupKey] = groupAlerts{status: current(m), at: now}
	}
	if len(c.last) > 1000 { // bound memory: forget groups silent for longer than the TTL
		for k, g := range c.last {
			if now.Sub(g.at) > c.ttl {
				delete(c.last, k)
			}
		}
	}
}
