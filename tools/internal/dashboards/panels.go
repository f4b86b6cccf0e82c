// Package dashboards builds argocd-monitor's Grafana dashboards ("Argo CD Monitor / Overview",
// "/ Application" and "/ Argo CD components") with grafana-foundation-sdk, and renders them as
// dashboard JSON and as ConfigMaps for Grafana's dashboard sidecar. Every query reads only metrics
// the exporter, the bridge or Argo CD expose, or series our recording rules write (checked by the
// tests against their metric family lists and the generated rules).
package dashboards

import (
	"fmt"
	"sort"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
)

// appKeys identify an app in every app series.
const appKeys = "argocd, namespace, name, project" // argocd: the instance label of a federated store (docs/scale.md)

// perApp keeps one series per app (and extra labels): two exporter replicas export the same app
// series, which would otherwise show twice in tables and break one-to-one joins.
func perApp(expr string, extra ...string) string {
	return fmt.Sprintf("max by (%s) (%s)", strings.Join(append([]string{appKeys}, extra...), ", "), expr)
}

// remediationAttempts is an app's remediation attempts in the current streak while there are
// any: no series at 0, as --metrics.state-sets=current writes it, so both modes show the same.
func remediationAttempts(f string) string {
	return perApp(fmt.Sprintf("argocd_monitor_app_remediation_attempts{%s}", f)) + " > 0"
}

// remediationState is 1 while remediation is paused for an app and 0 while it is trying (attempts
// in the streak, not paused); no series while it is idle or off, in both state-set modes.
func remediationState(f string) string {
	return fmt.Sprintf("(%s == 1)\nor on (%s)\n(%s) * 0",
		perApp(fmt.Sprintf("argocd_monitor_app_remediation_paused{%s}", f)), appKeys, remediationAttempts(f))
}

// state is one value of a state set with the colour it is shown in.
type state struct{ name, color string }

// The state sets of issue 2, in the exporter's order.
var (
	healthStates = []state{
		{"Healthy", "green"}, {"Progressing", "blue"}, {"Degraded", "red"},
		{"Suspended", "purple"}, {"Missing", "orange"}, {"Unknown", "#8e8e8e"},
	}
	syncStates = []state{{"Synced", "green"}, {"OutOfSync", "orange"}, {"Unknown", "#8e8e8e"}}
	phases     = []state{
		{"Running", "blue"}, {"Terminating", "purple"}, {"Failed", "red"},
		{"Error", "dark-red"}, {"Succeeded", "green"},
	}
)

// datasource is the panels' data source: the dashboard's datasource variable.
func datasource() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}
}

// query is a range query with a legend; refs are set explicitly so the JSON is stable and
// transformations can name them.
func query(ref, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().RefId(ref).Expr(expr).LegendFormat(legend).
		Datasource(datasource()).Range()
}

// instant is an instant query (tables and "now" numbers).
func instant(ref, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().RefId(ref).Expr(expr).LegendFormat(legend).
		Datasource(datasource()).Instant()
}

// tableQuery is an instant query returning one row per series.
func tableQuery(ref, expr string) *prometheus.DataqueryBuilder {
	return instant(ref, expr, "__auto").Format(prometheus.PromQueryFormatTable)
}

// fixedColor is an override property painting a series in one colour.
func fixedColor(color string) []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": color}}}
}

// stateMappings maps the numeric encoding of a state set (1-based index) to names and colours.
func stateMappings(states []state) []dashboard.ValueMapping {
	opts := map[string]dashboard.ValueMappingResult{}
	for i, s := range states {
		opts[fmt.Sprint(i+1)] = dashboard.ValueMappingResult{
			Text: cog.ToPtr(s.name), Color: cog.ToPtr(s.color), Index: cog.ToPtr(int32(i)),
		}
	}
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: opts}}}
}

// valueMappings maps raw values to text and colour (e.g. 0/1 gauges).
func valueMappings(m map[string]state) []dashboard.ValueMapping {
	opts := map[string]dashboard.ValueMappingResult{}
	for v, s := range m {
		opts[v] = dashboard.ValueMappingResult{Text: cog.ToPtr(s.name), Color: cog.ToPtr(s.color)}
	}
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: opts}}}
}

// encodedState turns a state set into one series per app whose value is the 1-based index of the
// current state (0/1 series are unreadable as a timeline; this gives one row with named states).
func encodedState(metric, label, filter string, states []state) string {
	parts := make([]string, len(states))
	for i, s := range states {
		parts[i] = fmt.Sprintf("(%s{%s, %s=%q} == 1) * %d", metric, filter, label, s.name, i+1)
	}
	return fmt.Sprintf("max by (%s) (\n  %s\n)", appKeys, strings.Join(parts, "\nor\n  "))
}

// thresholds are absolute steps: base colour, then (value, colour) pairs.
func thresholds(base string, steps ...any) *dashboard.ThresholdsConfigBuilder {
	ts := []dashboard.Threshold{{Color: base}}
	for i := 0; i+1 < len(steps); i += 2 {
		ts = append(ts, dashboard.Threshold{Value: cog.ToPtr(steps[i].(float64)), Color: steps[i+1].(string)})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(ts)
}

func lastValue() *common.ReduceDataOptionsBuilder {
	return common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false)
}

func tableLegend() *common.VizLegendOptionsBuilder {
	return common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeTable).
		Placement(common.LegendPlacementRight).ShowLegend(true).Calcs([]string{"lastNotNull", "max"})
}

func listLegend() *common.VizLegendOptionsBuilder {
	return common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeList).
		Placement(common.LegendPlacementBottom).ShowLegend(true)
}

// organize hides and renames table columns.
func organize(exclude []string, rename map[string]string, order []string) dashboard.DataTransformerConfig {
	ex := map[string]bool{}
	for _, e := range exclude {
		ex[e] = true
	}
	idx := map[string]int{}
	for i, o := range order {
		idx[o] = i
	}
	return dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
		"excludeByName": ex, "renameByName": rename, "indexByName": idx,
	}}
}

func merge() dashboard.DataTransformerConfig {
	return dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}
}

// link is a field data link.
type link struct{ title, url string }

func fieldLinks(ls ...link) []dashboard.DynamicConfigValue {
	vs := make([]map[string]any, len(ls))
	for i, l := range ls {
		vs[i] = map[string]any{"title": l.title, "url": l.url, "targetBlank": strings.HasPrefix(l.url, "${argocd_url}")}
	}
	return []dashboard.DynamicConfigValue{{Id: "links", Value: vs}}
}

// textStateColors colours table cells holding a state name.
func textStateColors(states []state) []dashboard.DynamicConfigValue {
	opts := map[string]dashboard.ValueMappingResult{}
	for _, s := range states {
		opts[s.name] = dashboard.ValueMappingResult{Color: cog.ToPtr(s.color)}
	}
	m := []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: opts}}}
	return append([]dashboard.DynamicConfigValue{{Id: "mappings", Value: m}}, colorCell()...)
}

// colorCell paints a table cell's text with its mapped colour.
func colorCell() []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{{Id: "custom.cellOptions", Value: map[string]any{"type": "color-text"}}}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// newStat is a stat panel with an explicit orientation (the SDK would otherwise write "").
func newStat(title string) *stat.PanelBuilder {
	return stat.NewPanelBuilder().Title(title).Orientation(common.VizOrientationAuto)
}

// newTable is a table panel with a complete footer (the SDK's default has a null reducer, which
// Grafana's schema rejects).
func newTable(title string) *table.PanelBuilder {
	return table.NewPanelBuilder().Title(title).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{}))
}
