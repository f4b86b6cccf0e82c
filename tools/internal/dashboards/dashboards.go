package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/params"
)

// base is what the dashboards share: tags, time, refresh, and the datasource, Argo CD URL and
// argocd instance variables.
func base(title, uid string, p params.Params, description string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).Uid(uid).Description(description).
		Tags([]string{"argocd", "argocd-monitor"}).Editable().
		Time("now-6h", "now").Refresh("30s").Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").Label("Data source").Type("prometheus")).
		WithVariable(dashboard.NewConstantVariableBuilder("argocd_url").
			Description("Argo CD UI base URL for links (alerts/params.yaml argocdURL)").
			Value(dashboard.StringOrMap{String: cog.ToPtr(p.ArgoCDBase())})).
		WithVariable(argocdVar())
}

// instanceFilter narrows every series to the argocd variable: the instance label a federated
// store or remote write adds (docs/scale.md). Without it (one local Prometheus) the variable is
// All, ".*", which also matches series that have no argocd label.
const instanceFilter = `argocd=~"$argocd"`

// argocdVar picks Argo CD instances by the argocd label; multi-select with All.
func argocdVar() *dashboard.QueryVariableBuilder {
	return appVar("argocd", "Argo CD", "").Multi(true).IncludeAll(true).AllValue(".*")
}

// nonEmpty is a matcher list of m, empty when m is.
func nonEmpty(m string) []string {
	if m == "" {
		return nil
	}
	return []string{m}
}

// instance selects metric's series of the picked Argo CD instances, with more matchers if any.
func instance(metric string, matchers ...string) string {
	return metric + "{" + strings.Join(append([]string{instanceFilter}, matchers...), ", ") + "}"
}

// appVar is a query variable over a label of argocd_monitor_app_info, which every watched app has.
func appVar(name, label, filter string) *dashboard.QueryVariableBuilder {
	sel := "argocd_monitor_app_info"
	if filter != "" {
		sel += "{" + filter + "}"
	}
	q := fmt.Sprintf("label_values(%s, %s)", sel, name)
	return dashboard.NewQueryVariableBuilder(name).Label(label).
		Datasource(datasource()).Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).Definition(q).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc)
}

// namespaceVar is the Application namespace; multi-select with All on the overview, a single
// value on the application dashboard.
func namespaceVar(multi bool) *dashboard.QueryVariableBuilder {
	v := appVar("namespace", "Namespace", instanceFilter)
	if multi {
		v.Multi(true).IncludeAll(true).AllValue(".*")
	}
	return v
}

func projectVar() *dashboard.QueryVariableBuilder {
	return appVar("project", "Project", instanceFilter+`, namespace=~"$namespace"`).Multi(true).IncludeAll(true).AllValue(".*")
}

func nameVar() *dashboard.QueryVariableBuilder {
	return appVar("name", "Application", instanceFilter+`, namespace=~"$namespace", project=~"$project"`)
}

// Dashboard is one generated dashboard.
type Dashboard struct {
	UID, Title string
	Model      dashboard.Dashboard
}

// Build returns the dashboards (the components one while the component rules are on), with
// panel ids numbered in layout order.
func Build(p params.Params) ([]Dashboard, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var out []Dashboard
	builders := []*dashboard.DashboardBuilder{overview(p), application(p)}
	if p.Components.Enabled {
		builders = append(builders, components(p))
	}
	for _, b := range builders {
		d, err := b.Build()
		if err != nil {
			return nil, fmt.Errorf("build dashboard: %w", err)
		}
		// The SDK places links "inControlsMenu" (hidden behind a menu in Grafana 12); without a
		// placement Grafana shows them above the panels, where people look for them.
		for i := range d.Links {
			d.Links[i].Placement = nil
		}
		id := uint32(0)
		for _, pr := range d.Panels {
			id++
			switch {
			case pr.Panel != nil:
				pr.Panel.Id = cog.ToPtr(id)
			case pr.RowPanel != nil:
				pr.RowPanel.Id = id
			}
		}
		out = append(out, Dashboard{UID: *d.Uid, Title: *d.Title, Model: d})
	}
	return out, nil
}
