// Package promcheck checks PromQL written for argocd-monitor (alert rules, dashboard panels)
// against the metric families the exporter and the bridge really expose, as listed in their
// golden files exporter/testdata/metric-families.txt and bridge/testdata/metric-families.txt, and
// those of Argo CD itself (tools/testdata/argocd-metric-families.txt, read from Argo CD's source).
package promcheck

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// FamilyFiles are the golden lists, relative to the repository root.
var FamilyFiles = []string{
	"exporter/testdata/metric-families.txt", "bridge/testdata/metric-families.txt",
	"tools/testdata/argocd-metric-families.txt",
}

// synthetic are series Prometheus itself writes for every target.
var synthetic = []string{"up", "scrape_duration_seconds", "scrape_samples_scraped"}

// Families is a set of metric family names.
type Families map[string]bool

// LoadFamilies reads family lists (one name per line; blank lines and # comments ignored) and adds
// Prometheus' synthetic per-target series.
func LoadFamilies(paths ...string) (Families, error) {
	f := Families{}
	for _, s := range synthetic {
		f[s] = true
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("metric families: %w", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			f[line] = true
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("metric families %s: %w", p, err)
		}
	}
	return f, nil
}

// Add adds names, e.g. the series recording rules write.
func (f Families) Add(names ...string) {
	for _, n := range names {
		f[n] = true
	}
}

// Has reports whether name is a series of a known family, including a histogram's or summary's
// _bucket, _sum and _count series.
func (f Families) Has(name string) bool {
	if f[name] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && f[base] {
			return true
		}
	}
	return false
}

var (
	grafanaInterval = regexp.MustCompile(`\$(__rate_interval|__interval|__range)\b|\$\{(__rate_interval|__interval|__range)\}`)
	grafanaVar      = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*(:[A-Za-z]+)?\}|\$[A-Za-z_][A-Za-z0-9_]*`)
)

// SubstituteGrafana replaces Grafana's template variables with values that parse: interval
// variables become a duration, every other variable (used inside label matcher values) a word.
func SubstituteGrafana(expr string) string {
	expr = grafanaInterval.ReplaceAllString(expr, "5m")
	return grafanaVar.ReplaceAllString(expr, "x")
}

var promqlParser = parser.NewParser(parser.Options{})

// MetricNames parses expr and returns the metric names of its selectors, sorted and unique. A
// selector without a metric name is an error: every query must say which metric it reads.
func MetricNames(expr string) ([]string, error) {
	ast, err := promqlParser.ParseExpr(expr)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", expr, err)
	}
	seen := map[string]bool{}
	var walkErr error
	parser.Inspect(ast, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			walkErr = fmt.Errorf("selector %s in %q names no metric", vs, expr)
			return walkErr
		}
		seen[name] = true
		return nil
	})
	if walkErr != nil {
		return nil, walkErr
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// Check parses expr (after Grafana substitution) and fails on a metric not in f.
func (f Families) Check(expr string) error {
	names, err := MetricNames(SubstituteGrafana(expr))
	if err != nil {
		return err
	}
	var unknown []string
	for _, n := range names {
		if !f.Has(n) {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("%q reads %s, exposed by neither the exporter, the bridge, Argo CD nor a recording rule (see %s)",
			expr, strings.Join(unknown, ", "), strings.Join(FamilyFiles, ", "))
	}
	return nil
}

// LoadRepoFamilies reads the golden lists of the repository at root.
func LoadRepoFamilies(root string) (Families, error) {
	paths := make([]string, len(FamilyFiles))
	for i, f := range FamilyFiles {
		paths[i] = filepath.Join(root, f)
	}
	return LoadFamilies(paths...)
}
