// Package collector renders the poller's snapshot of Argo CD applications as
// const metrics at scrape time: no gauges set from a ticker, so a deleted app
// disappears with the snapshot that no longer holds it, and a scrape never
// waits on Argo CD.
package collector

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/exposition"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/poller"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/remediate"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Source yields the snapshot to render (a *poller.Poller).
type Source interface {
	Snapshot() poller.Snapshot
}

// RemediationSource yields the remediation engine's per-app state (a
// *remediate.Engine).
type RemediationSource interface {
	AppMetrics() []remediate.AppMetric
}

// StateSets says how state sets and other per-app values are written.
type StateSets string

const (
	// StateSetsFull writes every member of a state set, 1 for the current
	// one and 0 for the others, and per-app counts and flags at 0.
	StateSetsFull StateSets = "full"
	// StateSetsCurrent writes only the member that is 1 and leaves out every
	// per-app series whose value is 0: at most 6 series per healthy app
	// instead of 19. Selecting `== 1` (or counting what is there) answers
	// the same in both modes; a 0 becomes an absent series.
	StateSetsCurrent StateSets = "current"
)

// Config is what the collector renders and how.
type Config struct {
	// StateSets is StateSetsFull (also when empty) or StateSetsCurrent.
	StateSets StateSets
	// Remediation, when set, adds the argocd_monitor_app_remediation_*
	// families.
	Remediation RemediationSource
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

	attemptsFam = appFamily("argocd_monitor_app_remediation_attempts",
		"Remediation syncs accepted by Argo CD in the app's current problem streak.")
	pausedFam = appFamily("argocd_monitor_app_remediation_paused",
		"1 when remediation gave up on the app after max attempts; a person must look.")
	nextAttemptFam = appFamily("argocd_monitor_app_remediation_next_attempt_timestamp_seconds",
		"When the next remediation sync of the app is due, while one is scheduled.")

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
	cfg Config

	// What one scrape leaves for the next (see chunks.go): the apps'
	// orders, and each family's lines in compressed chunks.
	mu     sync.Mutex
	byName orderCache
	infoBy orderCache
	// rank is each app's place in rankOrder (a byName), for the
	// remediation rows.
	rankOrder []int32
	rank      map[uint64]int32
	lastApps  *appsView
	chunks    map[chunkKey]*chunkCache
}

// New returns a collector rendering src (and cfg.Remediation) as cfg says.
func New(src Source, cfg Config) *Collector {
	return &Collector{src: src, cfg: cfg, chunks: map[chunkKey]*chunkCache{}}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, e := range emitters {
		if c.skipped(e) {
			continue
		}
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
	v := c.view()
	b := &builder{omitZero: c.omitZero()}
	for _, e := range emitters {
		e.emit(v, b)
	}
	return b.out, nil
}

// TextFamilies implements exposition.Source: the text formats, written
// straight from one snapshot without building 160k protobuf messages first
// (BenchmarkRender/direct). TestTextMatchesGather proves the bytes equal
// expfmt's rendering of Gather.
//
// On a gzip'd response the lines go out in chunks compressed once and kept
// between scrapes (chunks.go): a scrape of 100,000 apps that changed little
// copies kept bytes instead of writing and compressing 100 MB of text.
func (c *Collector) TextFamilies() []exposition.TextFamily {
	v := c.view()
	omitZero := c.omitZero()
	var es []emitter
	for _, e := range emitters {
		if !c.skipped(e) {
			es = append(es, e)
		}
	}
	// Once every family is written, the view's label pairs (45 MB at 100k
	// apps) serve the next scrape; a family left unwritten (name[]) leaves
	// them to the GC.
	var left atomic.Int32
	left.Store(int32(len(es)))
	out := make([]exposition.TextFamily, 0, len(es))
	for _, e := range es {
		out = append(out, exposition.TextFamily{Name: e.fam.name, Write: func(w *exposition.Writer) error {
			defer func() {
				if left.Add(-1) == 0 {
					v.release()
				}
			}()
			b := &builder{w: w, om: w.OpenMetrics(), omitZero: omitZero}
			if w.Compressed() {
				b.cache = c.chunkCache(e.fam, b.om)
				b.cache.mu.Lock()
				defer b.cache.mu.Unlock()
				b.cache.gen++
			}
			e.emit(v, b)
			b.end()
			return b.err
		}})
	}
	return out
}

// omitZero is the one place the state-set mode switches: in current mode
// the builder leaves out state-set members and per-app values at 0.
func (c *Collector) omitZero() bool { return c.cfg.StateSets == StateSetsCurrent }

func (c *Collector) view() *view {
	v := c.newView(c.src.Snapshot())
	if c.cfg.Remediation != nil {
		v.setRemediation(c.cfg.Remediation.AppMetrics())
	}
	return v
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
		{attemptsFam, remediation(attemptsFam, func(r *remediate.AppMetric) (float64, bool) { return float64(r.Attempts), true })},
		{pausedFam, remediation(pausedFam, func(r *remediate.AppMetric) (float64, bool) { return boolValue(r.Paused), true })},
		{nextAttemptFam, remediation(nextAttemptFam, func(r *remediate.AppMetric) (float64, bool) {
			return unixSeconds(r.NextAttempt), !r.NextAttempt.IsZero()
		})},
	}
	slices.SortFunc(es, func(x, y emitter) int { return strings.Compare(x.fam.name, y.fam.name) })
	return es
}()

