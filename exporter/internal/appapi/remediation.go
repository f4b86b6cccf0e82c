package appapi

import (
	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/remediate"
)

// remediation maps the engine's story onto the API's type. The engine's attempts are also
// what its state file holds; copying them field by field keeps the two formats apart.
func remediation(st remediate.Story) *apiv1.Remediation {
	r := &apiv1.Remediation{
		Mode:            st.Mode,
		MaxAttempts:     st.MaxAttempts,
		Attempts:        attempts(st.Attempts),
		Paused:          st.Paused,
		PausedAt:        st.PausedAt,
		NextAttempt:     st.NextAttempt,
		ResetsOn:        st.ResetsOn,
		TerminateAfter:  apiv1.Duration(st.TerminateAfter),
		HardRefresh:     st.HardRefresh,
		StopOnPermanent: st.StopOnPermanent,
		Rollback:        st.Rollback,
		NoRollback:      st.NoRollback,
	}
	if o := st.RollbackOffer; o != nil {
		r.RollbackOffer = &apiv1.RollbackOffer{Revision: o.Revision, HealthyUntil: o.HealthyUntil}
	}
	if h := st.Hold; h != nil {
		r.Hold = &apiv1.Hold{Bad: h.Bad, To: h.To, At: h.At, By: h.By}
	}
	for _, a := range st.Actions {
		r.Actions = append(r.Actions, apiv1.RemediationAction{Kind: a.Kind, At: a.At, Result: a.Result, By: a.By, Message: a.Message})
	}
	if lr := st.LastReset; lr != nil {
		r.LastReset = &apiv1.Reset{At: lr.At, Reason: lr.Reason, Attempts: attempts(lr.Attempts)}
	}
	return r
}

func attempts(in []remediate.Attempt) []apiv1.Attempt {
	if len(in) == 0 {
		return nil
	}
	out := make([]apiv1.Attempt, len(in))
	for i, a := range in {
		out[i] = apiv1.Attempt{N: a.N, At: a.At, Result: a.Result, Message: a.Message, DoneAt: a.DoneAt, Cause: a.Cause}
	}
	return out
}
