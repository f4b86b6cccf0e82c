//go:build e2ereal

package e2ereal

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/realargocd"
)

// streamLatency is the claim under test: a change Argo CD's API shows reaches the exporter's
// metrics this fast through the watch stream.
const streamLatency = 2 * time.Second

// streamProbe is how often both sides are read: small against streamLatency, so the measured
// delay is off by at most this much.
const streamProbe = 50 * time.Millisecond

// startWatchOnlyExporter starts a second exporter with the read-only token whose poll and
// resync intervals are an hour: after its first List only the stream can change its metrics.
func (e *realE2E) startWatchOnlyExporter(tokenFile string) (*proc.Proc, string) {
	e.t.Helper()
	port, err := proc.FreePort()
	if err != nil {
		e.t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p, err := proc.Start(proc.Config{Name: "argocd-exporter-readonly", Bin: env.bins.Exporter, LogPath: filepath.Join(filepath.Dir(tokenFile), "exporter.log"), Args: []string{
		"--argocd.api=" + env.argo.URL, "--argocd.token-file=" + tokenFile,
		"--argocd.watch", "--argocd.poll-interval=1h", "--argocd.resync-interval=1h", "--argocd.stale-after=2h",
		"--web.listen-address=" + addr, "--remediation.grace=1s",
	}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { p.Stop(5 * time.Second) })
	if err := p.WaitReady(e.ctx, "http://"+addr+"/-/ready", time.Minute); err != nil {
		e.t.Fatal(err)
	}
	return p, "http://" + addr
}

// A drift made in the cluster turns fixable OutOfSync; the watch-only exporter's metric says so
// within streamLatency of the moment Argo CD's own GET first shows it, with its stream up and
// no List in between (its poll interval is an hour).
func (e *realE2E) streamReachesMetrics(exporterURL string) {
	e.t.Helper()
	syncSeries := map[string]string{"name": realargocd.AppFixable, "sync_status": "OutOfSync"}
	e.eventually("the watch-only exporter's stream is up and fixable is Synced there", time.Minute, func() (bool, string) {
		up, _ := e.valueAt(exporterURL, "argocd_monitor_watch_up", nil)
		out, _ := e.valueAt(exporterURL, "argocd_monitor_app_sync_status", syncSeries)
		return up == 1 && out == 0, fmt.Sprintf("watch_up %v, OutOfSync %v", up, out)
	})
	lists, _ := e.valueAt(exporterURL, "argocd_monitor_api_requests_total", map[string]string{"endpoint": "list", "code": "200"})

	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	argoSaw, exporterSaw := make(chan time.Time, 1), make(chan time.Time, 1)
	go probe(ctx, argoSaw, func() bool {
		status, b, err := argoRequest(ctx, env.argo.URL, http.MethodGet, "/api/v1/applications/"+realargocd.AppFixable, env.adminToken, "")
		var a application
		return err == nil && status == http.StatusOK && json.Unmarshal(b, &a) == nil && a.Status.Sync.Status == "OutOfSync"
	})
	go probe(ctx, exporterSaw, func() bool {
		v, _ := e.valueAt(exporterURL, "argocd_monitor_app_sync_status", syncSeries)
		return v == 1
	})
	drift := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n  value: drifted-again\n",
		realargocd.AppFixable, realargocd.AppsNamespace)
	drifted := time.Now()
	if err := env.argo.Applier.Apply(ctx, []byte(drift), false); err != nil {
		e.t.Fatal(err)
	}
	var tArgo, tExp time.Time
	for tArgo.IsZero() || tExp.IsZero() {
		select {
		case tArgo = <-argoSaw:
		case tExp = <-exporterSaw:
		case <-ctx.Done():
			e.t.Fatalf("fixable OutOfSync: Argo CD at %v, exporter at %v (zero: not within a minute)", tArgo, tExp)
		}
	}
	delay := tExp.Sub(tArgo)
	e.t.Logf("[%5.1fs] fixable OutOfSync: Argo CD's GET showed it %s after the drift, the exporter %s (%s later, at most %s allowed)",
		time.Since(e.start).Seconds(), tArgo.Sub(drifted).Round(time.Millisecond), tExp.Sub(drifted).Round(time.Millisecond), delay.Round(time.Millisecond), streamLatency)
	if delay > streamLatency {
		e.t.Errorf("the exporter showed fixable OutOfSync %s after Argo CD did, want at most %s", delay, streamLatency)
	}
	if up, _ := e.valueAt(exporterURL, "argocd_monitor_watch_up", nil); up != 1 {
		e.t.Errorf("watch_up %v after the change, want 1", up)
	}
	if now, _ := e.valueAt(exporterURL, "argocd_monitor_api_requests_total", map[string]string{"endpoint": "list", "code": "200"}); now != lists {
		e.t.Errorf("the exporter listed %v times during the change, want 0: only the stream may explain it", now-lists)
	}
}

// probe calls seen every streamProbe until it is true and sends the time it first was.
func probe(ctx context.Context, out chan<- time.Time, seen func() bool) {
	t := time.NewTicker(streamProbe)
	defer t.Stop()
	for {
		if seen() {
			out <- time.Now()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