type emitter struct {
	fam  *family
	emit func(*view, *builder)
}

// skipped: the remediation families need Config.Remediation.
func (c *Collector) skipped(e emitter) bool {
	return c.cfg.Remediation == nil && (e.fam == attemptsFam || e.fam == pausedFam || e.fam == nextAttemptFam)
}

// view is one snapshot with what every app family needs: each app's label
// pairs and the apps in (name, namespace, project) order, the order of
// families whose first labels are those.
type view struct {
	c      *Collector
	s      poller.Snapshot
	apps   []argocd.App
	ids    []appIDs
	idKeys []uint64 // hash of each app's (name, namespace, project)
	// infoKeys hash each app's info labels.
	infoKeys []uint64
	byName   []int32
	rem      []remediate.AppMetric // in (name, namespace, project) order
	remIDs   []remIDs
}

// remIDs are a remediation row's label pairs and their hash.
type remIDs struct {
	name, namespace, project dto.LabelPair
	key                      uint64
}

func (v *view) setRemediation(rows []remediate.AppMetric) {
	rows = v.sortRemediation(rows)
	v.rem, v.remIDs = rows, make([]remIDs, len(rows))
	for i := range rows {
		r := &v.rem[i]
		v.remIDs[i].name = dto.LabelPair{Name: &lName, Value: &r.Name}
		v.remIDs[i].namespace = dto.LabelPair{Name: &lNamespace, Value: &r.Namespace}
		v.remIDs[i].project = dto.LabelPair{Name: &lProject, Value: &r.Project}
		v.remIDs[i].key = idKey(r.Name, r.Namespace, r.Project)
	}
}

// sortRemediation orders the engine's rows (in no order) by (name,
// namespace, project): placed by their app's rank in byName when every
// row's app is in the snapshot (an O(n) pass instead of a sort of 100k
// rows), else sorted.
func (v *view) sortRemediation(rows []remediate.AppMetric) []remediate.AppMetric {
	cmpRows := func(a, b *remediate.AppMetric) int {
		return cmpPairs(a.Name, b.Name, a.Namespace, b.Namespace, a.Project, b.Project)
	}
	if rank := v.c.ranks(v.byName, v.idKeys); rank != nil {
		slot := make([]int32, len(v.byName))
		for i := range slot {
			slot[i] = -1
		}
		placed := true
		for i := range rows {
			r := &rows[i]
			k, ok := rank[idKey(r.Name, r.Namespace, r.Project)]
			if !ok || slot[k] >= 0 {
				placed = false
				break
			}
			slot[k] = int32(i)
		}
		if placed {
			out := make([]remediate.AppMetric, 0, len(rows))
			for _, i := range slot {
				if i >= 0 {
					out = append(out, rows[i])
				}
			}
			// A hash collision would misplace a row: check, as cheaply.
			if slices.IsSortedFunc(out, func(a, b remediate.AppMetric) int { return cmpRows(&a, &b) }) {
				return out
			}
		}
	}
	slices.SortFunc(rows, func(a, b remediate.AppMetric) int { return cmpRows(&a, &b) })
	return rows
}

