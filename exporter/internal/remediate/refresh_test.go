package remediate

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// refreshingArgo is fakeArgo that also answers hard refreshes: the app is reconciled now
// (stale: its reconciledAt stays behind, as when the repo server is slow).
type refreshingArgo struct {
	*fakeArgo
	stale     bool
	refreshes []time.Duration
}

func (r *refreshingArgo) HardRefresh(_ context.Context, ref argocd.AppRef) (argocd.App, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refreshes = append(r.refreshes, time.Since(t0))
	a := r.apps[ref.AppNamespace+"/"+ref.Name]
	if !r.stale {
		a.app.ReconciledAt = time.Now()
	}
	return a.app, nil
}

func refreshScenario(t *testing.T, policy, failMsg string, stale bool) (*scenario, *refreshingArgo) {
	cfg := testConfig()
	cfg.HardRefresh = policy
	s := newScenario(t, cfg)
	r := &refreshingArgo{fakeArgo: s.fake, stale: stale}
	s.eng = s.newEngine(r)
	s.fake.add(&fakeApp{app: outOfSync("stale"), failMsg: failMsg})
	s.run(30 * time.Minute)
	return s, r
}

func TestHardRefreshBeforeRetry(t *testing.T) {
	const stale = "ComparisonError: Failed to load target state: failed to generate manifest for source 1 of 1: rpc error: code = Unknown desc = Manifest generation error (cached): kustomize build failed"
	const denied = `one or more objects failed to apply, reason: admission webhook "validate.kyverno.svc" denied the request`
	for _, tc := range []struct {
		name, policy, msg string
		stale             bool
		refreshes         []time.Duration
		syncs             []time.Duration
	}{
		// Each failure is read at the poll after the operation ran; the refresh runs during the
		// backoff and the retry follows at the next poll, once the app was reconciled.
		{"on-error, stale manifests", HardRefreshOnError, stale, false, mins(3, 4.5), mins(2, 3.5, 5.5)},
		{"on-error, other failure", HardRefreshOnError, denied, false, nil, mins(2, 3, 5)},
		{"always", HardRefreshAlways, denied, false, mins(3, 4.5), mins(2, 3.5, 5.5)},
		{"off", HardRefreshOff, stale, false, nil, mins(2, 3, 5)},
		// Never reconciled since: the retry waits max-backoff (10m) after the request, then goes.
		{"not reconciled", HardRefreshOnError, stale, true, mins(3, 14), mins(2, 13, 24)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, r := refreshScenario(t, tc.policy, tc.msg, tc.stale)
				if got := s.fake.callsFor("argocd/stale"); !slices.Equal(got, tc.syncs) {
					t.Errorf("syncs at %v, want %v", got, tc.syncs)
				}
				if !slices.Equal(r.refreshes, tc.refreshes) {
					t.Errorf("refreshes at %v, want %v", r.refreshes, tc.refreshes)
				}
				st := s.state("argocd/stale")
				if st.Phase != PhasePaused || st.Attempts != 3 {
					t.Errorf("state %+v, want paused after 3 attempts", st)
				}
				if len(st.Actions) != len(tc.refreshes) {
					t.Errorf("actions %+v, want %d hard refreshes", st.Actions, len(tc.refreshes))
				}
				for _, a := range st.Actions {
					if a.Kind != ActionHardRefresh || a.Result != actionOK {
						t.Errorf("action %+v", a)
					}
				}
				if got := testutil.ToFloat64(s.eng.metrics.actions.WithLabelValues(ActionHardRefresh, actionOK)); got != float64(len(tc.refreshes)) {
					t.Errorf("actions_total hard_refresh ok = %v", got)
				}
			})
		})
	}
}

func TestStaleManifests(t *testing.T) {
	for msg, want := range map[string]bool{
		"ComparisonError: rpc error: code = Unknown desc = Manifest generation error (cached): helm template . failed":       true,
		"Unable to resolve 'feature/x' to a commit SHA":                                                                      true,
		`one or more objects failed to apply, reason: ConfigMap "Not_A_Valid_Name" is invalid: metadata.name: Invalid value`: false,
		"Operation terminated": false,
	} {
		if got := staleManifests(msg); got != want {
			t.Errorf("staleManifests(%q) = %v, want %v", msg, got, want)
		}
	}
}
