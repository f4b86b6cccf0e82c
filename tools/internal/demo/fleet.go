package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

// The fleet chapter (issue 22): the simulator's destination FleetDestination, with FleetApps
// apps of one ApplicationSet, becomes unreachable; the bridge posts one message for the cluster,
// not one per app; the cluster comes back and that message resolves in place.
const (
	FleetDestination = "prod-eu"
	FleetApps        = 10
)

// FleetFlag is the simulator's --fleet value for the chapter.
var FleetFlag = fmt.Sprintf("%s=%d", FleetDestination, FleetApps)

// fleet is the chapter's progress.
type fleet struct {
	broken, posted, mended, resolved bool
	post                             stack.SlackRequest
}

func (n *Narrator) stepFleet(ctx context.Context) error {
	f := &n.fleet
	header := "cluster " + FleetDestination + " unreachable"
	switch {
	case !f.broken:
		s, err := n.st.Query(ctx, fmt.Sprintf(`count(argocd_monitor_app_info{dest_server=%q})`, FleetDestination))
		if err != nil || len(s) != 1 || s[0].Value != FleetApps {
			return err // the exporter's first scrape is not in Prometheus yet
		}
		if err := n.st.SetSimDestination(ctx, FleetDestination, false); err != nil {
			return err
		}
		f.broken = true
		n.say("Argo CD: cluster %s becomes unreachable; its %d apps (ApplicationSet %s-apps) go sync Unknown with a ComparisonError, health still Healthy",
			FleetDestination, FleetApps, FleetDestination)
	case !f.posted:
		for _, m := range n.slackPosts() {
			if strings.Contains(m.Content(), header) {
				f.posted, f.post = true, m
				n.say("✔ Slack: ONE message for the cluster, not %d: %q", FleetApps, headerText(m))
			}
		}
	case !f.mended:
		if err := n.st.SetSimDestination(ctx, FleetDestination, true); err != nil {
			return err
		}
		f.mended = true
		n.say("Argo CD: cluster %s is reachable again; its apps are Synced", FleetDestination)
	case !f.resolved:
		msgs, err := n.st.SlackRequests(ctx)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Method == "chat.update" && m.TS == f.post.TS && strings.Contains(m.Content(), "Resolved: "+header) {
				f.resolved = true
				n.say("✔ Slack: the cluster's message is updated in place: %q", headerText(m))
				return nil
			}
		}
	}
	return nil
}

// slackPosts are the top-level messages the fake Slack accepted.
func (n *Narrator) slackPosts() []stack.SlackRequest {
	msgs, err := n.st.SlackRequests(context.Background())
	if err != nil {
		return nil
	}
	var out []stack.SlackRequest
	for _, m := range msgs {
		if m.Result == "ok" && m.Method == "chat.postMessage" && m.ThreadTS == "" {
			out = append(out, m)
		}
	}
	return out
}

// headerText is a message's fallback text: its header.
func headerText(m stack.SlackRequest) string { return m.Text }
