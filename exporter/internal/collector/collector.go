// Package collector renders the poller's snapshot of Argo CD applications as
// const metrics at scrape time: no gauges set from a ticker, so a deleted app
// disappears with the snapshot that no longer holds it, and a scrape never
// waits on Argo CD.
package collector

import (
	"bufio"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/exposition"
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
		"repo", "dest_server", "dest_namespace", "auto_sync", "parent", "parent_kind")
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
	opStartFam = appFamily("argocd_monitor_app_operation_start_timestamp_seconds",
		"When the application's operation in progress started (status.operationState.startedAt); only while its phase is Running or Terminating.")
	syncChangeFam = appFamily("argocd_monitor_app_sync_status_change_timestamp_seconds",
		"When the application's current sync status began, as the exporter saw it change (Argo CD does not report it); after a restart, when the exporter first saw it.")

	upFam = newFamily("argocd_monitor_api_up",
		"1 when the last poll of the Argo CD API succeeded, 0 when it failed or none finished yet.")
	lastSuccessFam = newFamily("argocd_monitor_last_poll_success_timestamp_seconds",
		"When the last successful poll of the Argo CD API finished.")
	appsFam = newFamily("argocd_monitor_apps",
		"Applications in the served snapshot (0 once it is older than --argocd.stale-after).")
)

// Collector renders a Source. It is a prometheus.Collector (for registries
// and tests), a prometheus.Gatherer and an exposition.Source (the paths
// /metrics uses); all three come from the same emit functions, so they
// cannot disagree.
type Collector struct {
	src Source
}

// New returns a collector rendering src.
func New(src Source) *Collector { return &Collector{src: src} }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, e := range emitters {
		ch <- e.fam.desc
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	mfs, _ := c.Gather()
	for _, mf := range mfs {
		d := descOf[mf.GetName()]
		for _, m := range mf.Metric {
			ch <- dtoMetric{d, m}
		}
	}
}

