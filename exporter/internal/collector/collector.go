// Package collector renders the poller's snapshot of Argo CD applications as
// const metrics at scrape time: no gauges set from a ticker, so a deleted app
// disappears with the snapshot that no longer holds it, and a scrape never
// waits on Argo CD.
package collector

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/poller"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Source yields the snapshot to render (a *poller.Poller).
type Source interface {
	Snapshot() poller.Snapshot
}

// family is one metric family this package exposes. All are gauges.
type family struct {
	name, help string
	labels     []string // variable labels, in Desc order
	desc       *prometheus.Desc
}

func newFamily(name, help string, labels ...string) *family {
	return &family{name: name, help: help, labels: labels, desc: prometheus.NewDesc(name, help, labels, nil)}
}

func appFamily(name, help string, extra ...string) *family {
	return newFamily(name, help, append([]string{"namespace", "name", "project"}, extra...)...)
}

var (
	infoFam = appFamily("argocd_monitor_app_info",
		"Facts about an Argo CD Application that do not change with its state; always 1.",
		"repo", "dest_server", "dest_namespace", "auto_sync")
	healthFam = appFamily("argocd_monitor_app_health_status",
		"Application health as a state set: 1 for the current status, 0 for the others.", "health_status")
	syncFam = appFamily("argocd_monitor_app_sync_status",
		"Application sync status as a state set: 1 for the current status, 0 for the others.", "sync_status")
	phaseFam = appFamily("argocd_monitor_app_operation_phase",
		"Phase of the application's last (or current) operation as a state set; only for apps that have an operationState.", "phase")
	conditionsFam = appFamily("argocd_monitor_app_conditions",
		"Number of application conditions of each type (types with none are not emitted).", "condition")
	reconciledFam = appFamily("argocd_monitor_app_reconciled_timestamp_seconds",
		"When Argo CD last reconciled the application against git (status.reconciledAt).")
	transitionFam = appFamily("argocd_monitor_app_health_transition_timestamp_seconds",
		"When the application's health status last changed (status.health.lastTransitionTime).")
	syncChangeFam = appFamily("argocd_monitor_app_sync_status_change_timestamp_seconds",
		"When the application's current sync status began, as the exporter saw it change (Argo CD does not report it); after a restart, when the exporter first saw it.")

	upFam = newFamily("argocd_monitor_api_up",
		"1 when the last poll of the Argo CD API succeeded, 0 when it failed or none finished yet.")
	lastSuccessFam = newFamily("argocd_monitor_last_poll_success_timestamp_seconds",
		"When the last successful poll of the Argo CD API finished.")
	appsFam = newFamily("argocd_monitor_apps",
		"Applications in the served snapshot (0 once it is older than --argocd.stale-after).")

	allFamilies = []*family{infoFam, healthFam, syncFam, phaseFam, conditionsFam, reconciledFam, transitionFam, syncChangeFam,
		upFam, lastSuccessFam, appsFam}
)

// Collector renders a Source. It is a prometheus.Collector (for registries
// and tests) and a prometheus.Gatherer (the fast path /metrics uses, see
// Gather); both come from the same families, so they cannot disagree.
type Collector struct {
	src Source
}

// New returns a collector rendering src.
func New(src Source) *Collector { return &Collector{src: src} }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range allFamilies {
		ch <- f.desc
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, mf := range c.families() {
		d := descOf[mf.GetName()]
		for _, m := range mf.Metric {
			ch <- dtoMetric{d, m}
		}
	}
}

var descOf = func() map[string]*prometheus.Desc {
	m := map[string]*prometheus.Desc{}
	for _, f := range allFamilies {
		m[f.name] = f.desc
	}
	return m
}()

// dtoMetric is a const metric already in its wire form.
type dtoMetric struct {
	desc *prometheus.Desc
	m    *dto.Metric
}

func (d dtoMetric) Desc() *prometheus.Desc { return d.desc }

func (d dtoMetric) Write(out *dto.Metric) error {
	out.Label, out.Gauge = d.m.Label, d.m.Gauge
	return nil
}

// Gather implements prometheus.Gatherer. A 10k-app snapshot is about 160k
// series; a registry spends most of a scrape re-checking and re-sorting each
// of them (about 230 ms of CPU at 10k apps, see BenchmarkRender). The
// families here are built sorted, with label pairs shared between an app's
// series, and handed over as they are. TestGatherMatchesRegistry proves the
// output equals what a registry makes of Collect.
func (c *Collector) Gather() ([]*dto.MetricFamily, error) {
	return c.families(), nil
}

// families builds every family from one snapshot, sorted by name, each
// family's series sorted by label values (label names alphabetical): the
// order a registry's Gather produces.
func (c *Collector) families() []*dto.MetricFamily {
	s := c.src.Snapshot()
	b := &builder{}
	b.scalar(upFam, boolValue(s.Up))
	if !s.LastSuccess.IsZero() {
		b.scalar(lastSuccessFam, unixSeconds(s.LastSuccess))
	}
	b.scalar(appsFam, float64(len(s.Apps)))
	if len(s.Apps) > 0 {
		b.apps(s.Apps)
	}
	slices.SortFunc(b.out, func(x, y *dto.MetricFamily) int { return strings.Compare(x.GetName(), y.GetName()) })
	return b.out
}

