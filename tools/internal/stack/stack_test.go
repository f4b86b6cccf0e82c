package stack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	amlabels "github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/repofile"
)

// The committed local configs must keep every address the runner replaces, and nothing of the
// container network may survive rendering.
func TestRenderLocalConfigs(t *testing.T) {
	root, err := repofile.FindRootFromWD()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tests := []struct {
		src  string
		reps []replacement
		gone []string
	}{
		{PrometheusConfig, prometheusReplacements("127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "/tmp/rules"),
			[]string{"exporter:", "bridge:", "alertmanager:", "/etc/"}},
		{AlertmanagerConfig, alertmanagerReplacements("http://127.0.0.1:2", "/tmp/token"),
			[]string{"bridge:", "/etc/"}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.src), func(t *testing.T) {
			out := filepath.Join(dir, filepath.Base(tt.src))
			if err := render(filepath.Join(root, tt.src), out, tt.reps); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var config []string // without comments, which may name the container addresses
			for line := range strings.SplitSeq(string(b), "\n") {
				if !strings.HasPrefix(strings.TrimSpace(line), "#") {
					config = append(config, line)
				}
			}
			for _, g := range tt.gone {
				if strings.Contains(strings.Join(config, "\n"), g) {
					t.Errorf("rendered %s still mentions %q:\n%s", tt.src, g, b)
				}
			}
			for _, r := range tt.reps {
				if !strings.Contains(string(b), r.new) {
					t.Errorf("rendered %s lacks %q", tt.src, r.new)
				}
			}
		})
	}
}

func TestRenderMissingPlaceholder(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in.yml")
	if err := os.WriteFile(src, []byte("targets: ['exporter:9797']\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := render(src, filepath.Join(dir, "out.yml"), []replacement{{"'bridge:9798'", "x"}})
	if err == nil || !strings.Contains(err.Error(), `"'bridge:9798'"`) {
		t.Fatalf("err %v, want one naming the missing placeholder", err)
	}
}

// The local Alertmanager config (make demo, make e2e, docker-compose) makes one page per cause
// across the fleet: a fleet alert inhibits its victims' alerts with the same cause labels, and
// only those, matched with Alertmanager's own matchers.
func TestLocalAlertmanagerInhibitsFleetVictims(t *testing.T) {
	root, err := repofile.FindRootFromWD()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, AlertmanagerConfig))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		InhibitRules []struct {
			SourceMatchers []string `yaml:"source_matchers"`
			TargetMatchers []string `yaml:"target_matchers"`
			Equal          []string `yaml:"equal"`
		} `yaml:"inhibit_rules"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	matchers := func(ss []string) amlabels.Matchers {
		var ms amlabels.Matchers
		for _, s := range ss {
			m, err := amlabels.ParseMatcher(s)
			if err != nil {
				t.Fatalf("%s: matcher %s: %v", AlertmanagerConfig, s, err)
			}
			ms = append(ms, m)
		}
		return ms
	}
	inhibited := func(source, target model.LabelSet) bool {
		for _, r := range cfg.InhibitRules {
			if len(r.SourceMatchers) == 0 || !matchers(r.SourceMatchers).Matches(source) || !matchers(r.TargetMatchers).Matches(target) {
				continue
			}
			equal := true
			for _, l := range r.Equal {
				equal = equal && source[model.LabelName(l)] == target[model.LabelName(l)]
			}
			if equal {
				return true
			}
		}
		return false
	}
	dest := model.LabelSet{"alertname": "ArgoCDDestinationDown", "namespace": "argocd", "name": "prod-eu-01", "dest_server": "prod-eu"}
	parent := model.LabelSet{"alertname": "ArgoCDParentDegraded", "namespace": "argocd", "name": "shop-1", "parent_kind": "ApplicationSet", "parent": "shop-set"}
	app := func(alertname, name, destServer, parent string) model.LabelSet {
		ls := model.LabelSet{"alertname": model.LabelValue(alertname), "namespace": "argocd", "name": model.LabelValue(name), "dest_server": model.LabelValue(destServer)}
		if parent != "" {
			ls["parent_kind"], ls["parent"] = "ApplicationSet", model.LabelValue(parent)
		}
		return ls
	}
	lost := func(destServer string) model.LabelSet {
		return model.LabelSet{"alertname": "ArgoCDClusterConnectionLost", "job": "argocd-metrics", "server": "https://prod-eu.example.com:6443", "dest_server": model.LabelValue(destServer)}
	}
	tests := []struct {
		name           string
		source, target model.LabelSet
		want           bool
	}{
		{"destination down: its app's Degraded", dest, app("ArgoCDAppDegraded", "prod-eu-02", "prod-eu", ""), true},
		{"destination down: its app's Unhealthy", dest, app("ArgoCDAppUnhealthy", "prod-eu-02", "prod-eu", ""), true},
		{"destination down: its app's OutOfSync", dest, app("ArgoCDAppOutOfSync", "prod-eu-02", "prod-eu", ""), true},
		{"destination down: its app's SyncFailed", dest, app("ArgoCDAppSyncFailed", "prod-eu-02", "prod-eu", ""), true},
		{"destination down: Argo CD's connection lost to the same cluster", dest, lost("prod-eu"), true},
		{"destination down: not another cluster's connection", dest, lost("prod-us"), false},
		{"destination down: not another destination's app", dest, app("ArgoCDAppDegraded", "prod-us-01", "prod-us", ""), false},
		{"destination down: not a paused remediation", dest, app("ArgoCDAppRemediationPaused", "prod-eu-02", "prod-eu", ""), false},
		{"parent degraded: its child's Degraded", parent, app("ArgoCDAppDegraded", "shop-2", "in-cluster", "shop-set"), true},
		{"parent degraded: its child's SyncFailed", parent, app("ArgoCDAppSyncFailed", "shop-2", "in-cluster", "shop-set"), true},
		{"parent degraded: not another parent's child", parent, app("ArgoCDAppDegraded", "web-1", "in-cluster", "web-set"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inhibited(tt.source, tt.target); got != tt.want {
				t.Errorf("%s inhibits %s: %v, want %v", tt.source, tt.target, got, tt.want)
			}
		})
	}
}
