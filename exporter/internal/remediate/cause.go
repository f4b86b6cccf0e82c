package remediate

import (
	"strings"

	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
)

// Causes of a failed attempt: a fixed set (the cause label of
// argocd_monitor_remediation_failures_total and api/v1 Attempt.Cause).
const (
	CauseInvalidManifest = "invalid_manifest" // the API server rejected the object as invalid
	CauseImmutableField  = "immutable_field"  // the change touches a field that cannot change
	CauseAdmissionDenied = "admission_denied" // an admission webhook (policy) denied it
	CauseForbidden       = "forbidden"        // RBAC, quota or another Forbidden answer
	CauseMissingKind     = "missing_kind"     // the kind is not served (a CRD is not installed)
	CauseHookFailed      = "hook_failed"      // a sync hook (Job) failed
	CauseStuck           = "stuck"            // the operation hung and was terminated
	CauseTransient       = "transient"        // a network, timeout or conflict error: a retry may help
	CauseUnknown         = "unknown"
)

// Causes lists every cause, in the order metrics create them.
var Causes = []string{CauseInvalidManifest, CauseImmutableField, CauseAdmissionDenied, CauseForbidden,
	CauseMissingKind, CauseHookFailed, CauseStuck, CauseTransient, CauseUnknown}

// causeRules match the lower-cased message, first match wins: the specific before the general
// ("is invalid: ... field is immutable" is immutable, not merely invalid).
var causeRules = []struct {
	cause string
	any   []string
}{
	{CauseStuck, []string{"operation terminated", "terminated: the operation ran", "terminated on request of", "waiting for completion of hook"}},
	{CauseImmutableField, []string{"field is immutable", "immutable field"}},
	{CauseAdmissionDenied, []string{"admission webhook", "denied the request", "denied request:"}},
	{CauseMissingKind, []string{"could not find the requested resource", "no matches for kind", "ensure crds are installed", "resource mapping not found"}},
	{CauseInvalidManifest, []string{"is invalid:", "invalid value:", "error validating data", "unknown field", "cannot unmarshal", "error converting yaml"}},
	{CauseForbidden, []string{"is forbidden", "forbidden:", "exceeded quota", "permission denied"}},
	{CauseHookFailed, []string{"hook", "backofflimitexceeded", "reached the specified backoff limit"}},
	{CauseTransient, []string{"connection refused", "i/o timeout", "timeout", "deadline exceeded", "tls handshake",
		"the object has been modified", "too many requests", "service unavailable", "etcdserver", "connection reset", "eof"}},
}

// classifyFailure names the cause of a failed attempt from Argo CD's operation message (which
// quotes the failing resources' messages: "one or more objects failed to apply, reason: ...").
func classifyFailure(msg string) string {
	m := strings.ToLower(msg)
	if m == "" {
		return CauseUnknown
	}
	for _, r := range causeRules {
		for _, s := range r.any {
			if strings.Contains(m, s) {
				return r.cause
			}
		}
	}
	return CauseUnknown
}

// Permanent reports a cause a retry of the same revision cannot fix: the set is part of the
// API (the bridge says "retrying will not help" from it), so it lives there.
func Permanent(cause string) bool { return apiv1.PermanentCause(cause) }
