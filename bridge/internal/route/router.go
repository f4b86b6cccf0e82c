package route

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/actions"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
)

// Router picks the route of a notification and executes its template overrides.
type Router struct {
	routes  []*Route
	def     *Route
	tmpl    *template.Template
	actions actions.Policy
}

// Actions is the config's actions section: who may use which button.
func (r *Router) Actions() actions.Policy { return r.actions }

func newRouter(cfg *Config, dir string) (*Router, error) {
	globs := make([]string, 0, len(cfg.Templates))
	for _, g := range cfg.Templates {
		if !filepath.IsAbs(g) {
			g = filepath.Join(dir, g)
		}
		globs = append(globs, g)
	}
	tmpl, err := template.FromGlobs(globs)
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	def := cfg.DefaultRoute
	if def == nil {
		def = &Route{}
	}
	if def.Name == "" {
		def.Name = DefaultName
	}
	seen := map[string]bool{}
	for i, r := range append(append([]*Route{}, cfg.Routes...), def) {
		idx := i
		if r == def {
			idx = -1
		}
		if err := r.prepare(idx, dir, tmpl); err != nil {
			return nil, err
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("%s: duplicate route name", r.where(idx))
		}
		seen[r.Name] = true
	}
	return &Router{routes: cfg.Routes, def: def, tmpl: tmpl, actions: cfg.Actions}, nil
}

// Routes returns every route, the default last.
func (rt *Router) Routes() []*Route { return append(append([]*Route{}, rt.routes...), rt.def) }

// Match returns the first route whose matchers all match ls, else the default route.
func (rt *Router) Match(ls map[string]string) *Route {
	set := make(model.LabelSet, len(ls))
	for k, v := range ls {
		set[model.LabelName(k)] = model.LabelValue(v)
	}
	for _, r := range rt.routes {
		if r.matchers.Matches(set) {
			return r
		}
	}
	return rt.def
}

// Overrides executes the route's templates against the notification. A template that fails at
// run time is reported and left out, so the built-in rendering still delivers the alert.
func (rt *Router) Overrides(r *Route, m *notification.Message) (render.Overrides, error) {
	return rt.OverridesWithWhy(r, m, nil)
}

// OverridesWithWhy is Overrides with the exporter's app detail available to the templates as
// .Why (see TemplateData).
func (rt *Router) OverridesWithWhy(r *Route, m *notification.Message, why *enrich.Result) (render.Overrides, error) {
	td := newTemplateData(&m.Data, why)
	var ov render.Overrides
	var firstErr error
	run := func(text string) string {
		if text == "" {
			return ""
		}
		out, err := rt.tmpl.ExecuteTextString(text, td)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("route %s: %w", r.Name, err)
		}
		return out
	}
	ov.Title = run(r.Title)
	ov.Text = run(r.Text)
	for _, f := range r.Fields {
		if t, v := run(f.Title), run(f.Value); t != "" || v != "" {
			ov.Fields = append(ov.Fields, render.Field{Title: t, Value: v})
		}
	}
	return ov, firstErr
}

// sampleData exercises templates at load time with the labels this project's alerts carry.
func sampleData() *template.Data {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lbls := template.KV{"alertname": "ArgoCDAppDegraded", "severity": "critical", "namespace": "argocd", "name": "payments", "project": "shop", "health_status": "Degraded"}
	ann := template.KV{"summary": "summary", "description": "description", "runbook_url": "https://example.invalid/runbook", "dashboard_url": "https://example.invalid/d"}
	return &template.Data{
		Receiver: "slack", Status: "firing",
		Alerts:       template.Alerts{{Status: "firing", Labels: lbls, Annotations: ann, StartsAt: now, Fingerprint: "0000000000000001"}},
		GroupLabels:  template.KV{"alertname": "ArgoCDAppDegraded"},
		CommonLabels: lbls, CommonAnnotations: ann, RouteLabels: template.KV{},
		ExternalURL: "http://alertmanager.invalid:9093",
	}
}
