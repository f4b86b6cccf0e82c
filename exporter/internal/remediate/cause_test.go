package remediate

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Real messages: Argo CD 3.x operation messages from the e2e-real run, the reference fixtures
// and Argo CD issues.
func TestClassifyFailure(t *testing.T) {
	for _, tc := range []struct {
		name, msg, want string
	}{
		{"invalid name (e2e-real)", `one or more objects failed to apply, reason: ConfigMap "Not_A_Valid_Name" is invalid: metadata.name: Invalid value: "Not_A_Valid_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters`, CauseInvalidManifest},
		{"required value (simulator)", `one or more objects failed to apply, reason: Deployment.apps "stuck" is invalid: spec.template.spec.containers[0].image: Required value`, CauseInvalidManifest},
		{"schema", `one or more objects failed to apply, reason: error validating data: ValidationError(Deployment.spec): unknown field "replica" in io.k8s.api.apps.v1.DeploymentSpec`, CauseInvalidManifest},
		{"immutable selector", `one or more objects failed to apply, reason: Deployment.apps "web" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}}: field is immutable`, CauseImmutableField},
		{"kyverno", `one or more objects failed to apply, reason: admission webhook "validate.kyverno.svc-fail" denied the request: policy Deployment/shop/web for resource violation: require-requests-limits`, CauseAdmissionDenied},
		{"gatekeeper", `one or more objects failed to apply, reason: admission webhook "validation.gatekeeper.sh" denied the request: [must-have-owner] you must provide labels: {"owner"}`, CauseAdmissionDenied},
		{"rbac of the destination", `one or more objects failed to apply, reason: roles.rbac.authorization.k8s.io "x" is forbidden: user "system:serviceaccount:argocd:argocd-application-controller" (groups=["system:serviceaccounts"]) is attempting to grant RBAC permissions not currently held`, CauseForbidden},
		{"quota", `one or more objects failed to apply, reason: pods "web-0" is forbidden: exceeded quota: compute, requested: limits.cpu=2, used: limits.cpu=8, limited: limits.cpu=8`, CauseForbidden},
		{"missing CRD", `one or more synchronization tasks are not valid. Retrying attempt #1 at 10:02AM. (The server could not find the requested resource; make sure the "ServiceMonitor.monitoring.coreos.com" CRD is installed on the destination cluster)`, CauseMissingKind},
		{"no matches for kind", `resource mapping not found for name: "web" namespace: "shop" from "": no matches for kind "Rollout" in version "argoproj.io/v1alpha1"`, CauseMissingKind},
		{"hook job failed", `one or more synchronization tasks completed unsuccessfully, reason: Job has reached the specified backoff limit`, CauseHookFailed},
		{"hook phase failed", `PreSync hook batch/Job/db-migrate failed`, CauseHookFailed},
		{"terminated", "Operation terminated", CauseStuck},
		{"terminated by the engine", "terminated: the operation ran 30m0s, longer than 30m0s (waiting for completion of hook batch/Job/x-presync)", CauseStuck},
		{"conflict", `one or more objects failed to apply, reason: Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again`, CauseTransient},
		{"apiserver down", `failed to sync cluster https://10.0.0.1:443: dial tcp 10.0.0.1:443: connect: connection refused`, CauseTransient},
		{"still degraded", "sync succeeded but app still Degraded", CauseUnknown},
		{"empty", "", CauseUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := classifyFailure(tc.msg); got != tc.want {
				t.Errorf("classifyFailure = %s, want %s", got, tc.want)
			}
		})
	}
}

// Every failed attempt carries its cause and counts on the per-cause counter; with
// StopOnPermanent an invalid manifest pauses after the first attempt, without it after
// max-attempts as before.
func TestFailureCauseAndStopOnPermanent(t *testing.T) {
	const invalid = `one or more objects failed to apply, reason: ConfigMap "Not_A_Valid_Name" is invalid: metadata.name: Invalid value`
	for _, tc := range []struct {
		name     string
		stop     bool
		msg      string
		attempts int
	}{
		{"permanent, stop", true, invalid, 1},
		{"permanent, default", false, invalid, 3},
		{"transient, stop", true, "dial tcp 10.0.0.1:443: i/o timeout", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testConfig()
				cfg.StopOnPermanent = tc.stop
				s := newScenario(t, cfg)
				s.fake.add(&fakeApp{app: outOfSync("bad"), failMsg: tc.msg})
				s.run(30 * time.Minute)
				st := s.state("argocd/bad")
				if st.Phase != PhasePaused || st.Attempts != tc.attempts || len(s.fake.callsFor("argocd/bad")) != tc.attempts {
					t.Fatalf("state %+v, syncs %v; want paused after %d", st, s.fake.callsFor("argocd/bad"), tc.attempts)
				}
				cause := classifyFailure(tc.msg)
				for _, a := range st.History {
					if a.Cause != cause {
						t.Errorf("attempt %+v, want cause %s", a, cause)
					}
				}
				if got := testutil.ToFloat64(s.eng.metrics.failures.WithLabelValues(cause)); got != float64(tc.attempts) {
					t.Errorf("failures_total{cause=%s} = %v, want %d", cause, got, tc.attempts)
				}
			})
		})
	}
}