func (c *Collector) newView(s poller.Snapshot) *view {
	v := &view{c: c, s: s, apps: s.Apps, ids: getIDs(len(s.Apps))}
	for i := range v.apps {
		v.ids[i].init(&v.apps[i])
	}
	c.mu.Lock()
	last := c.lastApps
	c.mu.Unlock()
	// The same snapshot as the last scrape's (no change in between): its keys
	// and order hold. The snapshot is held weakly: a scrape must not keep
	// an old snapshot of 100,000 apps alive until the next one.
	if last != nil && len(s.Apps) > 0 && last.n == len(s.Apps) && last.first.Value() == &s.Apps[0] {
		v.idKeys, v.infoKeys, v.byName = last.idKeys, last.infoKeys, last.byName
		return v
	}
	v.idKeys, v.infoKeys = make([]uint64, len(s.Apps)), make([]uint64, len(s.Apps))
	for i := range v.apps {
		a := &v.apps[i]
		v.idKeys[i] = idKey(a.Name, a.Namespace, a.Project)
		v.infoKeys[i] = infoKey(v.idKeys[i], a)
	}
	v.byName = c.byName.get(&c.mu, v.idKeys, func() []int32 {
		return order(v.apps, func(a, b *argocd.App) int {
			return cmpPairs(a.Name, b.Name, a.Namespace, b.Namespace, a.Project, b.Project)
		})
	})
	if len(s.Apps) > 0 {
		c.mu.Lock()
		c.lastApps = &appsView{first: weak.Make(&s.Apps[0]), n: len(s.Apps), idKeys: v.idKeys, infoKeys: v.infoKeys, byName: v.byName}
		c.mu.Unlock()
	}
	return v
}

// idsPool holds the label pairs of a written scrape's view for the next
// (they point into that scrape's snapshot until reused; a pool drops what
// it holds within two GCs).
var idsPool sync.Pool

func getIDs(n int) []appIDs {
	if ids, ok := idsPool.Get().(*[]appIDs); ok && cap(*ids) >= n {
		all := (*ids)[:cap(*ids)]
		clear(all[n:]) // no pointer into an older snapshot
		return all[:n] // each is set whole by init
	}
	return make([]appIDs, n)
}

// release gives the view's label pairs to the next scrape; the view must
// not be used after.
func (v *view) release() {
	if cap(v.ids) > 0 {
		ids := v.ids
		v.ids = nil
		idsPool.Put(&ids)
	}
}

// appsView is what a view derives from the apps alone that holds no
// pointer into them; shared, read-only.
type appsView struct {
	first            weak.Pointer[argocd.App]
	n                int
	idKeys, infoKeys []uint64
	byName           []int32
}

// builder receives families and their series, in exposition order: as
// protobuf messages (Gather) or, with w set, as text lines (TextFamilies).
type builder struct {
	out  []*dto.MetricFamily
	fb   *familyBuf
	slab []*dto.LabelPair // the label slices of every series, one backing array

	w    *exposition.Writer
	om   bool
	name string
	err  error
	// cache, when set, takes the lines (chunks.go).
	cache *chunkCache
	chunk pendingChunk

	// omitZero (state sets "current"): appValue leaves out zeros.
	omitZero bool
	// pending is the family started but not yet written: a family whose
	// series are all left out is not written at all.
	pending  *family
	pendingN int
}

// family starts a family with at most n series (n > 0); add them with
// series or appValue.
func (b *builder) family(f *family, n int) { b.pending, b.pendingN = f, n }

// stateSet starts a state-set family of apps with members each: one series
// per app when only the current member is written.
func (b *builder) stateSet(f *family, apps, members int) {
	if b.omitZero {
		members = 1
	}
	b.family(f, apps*members)
}

// appValue adds a per-app series (a state-set member, a count, a flag):
// left out at 0 in current mode.
func (b *builder) appValue(key uint64, v float64, labels ...*dto.LabelPair) {
	if v == 0 && b.omitZero {
		return
	}
	b.series(key, v, labels...)
}

