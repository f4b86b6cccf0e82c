package params

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "params.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsAreValid(t *testing.T) {
	p := Default()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, name := range AlertNames {
		if _, ok := p.Alerts[name]; !ok {
			t.Errorf("no default for %s", name)
		}
	}
	if len(p.Alerts) != len(AlertNames) {
		t.Errorf("%d defaults for %d alerts", len(p.Alerts), len(AlertNames))
	}
}

func TestLoadOverridesOnlyWhatIsGiven(t *testing.T) {
	p, err := Load(write(t, `
exporterSelector: job="e2e-exporter"
grafanaURL: http://127.0.0.1:3000/
alerts:
  ArgoCDAppDegraded: {for: 10s}
  ArgoCDAppOutOfSync: {severity: info}
  ArgoCDDestinationDown: {keepFiringFor: 15s}
`))
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	if p.ExporterSelector != `job="e2e-exporter"` || p.BridgeSelector != d.BridgeSelector {
		t.Errorf("selectors %q %q", p.ExporterSelector, p.BridgeSelector)
	}
	if p.GrafanaBase() != "http://127.0.0.1:3000" {
		t.Errorf("GrafanaBase = %q", p.GrafanaBase())
	}
	if a := p.Alerts[AppDegraded]; a.For != Duration(10*time.Second) || a.Severity != "critical" {
		t.Errorf("Degraded = %+v", a)
	}
	if a := p.Alerts[AppOutOfSync]; a.For != Duration(30*time.Minute) || a.Severity != "info" {
		t.Errorf("OutOfSync = %+v", a)
	}
	if a := p.Alerts[DestinationDown]; a.KeepFiringFor != Duration(15*time.Second) || a.For != Duration(2*time.Minute) {
		t.Errorf("DestinationDown = %+v", a)
	}
	if d.Alerts[DestinationDown].KeepFiringFor != Duration(2*time.Minute) || d.Alerts[AppDegraded].KeepFiringFor != 0 {
		t.Errorf("default keepFiringFor: DestinationDown %v, AppDegraded %v", d.Alerts[DestinationDown].KeepFiringFor, d.Alerts[AppDegraded].KeepFiringFor)
	}
	if p.Alerts[AppUnhealthy] != d.Alerts[AppUnhealthy] {
		t.Errorf("Unhealthy changed: %+v", p.Alerts[AppUnhealthy])
	}
	// Load must not have changed the defaults through the shared map.
	if Default().Alerts[AppDegraded].For != Duration(5*time.Minute) {
		t.Error("Load mutated the defaults")
	}
}

func TestLoadEmptyAndMissing(t *testing.T) {
	p, err := Load(write(t, "# nothing but a comment\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.GrafanaURL != Default().GrafanaURL {
		t.Errorf("empty file changed defaults")
	}
	if p, err := Load(write(t, "alerts:\ncomponents:\n")); err != nil || len(p.Alerts) != len(AlertNames) || !p.Components.Enabled {
		t.Errorf("empty sections: %v, %d alerts, components %+v", err, len(p.Alerts), p.Components)
	}
	if p, err := Load(""); err != nil || p.ArgoCDURL != Default().ArgoCDURL {
		t.Errorf("Load(\"\") = %v, %v", p.ArgoCDURL, err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("want error for a missing file")
	}
}

func TestLoadRejects(t *testing.T) {
	for _, tc := range []struct{ name, content, want string }{
		{"unknown key", "grafanaUrl: http://x\n", "line 1: field grafanaUrl not found"},
		{"unknown alert key", "alerts:\n  ArgoCDAppDegraded: {for: 1m, sev: x}\n", "field sev not found"},
		{"unknown alert", "alerts:\n  ArgoCDAppDegrade: {for: 1m}\n", `unknown alert "ArgoCDAppDegrade"`},
		{"bad duration", "alerts:\n  ArgoCDAppDegraded: {for: 5 minutes}\n", "line 2"},
		{"negative duration", "alerts:\n  ArgoCDAppDegraded: {for: -1m}\n", "line 2"},
		{"alerts not a map", "alerts: [a]\n", "want a map"},
		{"unknown components key", "components:\n  enable: false\n", "field enable not found"},
		{"bad components selector", "components: {selector: 'job=x'}\n", "components.selector"},
		{"ratio above 1", "components: {kubectlErrorRatio: 5}\n", "kubectlErrorRatio"},
		{"zero threshold", "components: {reconcileP95Seconds: 0}\n", "reconcileP95Seconds"},
		{"bad selector", "exporterSelector: job=argocd\n", "exporterSelector"},
		{"empty selector", "bridgeSelector: ''\n", "bridgeSelector: empty"},
		{"relative URL", "argocdURL: argocd.example.com\n", "argocdURL"},
		{"empty severity", "alerts:\n  ArgoCDMonitorDown: {severity: ''}\n", "ArgoCDMonitorDown.severity: empty"},
		{"bridge for not above window", "bridgeFailureWindow: 10m\n", "longer than bridgeFailureWindow"},
		{"two documents", "grafanaURL: http://a\n---\ngrafanaURL: http://b\n", "more than one YAML document"},
		{"not a map", "- a\n", "cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(write(t, tc.content))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestComponentsOverrideAndDisable(t *testing.T) {
	p, err := Load(write(t, "components:\n  enabled: false\n  selector: ''\n  redisFailureRatio: 0.9\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := Default().Components
	if p.Components.Enabled || p.Components.RedisFailureRatio != 0.9 || p.Components.ReconcileP95Seconds != d.ReconcileP95Seconds {
		t.Errorf("components = %+v", p.Components)
	}
}

func TestDurationString(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 10 * time.Second: "10s", 5 * time.Minute: "5m", 90 * time.Minute: "1h30m",
		time.Hour + 1500*time.Millisecond: "1h1s500ms",
	} {
		if got := Duration(d).String(); got != want {
			t.Errorf("%v: got %q, want %q", d, got, want)
		}
	}
}

func TestE2EExampleParamsLoad(t *testing.T) {
	p, err := Load("../../testdata/e2e-params.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.Components.Enabled {
		t.Error("the e2e example enables the Argo CD component rules, which have no Argo CD to scrape there")
	}
	for _, name := range MonitorAlerts {
		if f := time.Duration(p.Alerts[name].For); f > time.Minute {
			t.Errorf("%s: for %s in the e2e example, want at most 1m", name, p.Alerts[name].For)
		}
	}
}

// FuzzDecode: any input either fails with an error or yields params that validate; never a panic.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		"", "alerts:\n  ArgoCDAppDegraded: {for: 10s}\n", "exporterSelector: job=\"x\"\n",
		"bridgeFailureWindow: 1s\n", "alerts: {ArgoCDMonitorDown: {severity: page}}\n", "- [\n",
		"components: {enabled: false, selector: ''}\n", "alerts: {ArgoCDRedisUnreachable: [1]}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p := Default()
		if err := p.decode(b); err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("decode accepted params that do not validate: %v", err)
		}
	})
}
