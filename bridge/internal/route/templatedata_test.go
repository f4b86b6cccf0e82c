package route

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
)

// Route templates can use the exporter's detail through .Why, and a template that does is safe
// when enrichment is off or the app has no detail.
func TestTemplatesSeeWhy(t *testing.T) {
	dir := t.TempDir()
	cfg := `routes:
  - name: why
    matchers: ['alertname="ArgoCDAppDegraded"']
    fields:
      - title: Sync error
        value: '{{ with $.Why.App .CommonLabels.namespace .CommonLabels.name }}{{ .Operation.Message }} ({{ len .Remediation.Attempts }} attempts){{ else }}no detail ({{ $.Why.Status }}){{ end }}'
`
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	rt := r.Match(map[string]string{"alertname": "ArgoCDAppDegraded"})
	td := sampleTemplateData()
	ov, err := r.OverridesWithWhy(rt, &notification.Message{Data: *td.Data}, td.Why)
	if err != nil {
		t.Fatal(err)
	}
	if len(ov.Fields) != 1 || ov.Fields[0].Value != "one or more objects failed to apply (1 attempts)" {
		t.Errorf("with detail: %+v", ov.Fields)
	}
	ov, err = r.Overrides(rt, &notification.Message{Data: *sampleData()})
	if err != nil {
		t.Fatal(err)
	}
	if len(ov.Fields) != 1 || ov.Fields[0].Value != "no detail (off)" {
		t.Errorf("enrichment off: %+v", ov.Fields)
	}
}
