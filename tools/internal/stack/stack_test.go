package stack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
