package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/params"
)

// base is what both dashboards share: tags, time, refresh, and the datasource and Argo CD URL
// variables.
func base(title, uid string, p params.Params, description string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).Uid(uid).Description(description).
		Tags([]string{"argocd", "argocd-monitor"}).Editable().
		Time("now-6h", "now").Refresh("30s").Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").Label("Data source").Type("prometheus")).
		WithVariable(dashboard.NewConstantVariableBuilder("argocd_url").
			Description("Argo CD UI base URL for links (alerts/params.yaml argocdURL)").
			Value(dashboard.StringOrMap{String: cog.ToPtr(p.ArgoCDBase())}))
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
	v := appVar("namespace", "Namespace", "")
	if multi {
		v.Multi(true).IncludeAll(true).AllValue(".*")
	}
	return v
}

func projectVar() *dashboard.QueryVariableBuilder {
	return appVar("project", "Project", `namespace=~"$namespace"`).Multi(true).IncludeAll(true).AllValue(".*")
}

func nameVar() *dashboard.QueryVariableBuilder {
	return appVar("name", "Application", `namespace=~"$namespace", project=~"$project"`)
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
