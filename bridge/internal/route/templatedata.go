package route

import (
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich"
	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
)

// TemplateData is what route templates execute against: Alertmanager's notification data
// (.Alerts, .CommonLabels, ... as in Alertmanager's own templates) plus .Why, the exporter's
// detail about the notification's apps. .Why is never nil: with enrichment off its Status is
// "off" and `.Why.App ns name` is nil, so `{{ with $.Why.App .Labels.namespace .Labels.name }}`
// is safe everywhere. docs/bridge.md lists the fields.
type TemplateData struct {
	*template.Data
	Why *enrich.Result
}

func newTemplateData(data *template.Data, why *enrich.Result) *TemplateData {
	if why == nil {
		why = &enrich.Result{Status: "off"}
	}
	return &TemplateData{Data: data, Why: why}
}

// sampleTemplateData is sampleData with detail for its app, so templates that use .Why are
// exercised at load time too.
func sampleTemplateData() *TemplateData {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	app := &apiv1.App{
		Namespace: "argocd", Name: "payments", Project: "shop",
		Health:                &apiv1.Health{Status: "Degraded", Since: now},
		Sync:                  &apiv1.Sync{Status: "OutOfSync", Revisions: []string{"0123456789abcdef0123456789abcdef01234567"}},
		Operation:             &apiv1.Operation{Phase: "Failed", Message: "one or more objects failed to apply", FinishedAt: now},
		FailingResources:      []apiv1.Resource{{Kind: "Deployment", Name: "payments", Health: "Degraded", Message: "progress deadline exceeded"}},
		FailingResourcesTotal: 1,
		Events:                []apiv1.Event{{Kind: "Pod", Name: "payments-1", Reason: "BackOff", Message: "Back-off restarting failed container", Count: 3, Last: now}},
		Commits:               []apiv1.Commit{{Revision: "0123456789abcdef0123456789abcdef01234567", Author: "Jane Doe", Message: "Bump image", Date: now}},
		Remediation:           &apiv1.Remediation{Mode: "on", MaxAttempts: 3, Attempts: []apiv1.Attempt{{N: 1, At: now, Result: "failed", Message: "boom"}}},
	}
	return newTemplateData(sampleData(), &enrich.Result{Apps: map[string]*apiv1.App{"argocd/payments": app}, Status: enrich.ResultOK, Asked: 1})
}