func (b *builder) begin() {
	f, n := b.pending, b.pendingN
	b.pending = nil
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
	b.series(0, v)
}

// series adds a series to the current family; labels sorted by name. key
// is a hash of the label values (the family's label names are fixed):
// with the value, it stands for the line in the chunk cache.
func (b *builder) series(key uint64, v float64, labels ...*dto.LabelPair) {
	if b.pending != nil {
		b.begin()
	}
	if b.cache != nil {
		b.cached(key, v, labels)
		return
	}
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
	for _, i := range v.c.infoBy.get(&v.c.mu, v.infoKeys, func() []int32 {
		return order(v.apps, func(a, b *argocd.App) int {
			return cmpPairs(strconv.FormatBool(a.AutoSync), strconv.FormatBool(b.AutoSync), a.DestNamespace, b.DestNamespace,
				a.DestServer, b.DestServer, a.Name, b.Name, a.Namespace, b.Namespace,
				a.Parent, b.Parent, string(a.ParentKind), string(b.ParentKind), a.Project, b.Project, a.Repo, b.Repo)
		})
	}) {
		id := &v.ids[i]
		b.series(v.infoKeys[i], 1, autoSyncPairs[v.apps[i].AutoSync], &id.destNamespace, &id.destServer, &id.name, &id.namespace,
			&id.parent, &id.parentKind, &id.project, &id.repo)
	}
}

// health_status, name, namespace, project.
func (v *view) health(b *builder) {
	if len(v.apps) == 0 {
		return
	}
	b.stateSet(healthFam, len(v.apps), len(healthSorted))
	for k, h := range healthSorted {
		for _, i := range v.byName {
			id := &v.ids[i]
			b.appValue(mix(v.idKeys[i], uint64(k)), boolValue(v.apps[i].Health == h), healthPairs[h], &id.name, &id.namespace, &id.project)
		}
	}
}

// name, namespace, project, sync_status.
func (v *view) sync(b *builder) {
	if len(v.apps) == 0 {
		return
	}
	b.stateSet(syncFam, len(v.apps), len(syncSorted))
	for _, i := range v.byName {
		id := &v.ids[i]
		for k, st := range syncSorted {
			b.appValue(mix(v.idKeys[i], uint64(k)), boolValue(v.apps[i].Sync == st), &id.name, &id.namespace, &id.project, syncPairs[st])
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
	b.stateSet(phaseFam, withOp, len(phasesSorted))
	for _, i := range v.byName {
		if op := v.apps[i].Operation; op != nil {
			id := &v.ids[i]
			for k, ph := range phasesSorted {
				b.appValue(mix(v.idKeys[i], uint64(k)), boolValue(op.Phase == ph), &id.name, &id.namespace, phasePairs[ph], &id.project)
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
		tk := strKey(typ)
		for _, i := range v.byName {
			if c := v.apps[i].Conditions[typ]; c > 0 {
				id := &v.ids[i]
				b.series(mix(v.idKeys[i], tk), float64(c), tp, &id.name, &id.namespace, &id.project)
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
				b.series(v.idKeys[i], unixSeconds(t), &id.name, &id.namespace, &id.project)
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

// remediation emits name, namespace, project series of the engine's apps
// for which get says ok; values are per-app values (left out at 0 in
// current mode).
func remediation(f *family, get func(*remediate.AppMetric) (float64, bool)) func(*view, *builder) {
	return func(v *view, b *builder) {
		if len(v.rem) == 0 {
			return
		}
		b.family(f, len(v.rem))
		for i := range v.rem {
			if val, ok := get(&v.rem[i]); ok {
				id := &v.remIDs[i]
				b.appValue(id.key, val, &id.name, &id.namespace, &id.project)
			}
		}
	}
}

// appIDs are an app's label pairs; values point into the snapshot's App,
// which is never modified.
type appIDs struct {
	name, namespace, project, destNamespace, destServer, repo dto.LabelPair
	parent, parentKind                                        dto.LabelPair
}

func (p *appIDs) init(a *argocd.App) {
	set := func(lp *dto.LabelPair, name, value *string) { *lp = dto.LabelPair{Name: name, Value: value} }
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