var descOf = func() map[string]*prometheus.Desc {
	m := map[string]*prometheus.Desc{}
	for _, e := range emitters {
		m[e.fam.name] = e.fam.desc
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

// Gather implements prometheus.Gatherer, for the protobuf format. A
// 10k-app snapshot is about 160k series; a registry spends most of a scrape
// re-checking and re-sorting each of them (about 230 ms of CPU at 10k apps,
// see BenchmarkRender). The families here are built sorted, with label
// pairs shared between an app's series, and handed over as they are.
// TestGatherMatchesRegistry proves the output equals what a registry makes
// of Collect.
func (c *Collector) Gather() ([]*dto.MetricFamily, error) {
	v := newView(c.src.Snapshot())
	b := &builder{}
	for _, e := range emitters {
		e.emit(v, b)
	}
	return b.out, nil
}

// TextFamilies implements exposition.Source: the text formats, written
// straight from one snapshot without building 160k protobuf messages first
// (BenchmarkRender/direct). TestTextMatchesGather proves the bytes equal
// expfmt's rendering of Gather.
func (c *Collector) TextFamilies() []exposition.TextFamily {
	v := newView(c.src.Snapshot())
	out := make([]exposition.TextFamily, len(emitters))
	for i, e := range emitters {
		out[i] = exposition.TextFamily{Name: e.fam.name, Write: func(w *bufio.Writer, om bool) error {
			b := &builder{w: w, om: om}
			e.emit(v, b)
			return b.err
		}}
	}
	return out
}

// emitters make every family, in name order; each emits nothing when it has
// no series.
var emitters = func() []emitter {
	es := []emitter{
		{upFam, func(v *view, b *builder) { b.scalar(upFam, boolValue(v.s.Up)) }},
		{lastSuccessFam, func(v *view, b *builder) {
			if !v.s.LastSuccess.IsZero() {
				b.scalar(lastSuccessFam, unixSeconds(v.s.LastSuccess))
			}
		}},
		{appsFam, func(v *view, b *builder) { b.scalar(appsFam, float64(len(v.apps))) }},
		{infoFam, (*view).info},
		{healthFam, (*view).health},
		{syncFam, (*view).sync},
		{phaseFam, (*view).phase},
		{conditionsFam, (*view).conditions},
		{reconciledFam, timestamps(reconciledFam, func(a *argocd.App) time.Time { return a.ReconciledAt })},
		{transitionFam, timestamps(transitionFam, func(a *argocd.App) time.Time { return a.HealthTransition })},
		{syncChangeFam, timestamps(syncChangeFam, func(a *argocd.App) time.Time { return a.SyncSince })},
		{opStartFam, timestamps(opStartFam, runningSince)},
	}
	slices.SortFunc(es, func(x, y emitter) int { return strings.Compare(x.fam.name, y.fam.name) })
	return es
}()

type emitter struct {
	fam  *family
	emit func(*view, *builder)
}

// view is one snapshot with what every app family needs: each app's label
// pairs and the apps in (name, namespace, project) order, the order of
// families whose first labels are those.
type view struct {
	s      poller.Snapshot
	apps   []argocd.App
	ids    []appIDs
	byName []int32
}

func newView(s poller.Snapshot) *view {
	v := &view{s: s, apps: s.Apps, ids: make([]appIDs, len(s.Apps))}
	for i := range v.apps {
		v.ids[i].init(&v.apps[i])
	}
	v.byName = order(v.apps, func(a, b *argocd.App) int {
		return cmpPairs(a.Name, b.Name, a.Namespace, b.Namespace, a.Project, b.Project)
	})
	return v
}

// builder receives families and their series, in exposition order: as
// protobuf messages (Gather) or, with w set, as text lines (TextFamilies).
type builder struct {
	out  []*dto.MetricFamily
	fb   *familyBuf
	slab []*dto.LabelPair // the label slices of every series, one backing array

	w    *bufio.Writer
	om   bool
	name string
	err  error
}

// family starts a family with n series (n > 0); add them with series.
func (b *builder) family(f *family, n int) {
	if b.w != nil {
		b.name = f.name
		if b.err == nil {
			_, b.err = b.w.Write(exposition.AppendHeader(b.w.AvailableBuffer(), f.name, &f.help, b.om))
		}
		return
	}
	b.fb = &familyBuf{
		mf:     &dto.MetricFamily{Name: &f.name, Help: &f.help, Type: dto.MetricType_GAUGE.Enum(), Metric: make([]*dto.Metric, 0, n)},
		ms:     make([]dto.Metric, n),
		gauges: make([]dto.Gauge, n),
		values: make([]float64, n),
	}
	b.out = append(b.out, b.fb.mf)
	if need := n * len(f.labels); cap(b.slab)-len(b.slab) < need {
		b.slab = make([]*dto.LabelPair, 0, need)
	}
}

func (b *builder) scalar(f *family, v float64) {
	b.family(f, 1)
	b.series(v)
}

// series adds a series to the current family; labels sorted by name.
func (b *builder) series(v float64, labels ...*dto.LabelPair) {
	if b.w != nil {
		if b.err == nil {
			_, b.err = b.w.Write(exposition.AppendSample(b.w.AvailableBuffer(), b.name, labels, v, b.om))
		}
		return
	}
	var ls []*dto.LabelPair
	if len(labels) > 0 {
		n := len(b.slab)
		b.slab = append(b.slab, labels...)
		ls = b.slab[n:len(b.slab):len(b.slab)]
	}
	b.fb.series(v, ls)
}

// familyBuf holds one family's series in slabs: a few allocations per
// family instead of several per series.
type familyBuf struct {
	mf     *dto.MetricFamily
	ms     []dto.Metric
	gauges []dto.Gauge
	values []float64
}

func (fb *familyBuf) series(v float64, labels []*dto.LabelPair) {
	i := len(fb.mf.Metric)
	fb.values[i] = v
	fb.gauges[i].Value = &fb.values[i]
	fb.ms[i].Label, fb.ms[i].Gauge = labels, &fb.gauges[i]
	fb.mf.Metric = append(fb.mf.Metric, &fb.ms[i])
}

// info: auto_sync, dest_namespace, dest_server, name, namespace, parent, parent_kind, project, repo.
func (v *view) info(b *builder) {
	if len(v.apps) == 0 {
		return
	}
	b.family(infoFam, len(v.apps))
	for _, i := range order(v.apps, func(a, b *argocd.App) int {
		return cmpPairs(strconv.FormatBool(a.AutoSync), strconv.FormatBool(b.AutoSync), a.DestNamespace, b.DestNamespace,
			a.DestServer, b.DestServer, a.Name, b.Name, a.Namespace, b.Namespace,
			a.Parent, b.Parent, string(a.ParentKind), string(b.ParentKind), a.Project, b.Project, a.Repo, b.Repo)
	}) {
		id := &v.ids[i]
		b.series(1, autoSyncPairs[v.apps[i].AutoSync], &id.destNamespace, &id.destServer, &id.name, &id.namespace,
			&id.parent, &id.parentKind, &id.project, &id.repo)
	}
}

// health_status, name, namespace, project.
func (v *view) health(b *builder) {
	if len(v.apps) == 0 {
		return
	}
	b.family(healthFam, len(v.apps)*len(healthSorted))
	for _, h := range healthSorted {
		for _, i := range v.byName {
			id := &v.ids[i]
			b.series(boolValue(v.apps[i].Health == h), healthPairs[h], &id.name, &id.namespace, &id.project)
		}
	}
}

// name, namespace, project, sync_status.
func (v *view) sync(b *builder) {
	if len(v.apps) == 0 {
		return
	}
	b.family(syncFam, len(v.apps)*len(syncSorted))
	for _, i := range v.byName {
		id := &v.ids[i]
		for _, st := range syncSorted {
			b.series(boolValue(v.apps[i].Sync == st), &id.name, &id.namespace, &id.project, syncPairs[st])
		}
	}
}

// name, namespace, phase, project; only apps with an operationState.
func (v *view) phase(b *builder) {
	withOp := 0
	for i := range v.apps {
		if v.apps[i].Operation != nil {
			withOp++
		}
	}
	if withOp == 0 {
		return
	}
	b.family(phaseFam, withOp*len(phasesSorted))
	for _, i := range v.byName {
		if op := v.apps[i].Operation; op != nil {
			id := &v.ids[i]
			for _, ph := range phasesSorted {
				b.series(boolValue(op.Phase == ph), &id.name, &id.namespace, phasePairs[ph], &id.project)
			}
		}
	}
}

// condition, name, namespace, project; only types present.
func (v *view) conditions(b *builder) {
	types, n := conditionTypes(v.apps)
	if n == 0 {
		return
	}
	b.family(conditionsFam, n)
	for _, typ := range types {
		tp := &dto.LabelPair{Name: &conditionsFam.labels[3], Value: &typ}
		for _, i := range v.byName {
			if c := v.apps[i].Conditions[typ]; c > 0 {
				id := &v.ids[i]
				b.series(float64(c), tp, &id.name, &id.namespace, &id.project)
			}
		}
	}
}

// timestamps emits name, namespace, project series of the apps whose get
// is set.
func timestamps(f *family, get func(*argocd.App) time.Time) func(*view, *builder) {
	return func(v *view, b *builder) {
		n := 0
		for i := range v.apps {
			if !get(&v.apps[i]).IsZero() {
				n++
			}
		}
		if n == 0 {
			return
		}
		b.family(f, n)
		for _, i := range v.byName {
			if t := get(&v.apps[i]); !t.IsZero() {
				id := &v.ids[i]
				b.series(unixSeconds(t), &id.name, &id.namespace, &id.project)
			}
		}
	}
}

// runningSince is when the app's operation started, while it runs; zero
// once it finished (or for an app without an operationState).
func runningSince(a *argocd.App) time.Time {
	if op := a.Operation; op != nil && (op.Phase == argocd.PhaseRunning || op.Phase == argocd.PhaseTerminating) {
		return op.StartedAt
	}
	return time.Time{}
}

// appIDs are an app's label pairs; values point into the snapshot's App,
// which is never modified.
type appIDs struct {
	name, namespace, project, destNamespace, destServer, repo dto.LabelPair
	parent, parentKind                                        dto.LabelPair
}

func (p *appIDs) init(a *argocd.App) {
	set := func(lp *dto.LabelPair, name, value *string) { lp.Name, lp.Value = name, value }
	set(&p.name, &lName, &a.Name)
	set(&p.namespace, &lNamespace, &a.Namespace)
	set(&p.project, &lProject, &a.Project)
	set(&p.destNamespace, &lDestNamespace, &a.DestNamespace)
	set(&p.destServer, &lDestServer, &a.DestServer)
	set(&p.repo, &lRepo, &a.Repo)
	set(&p.parent, &lParent, &a.Parent)
	set(&p.parentKind, &lParentKind, (*string)(&a.ParentKind))
}

// Label names shared by every pair.
var lName, lNamespace, lProject, lDestNamespace, lDestServer, lRepo = "name", "namespace", "project", "dest_namespace", "dest_server", "repo"

// The parent's label names (argocd_monitor_app_info only).
var lParent, lParentKind = "parent", "parent_kind"

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
