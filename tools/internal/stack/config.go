package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The local stack's config files, relative to the repository root. docker-compose.yml mounts
// them as they are; render replaces the container addresses and paths in them.
const (
	PrometheusConfig   = "deploy/local/prometheus.yml"
	AlertmanagerConfig = "deploy/local/alertmanager.yml"
)

// replacement is one container address or path in a config file and what it becomes.
type replacement struct{ old, new string }

// render reads a config file, applies the replacements (each must occur: a config edited so a
// placeholder vanished would otherwise silently point at nothing) and writes it to out.
func render(src, out string, reps []replacement) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	s := string(b)
	for _, r := range reps {
		if !strings.Contains(s, r.old) {
			return fmt.Errorf("%s: expected %q in it (the stack runner replaces it); update tools/internal/stack with the file", src, r.old)
		}
		s = strings.ReplaceAll(s, r.old, r.new)
	}
	return os.WriteFile(out, []byte(s), 0o644)
}

// prometheusReplacements point Prometheus at the local processes and the generated rules.
func prometheusReplacements(exporter, bridge, alertmanager, rulesDir string) []replacement {
	return []replacement{
		{"'exporter:9797'", "'" + exporter + "'"},
		{"'bridge:9798'", "'" + bridge + "'"},
		{"'alertmanager:9093'", "'" + alertmanager + "'"},
		{"/etc/prometheus/rules/*.yaml", filepath.Join(rulesDir, "*.yaml")},
	}
}

// alertmanagerReplacements point Alertmanager's webhook at the local bridge and token file.
func alertmanagerReplacements(bridgeURL, tokenFile string) []replacement {
	return []replacement{
		{"http://bridge:9798/webhook", bridgeURL + "/webhook"},
		{"/etc/alertmanager/bridge-token", tokenFile},
	}
}