type builder struct {
	out []*dto.MetricFamily
}

// family starts a family with room for n series; add them with series.
func (b *builder) family(f *family, n int) *familyBuf {
	fb := &familyBuf{
		mf:     &dto.MetricFamily{Name: &f.name, Help: &f.help, Type: dto.MetricType_GAUGE.Enum(), Metric: make([]*dto.Metric, 0, n)},
		ms:     make([]dto.Metric, n),
		gauges: make([]dto.Gauge, n),
		values: make([]float64, n),
	}
	b.out = append(b.out, fb.mf)
	return fb
}

func (b *builder) scalar(f *family, v float64) {
	b.family(f, 1).series(v, nil)
}

// familyBuf holds one family's series in slabs: a few allocations per
// family instead of several per series.
type familyBuf struct {
	mf     *dto.MetricFamily
	ms     []dto.Metric
	gauges []dto.Gauge
	values []float64
}

// series appends a series; labels must be sorted by name.
func (fb *familyBuf) series(v float64, labels []*dto.LabelPair) {
	i := len(fb.mf.Metric)
	fb.values[i] = v
	fb.gauges[i].Value = &fb.values[i]
	fb.ms[i].Label, fb.ms[i].Gauge = labels, &fb.gauges[i]
	fb.mf.Metric = append(fb.mf.Metric, &fb.ms[i])
}

func (b *builder) apps(apps []argocd.App) {
	ids := make([]appIDs, len(apps)) // the pairs every series of an app shares
	for i := range apps {
		ids[i].init(&apps[i])
	}
	// Families with name, namespace, project first sort by those.
	byName := order(apps, func(a, b *argocd.App) int {
		return cmpPairs(a.Name, b.Name, a.Namespace, b.Namespace, a.Project, b.Project)
	})
	// Label slices of every app series, in one backing array.
	slab := make([]*dto.LabelPair, 0, len(apps)*(7+6*4+3*4+5*4+3))
	take := func(pairs ...*dto.LabelPair) []*dto.LabelPair {
		n := len(slab)
		slab = append(slab, pairs...) // within capacity, except for conditions
		return slab[n:len(slab):len(slab)]
	}

	// info: auto_sync, dest_namespace, dest_server, name, namespace, project, repo.
	fb := b.family(infoFam, len(apps))
	for _, i := range order(apps, func(a, b *argocd.App) int {
		return cmpPairs(strconv.FormatBool(a.AutoSync), strconv.FormatBool(b.AutoSync), a.DestNamespace, b.DestNamespace,
			a.DestServer, b.DestServer, a.Name, b.Name, a.Namespace, b.Namespace, a.Project, b.Project, a.Repo, b.Repo)
	}) {
		id := &ids[i]
		fb.series(1, take(autoSyncPairs[apps[i].AutoSync], &id.destNamespace, &id.destServer, &id.name, &id.namespace, &id.project, &id.repo))
	}
	// health_status, name, namespace, project.
	fb = b.family(healthFam, len(apps)*len(healthSorted))
	for _, h := range healthSorted {
		for _, i := range byName {
			id := &ids[i]
			fb.series(boolValue(apps[i].Health == h), take(healthPairs[h], &id.name, &id.namespace, &id.project))
		}
	}
	// name, namespace, project, sync_status.
	fb = b.family(syncFam, len(apps)*len(syncSorted))
	for _, i := range byName {
		id := &ids[i]
		for _, st := range syncSorted {
			fb.series(boolValue(apps[i].Sync == st), take(&id.name, &id.namespace, &id.project, syncPairs[st]))
		}
	}
	// name, namespace, phase, project; only apps with an operationState.
	withOp := 0
	for i := range apps {
		if apps[i].Operation != nil {
			withOp++
		}
	}
	if withOp > 0 {
		fb = b.family(phaseFam, withOp*len(phasesSorted))
		for _, i := range byName {
			if op := apps[i].Operation; op != nil {
				id := &ids[i]
				for _, ph := range phasesSorted {
					fb.series(boolValue(op.Phase == ph), take(&id.name, &id.namespace, phasePairs[ph], &id.project))
				}
			}
		}
	}
	// condition, name, namespace, project; only types present.
	if types, n := conditionTypes(apps); n > 0 {
		fb = b.family(conditionsFam, n)
		for _, typ := range types {
			tp := &dto.LabelPair{Name: &conditionsFam.labels[3], Value: &typ}
			for _, i := range byName {
				if c := apps[i].Conditions[typ]; c > 0 {
					id := &ids[i]
					fb.series(float64(c), take(tp, &id.name, &id.namespace, &id.project))
				}
			}
		}
	}
	// name, namespace, project: one slice serves both timestamp families.
	idLabels := make([][]*dto.LabelPair, len(apps))
	for i := range ids {
		idLabels[i] = take(&ids[i].name, &ids[i].namespace, &ids[i].project)
	}
	b.timestamps(reconciledFam, apps, byName, idLabels, func(a *argocd.App) time.Time { return a.ReconciledAt })
	b.timestamps(transitionFam, apps, byName, idLabels, func(a *argocd.App) time.Time { return a.HealthTransition })
	b.timestamps(syncChangeFam, apps, byName, idLabels, func(a *argocd.App) time.Time { return a.SyncSince })
}

