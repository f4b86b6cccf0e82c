package argocdsim

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// The client's decoders read the simulator's answers as they read Argo CD's.
func whyClient(t *testing.T, f *fixture) *argocd.Client {
	t.Helper()
	c, err := argocd.NewClient(argocd.Config{APIURL: f.url, Token: secret.Static(testToken), DialContext: f.client.Transport.(*http.Transport).DialContext}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestResourceTreeShowsFailingPod(t *testing.T) {
	tests := []struct {
		app         string
		wantFailing bool
		wantPodMsg  string
	}{
		{AppHealthy, false, ""},
		{AppStuck, true, "back-off 5m0s restarting failed container"},
	}
	for _, tt := range tests {
		t.Run(tt.app, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, Config{})
				c := whyClient(t, f)
				ctx := context.Background()
				nodes, err := c.ResourceTree(ctx, tt.app, Namespace)
				if err != nil {
					t.Fatal(err)
				}
				var pod, dep *argocd.TreeNode
				for i := range nodes {
					switch {
					case nodes[i].Kind == "Pod":
						pod = &nodes[i]
					case nodes[i].Kind == "Deployment" && dep == nil:
						dep = &nodes[i]
					}
				}
				if pod == nil || dep == nil || pod.UID == "" || len(pod.ParentUIDs) != 1 {
					t.Fatalf("no Deployment/Pod with uid and owner in the tree: %+v", nodes)
				}
				if got := pod.Health == argocd.HealthDegraded; got != tt.wantFailing {
					t.Fatalf("pod health %s", pod.Health)
				}
				if !strings.Contains(pod.HealthMessage, tt.wantPodMsg) {
					t.Errorf("pod message %q", pod.HealthMessage)
				}
				evs, err := c.Events(ctx, tt.app, Namespace, pod.ResourceRef)
				if err != nil {
					t.Fatal(err)
				}
				warnings := 0
				for _, e := range evs {
					if e.Type == "Warning" {
						warnings++
					}
					if e.Object.UID != pod.UID || e.Last.IsZero() {
						t.Errorf("event %+v is not the pod's or has no time", e)
					}
				}
				if (warnings > 0) != tt.wantFailing {
					t.Errorf("%d warnings", warnings)
				}
			})
		})
	}
}

func TestDegradesAppPodFailsLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{DegradeAfter: time.Minute})
		c := whyClient(t, f)
		pod := func() argocd.TreeNode {
			nodes, err := c.ResourceTree(context.Background(), AppDegrades, Namespace)
			if err != nil {
				t.Fatal(err)
			}
			return nodes[len(nodes)-1]
		}
		if p := pod(); p.Health != argocd.HealthHealthy {
			t.Fatalf("before DegradeAfter: pod %s", p.Health)
		}
		time.Sleep(2 * time.Minute)
		p := pod()
		if p.Health != argocd.HealthDegraded {
			t.Fatalf("after DegradeAfter: pod %s", p.Health)
		}
		evs, err := c.Events(context.Background(), AppDegrades, Namespace, p.ResourceRef)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 || evs[len(evs)-1].Reason != "BackOff" || !strings.Contains(evs[len(evs)-1].Message, "Back-off restarting failed container") {
			t.Errorf("events %+v", evs)
		}
	})
}

func TestEventsNeedAResourceOfTheApp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{})
		code, b := f.do(t, http.MethodGet, "/api/v1/applications/stuck/events?resourceName=other&resourceNamespace=x&resourceUID=u", "", nil)
		if code != http.StatusBadRequest || !strings.Contains(string(b), "not found as part of application stuck") {
			t.Fatalf("%d %s", code, b)
		}
		if code, _ := f.do(t, http.MethodGet, "/api/v1/applications/nope/resource-tree", "", nil); code != http.StatusForbidden {
			t.Errorf("tree of a missing app without project: %d, want 403", code)
		}
	})
}

func TestRevisionMetadataAndFailedSync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{SyncPickup: -1, SyncDuration: time.Second})
		c := whyClient(t, f)
		ctx := context.Background()
		if err := c.Sync(ctx, argocd.SyncRequest{Name: AppStuck, Project: ScenarioProject}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		d, err := c.GetDetail(ctx, AppStuck, Namespace, ScenarioProject)
		if err != nil {
			t.Fatal(err)
		}
		op := d.Operation
		if op == nil || op.Phase != argocd.PhaseFailed || !strings.Contains(op.Message, "failed to apply") || op.Username != Username ||
			len(op.FailedItems) == 0 || op.FailedItems[0].Status != "SyncFailed" {
			t.Fatalf("operation %+v", op)
		}
		if d.Sync != argocd.SyncOutOfSync || len(d.OutOfSync) != 1 || len(d.Revisions) != 1 || len(d.RepoURLs) != 1 {
			t.Fatalf("detail %+v", d)
		}
		m, err := c.RevisionMetadata(ctx, AppStuck, Namespace, d.Revisions[0], -1)
		if err != nil {
			t.Fatal(err)
		}
		if m.Author != CommitAuthor || !strings.HasPrefix(m.Message, CommitMessageStuck) || m.Date.IsZero() {
			t.Errorf("metadata %+v", m)
		}
		if _, err := c.RevisionMetadata(ctx, AppStuck, Namespace, "0123456789abcdef0123456789abcdef01234567", -1); err == nil {
			t.Error("an unknown revision has metadata")
		}
	})
}
