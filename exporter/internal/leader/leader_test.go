package leader

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/argocd-monitor/argocd-monitor/exporter/kubetest"
)

const (
	lease   = 15 * time.Second
	renew   = 10 * time.Second
	retry   = 2 * time.Second
	lockNS  = "argocd-monitor"
	lockNam = "argocd-exporter-remediation"
)

func newElector(t *testing.T, c *kubetest.Client, id string) *Elector {
	t.Helper()
	e, err := New(Config{Client: c, Namespace: lockNS, Name: lockNam, Identity: id,
		LeaseDuration: lease, RenewDeadline: renew, RetryPeriod: retry})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// replica runs one elector until stopped.
type replica struct {
	e      *Elector
	c      *kubetest.Client
	cancel context.CancelFunc
	done   sync.WaitGroup
}

func start(t *testing.T, api *kubetest.API, id string) *replica {
	r := &replica{c: api.NewClient()}
	r.e = newElector(t, r.c, id)
	ctx, cancel := context.WithCancel(t.Context())
	r.cancel = cancel
	r.done.Go(func() { _ = r.e.Run(ctx) })
	return r
}

func (r *replica) stop() { r.cancel(); r.done.Wait() }

func leading(e *Elector) bool { _, ok := e.Leading(); return ok }

// waitFor steps the fake clock until cond holds and returns how long it took.
func waitFor(t *testing.T, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("condition not met within %s", limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start)
}

func TestOneLeaderThenHandOverOnRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := kubetest.New()
		a := start(t, api, "a")
		waitFor(t, 5*time.Second, func() bool { return leading(a.e) })
		b := start(t, api, "b")
		time.Sleep(3 * lease)
		if !leading(a.e) || leading(b.e) {
			t.Fatalf("leading a=%v b=%v, want only a", leading(a.e), leading(b.e))
		}
		if err := testutil.CollectAndCompare(a.e, strings.NewReader(`
# HELP argocd_monitor_leader 1 while this replica holds the leader Lease and may remediate, 0 otherwise.
# TYPE argocd_monitor_leader gauge
argocd_monitor_leader 1
`)); err != nil {
			t.Error(err)
		}
		if err := testutil.CollectAndCompare(b.e, strings.NewReader(`
# HELP argocd_monitor_leader 1 while this replica holds the leader Lease and may remediate, 0 otherwise.
# TYPE argocd_monitor_leader gauge
argocd_monitor_leader 0
`)); err != nil {
			t.Error(err)
		}
		// A graceful stop (rolling update) releases the Lease: b takes over
		// at its next retry, not after the lease duration.
		a.stop()
		if leading(a.e) {
			t.Error("a still leading after stop")
		}
		took := waitFor(t, lease, func() bool { return leading(b.e) })
		if took > time.Duration(leaderJitter*float64(retry))+time.Second {
			t.Errorf("b took %s to lead after a released the Lease", took)
		}
		b.stop()
	})
}

const leaderJitter = 2.2 // wait.JitterUntil: retry period x (1 + JitterFactor)

// A leader cut off from the API must stop acting before anyone else can
// start: the property that keeps two replicas from remediating at once.
func TestPartitionedLeaderStopsBeforeTakeover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := kubetest.New()
		a := start(t, api, "a")
		waitFor(t, 5*time.Second, func() bool { return leading(a.e) })
		b := start(t, api, "b")
		time.Sleep(lease + retry/2) // mid-way between renewals

		a.c.Partition(true)
		cut := time.Now()
		var aStopped, bStarted time.Time
		var aUntil time.Time
		for aStopped.IsZero() || bStarted.IsZero() {
			if time.Since(cut) > 3*lease {
				t.Fatalf("after %s: a stopped at %v, b started at %v", time.Since(cut), aStopped, bStarted)
			}
			if until, ok := a.e.Leading(); ok {
				aUntil = until
				if !bStarted.IsZero() {
					t.Fatalf("a and b both leading at %s after the partition", time.Since(cut))
				}
			} else if aStopped.IsZero() {
				aStopped = time.Now()
			}
			if bStarted.IsZero() && leading(b.e) {
				bStarted = time.Now()
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !aStopped.Before(bStarted) {
			t.Errorf("a stopped %s after the partition, b started %s after it", aStopped.Sub(cut), bStarted.Sub(cut))
		}
		if bStarted.Before(aUntil) {
			t.Errorf("b started %s before the end a promised its sync calls (%s)", aUntil.Sub(bStarted), aUntil.Sub(cut))
		}
		// b measures the lease from when it observed a's last renewal (at one of
		// its jittered retries, up to leaderJitter x retry after the renewal),
		// and notices the expiry at another jittered retry: two retries at most.
		if took := bStarted.Sub(cut); took > lease+time.Duration(2*leaderJitter*float64(retry))+time.Second {
			t.Errorf("b took %s to take over, want within the lease duration plus two retries", took)
		}
		a.c.Partition(false)
		time.Sleep(2 * lease)
		if leading(a.e) || !leading(b.e) {
			t.Errorf("after healing: a=%v b=%v, want only b", leading(a.e), leading(b.e))
		}
		a.stop()
		b.stop()
	})
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Namespace: "ns", Name: "n", Identity: "id", LeaseDuration: lease, RenewDeadline: renew, RetryPeriod: retry}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"ok", func(*Config) {}, ""},
		{"renew not shorter than lease", func(c *Config) { c.RenewDeadline = lease }, "--leader-elect-renew-deadline"},
		{"retry too long", func(c *Config) { c.RetryPeriod = 9 * time.Second }, "--leader-elect-retry-period"},
		{"sub-second lease", func(c *Config) { c.LeaseDuration = 500 * time.Millisecond }, "--leader-elect-lease-duration"},
		{"no namespace", func(c *Config) { c.Namespace = "" }, "--leader-elect-resource-namespace"},
		{"no name", func(c *Config) { c.Name = "" }, "--leader-elect-resource-name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want mention of %s", err, tc.want)
			}
		})
	}
}