func (b *builder) timestamps(f *family, apps []argocd.App, byName []int32, labels [][]*dto.LabelPair, get func(*argocd.App) time.Time) {
	n := 0
	for i := range apps {
		if !get(&apps[i]).IsZero() {
			n++
		}
	}
	if n == 0 {
		return
	}
	fb := b.family(f, n)
	for _, i := range byName {
		if t := get(&apps[i]); !t.IsZero() {
			fb.series(unixSeconds(t), labels[i])
		}
	}
}

// appIDs are an app's label pairs; values point into the snapshot's App,
// which is never modified.
type appIDs struct {
	name, namespace, project, destNamespace, destServer, repo dto.LabelPair
}

func (p *appIDs) init(a *argocd.App) {
	set := func(lp *dto.LabelPair, name, value *string) { lp.Name, lp.Value = name, value }
	set(&p.name, &lName, &a.Name)
	set(&p.namespace, &lNamespace, &a.Namespace)
	set(&p.project, &lProject, &a.Project)
	set(&p.destNamespace, &lDestNamespace, &a.DestNamespace)
	set(&p.destServer, &lDestServer, &a.DestServer)
	set(&p.repo, &lRepo, &a.Repo)
}

// Label names shared by every pair.
var lName, lNamespace, lProject, lDestNamespace, lDestServer, lRepo = "name", "namespace", "project", "dest_namespace", "dest_server", "repo"

// The state sets' values in label-value order, and their shared pairs.
var (
	healthSorted  = sortedCopy(argocd.HealthStatuses)
	syncSorted    = sortedCopy(argocd.SyncStatuses)
	phasesSorted  = sortedCopy(argocd.OperationPhases)
	healthPairs   = statePairs("health_status", argocd.HealthStatuses)
	syncPairs     = statePairs("sync_status", argocd.SyncStatuses)
	phasePairs    = statePairs("phase", argocd.OperationPhases)
	autoSyncPairs = statePairs("auto_sync", []string{"false", "true"}).byBool()
)

func sortedCopy[S ~string](in []S) []S {
	out := slices.Clone(in)
	slices.Sort(out)
	return out
}

type pairs[S ~string] map[S]*dto.LabelPair

func statePairs[S ~string](label string, values []S) pairs[S] {
	m := make(pairs[S], len(values))
	for _, v := range values {
		name, value := label, string(v)
		m[v] = &dto.LabelPair{Name: &name, Value: &value}
	}
	return m
}

func (p pairs[S]) byBool() map[bool]*dto.LabelPair {
	return map[bool]*dto.LabelPair{false: p["false"], true: p["true"]}
}

// order returns the indexes of apps sorted by cmp.
func order(apps []argocd.App, cmp func(a, b *argocd.App) int) []int32 {
	idx := make([]int32, len(apps))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(i, j int32) int { return cmp(&apps[i], &apps[j]) })
	return idx
}

// cmpPairs compares (a1, b1), then (a2, b2), ...
func cmpPairs(pairs ...string) int {
	for i := 0; i+1 < len(pairs); i += 2 {
		if c := strings.Compare(pairs[i], pairs[i+1]); c != 0 {
			return c
		}
	}
	return 0
}

// conditionTypes lists the condition types present, sorted, and how many
// (app, type) series they make.
func conditionTypes(apps []argocd.App) ([]string, int) {
	seen := map[string]bool{}
	var types []string
	n := 0
	for i := range apps {
		for t := range apps[i].Conditions {
			n++
			if !seen[t] {
				seen[t] = true
				types = append(types, t)
			}
		}
	}
	slices.Sort(types)
	return types, n
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1e3 }

// Gatherers joins gatherers whose families are disjoint (a registry and a
// Collector not registered in it) into one, sorted by family name, without
// prometheus.Gatherers' per-series re-checks. A family name exposed twice is
// an error, as in a registry.
func Gatherers(gs ...prometheus.Gatherer) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		var all []*dto.MetricFamily
		for _, g := range gs {
			mfs, err := g.Gather()
			if err != nil {
				return nil, err
			}
			all = append(all, mfs...)
		}
		slices.SortFunc(all, func(x, y *dto.MetricFamily) int { return strings.Compare(x.GetName(), y.GetName()) })
		for i := 1; i < len(all); i++ {
			if all[i].GetName() == all[i-1].GetName() {
				return nil, fmt.Errorf("metric family %s exposed twice", all[i].GetName())
			}
		}
		return all, nil
	})
}
