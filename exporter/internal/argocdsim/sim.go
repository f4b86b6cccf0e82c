// Package argocdsim is the one stand-in for Argo CD: it simulates the subset of the API server
// the exporter uses (List with the `fields` whitelist, Get, Sync, the Watch stream, Bearer auth
// and Argo CD's error shapes), with applications built from real Application fixtures and a
// time-scaled story told by a few scenario apps. It is the Argo CD of `make demo` and the
// end-to-end test, and of every package's tests: NewServer serves exact (patched) fixtures,
// SetFaults injects errors, truncation and delays, Requests logs what arrived, and ServePipe
// serves it in memory for tests on testing/synctest's clock. A small control API (/sim/...) lets
// tests change states and count sync calls.
package argocdsim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

// The scenario apps: their names are fixed so the demo, the e2e test and docs/demo.md agree.
const (
	AppHealthy   = "healthy"   // Healthy and Synced throughout
	AppDegrades  = "degrades"  // turns Degraded after Config.DegradeAfter; a sync does not help
	AppFixable   = "fixable"   // OutOfSync; one sync makes it Synced and Healthy
	AppStuck     = "stuck"     // Degraded and OutOfSync; every sync ends in phase Failed
	AppAutomated = "automated" // OutOfSync with spec.syncPolicy.automated: Argo CD's business
	AppOptedOut  = "opted-out" // OutOfSync, annotated argocd-monitor.io/auto-sync: "false"
)

// ScenarioApps lists the scenario apps in the order they are created.
var ScenarioApps = []string{AppHealthy, AppDegrades, AppFixable, AppStuck, AppAutomated, AppOptedOut}

// Namespace is the Applications' own namespace (Argo CD's control-plane namespace).
const Namespace = "argocd"

// ScenarioProject is the project of the scenario apps; filler apps spread over team-1..team-8.
const ScenarioProject = "demo"

// OptOutAnnotation is the annotation with which an app opts out of remediation.
const OptOutAnnotation = "argocd-monitor.io/auto-sync"

// SyncOutcome is what a sync does to an app once it finishes.
type SyncOutcome string

// The sync outcomes an app can have.
const (
	OutcomeSucceed SyncOutcome = "succeed" // phase Succeeded; Synced and Healthy
	OutcomeFail    SyncOutcome = "fail"    // phase Failed with a message; states unchanged
	OutcomeKeep    SyncOutcome = "keep"    // phase Succeeded and Synced, health unchanged (a broken workload)
	// OutcomeHang: the sync waits on a hook that never completes, so it stays Running until it
	// is terminated (DELETE .../operation), as a PreSync Job with no kubelet does.
	OutcomeHang SyncOutcome = "hang"
)

// HookMessage is the operationState.message of a sync waiting on its PreSync hook Job
// (OutcomeHang), as Argo CD writes it.
const HookMessage = "waiting for completion of hook batch/Job/%s-presync"

// TerminatedMessage is the operationState.message of a terminated operation.
const TerminatedMessage = "Operation terminated"

// FailMessage is the operationState.message of a failed sync (an Argo CD apply error).
const FailMessage = `one or more objects failed to apply, reason: Deployment.apps "%s" is invalid: spec.template.spec.containers[0].image: Required value`

// Config sets up a simulator. Zero durations take the defaults below.
type Config struct {
	// Token is the Bearer token clients must send; it must be JWT-shaped.
	Token string
	// Apps is the number of healthy filler apps served beside the scenario apps.
	Apps int
	// Fleets adds groups of apps sharing a destination and a parent (see Fleet).
	Fleets []Fleet
	// NoScenario leaves the scenario apps out (benchmarks that want only filler apps).
	NoScenario bool
	// DegradeAfter is when the `degrades` app turns Degraded, counted from New.
	DegradeAfter time.Duration
	// SyncPickup is how long an accepted sync waits (top-level `operation` set) before
	// operationState turns Running, like the application controller picking it up.
	SyncPickup time.Duration
	// SyncDuration is how long a sync stays Running before it finishes.
	SyncDuration time.Duration
	// KeepAlive is the SSE keepalive interval of the Watch stream.
	KeepAlive time.Duration
	// Gzip compresses answers for clients that accept gzip, as
	// argocd-server does by default, except the SSE stream. Off by
	// default: the simulator's own CPU would weigh on in-process benchmarks.
	Gzip bool
	// Logger logs sync calls and control changes; nil discards.
	Logger *slog.Logger
}

// Defaults for Config: the whole story fits in about a minute.
const (
	DefaultDegradeAfter = 20 * time.Second
	DefaultSyncPickup   = 500 * time.Millisecond
	DefaultSyncDuration = 3 * time.Second
	DefaultKeepAlive    = 15 * time.Second
)

// Sim is the simulated Argo CD: apps, their timers and the Watch subscribers.
type Sim struct {
	cfg   Config
	start time.Time

	token atomic.Pointer[string] // the Bearer token clients must send (SetToken rotates it)

	ignoreFields atomic.Bool // List answers whole items whatever `fields` asks
	faultMu      sync.Mutex
	faults       []Fault
	requests     []Request // the last maxRequests

	mu    sync.Mutex
	apps  map[string]*app // by appKey
	names []string        // appKeys, sorted, for List order
	rv    uint64          // list resourceVersion: bumped on every change
	subs  map[*subscriber]struct{}
	syncs map[string]*SyncStats
}

// SyncStats counts the sync calls that named one app, by how the simulator answered.
type SyncStats struct {
	Calls     int `json:"calls"`     // every POST .../sync that passed auth and named this app
	Accepted  int `json:"accepted"`  // answered 200: an operation started
	Busy      int `json:"busy"`      // 400 another operation is already in progress
	Forbidden int `json:"forbidden"` // 403 RBAC or sync window
	Deleting  int `json:"deleting"`  // 400 application is deleting
	// Terminated counts accepted DELETE .../operation calls (a running operation terminated).
	Terminated int `json:"terminated"`
	// RolledBack counts accepted POST .../rollback calls.
	RolledBack int `json:"rolledBack"`
	// LastRequest is the body of the last call, as decoded (what the exporter asked for).
	LastRequest *SyncRequest `json:"lastRequest,omitempty"`
}

// New builds a simulator with the scenario apps and cfg.Apps filler apps.
func New(cfg Config) (*Sim, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DegradeAfter <= 0 {
		cfg.DegradeAfter = DefaultDegradeAfter
	}
	if cfg.SyncPickup < 0 {
		cfg.SyncPickup = 0
	} else if cfg.SyncPickup == 0 {
		cfg.SyncPickup = DefaultSyncPickup
	}
	if cfg.SyncDuration <= 0 {
		cfg.SyncDuration = DefaultSyncDuration
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = DefaultKeepAlive
	}
	if !jwtShaped(cfg.Token) {
		return nil, fmt.Errorf("token must be JWT-shaped (three dot-separated parts)")
	}
	if cfg.Apps < 0 {
		return nil, fmt.Errorf("apps must not be negative, got %d", cfg.Apps)
	}
	fx, err := loadFixtures()
	if err != nil {
		return nil, err
	}
	s := &Sim{
		cfg:   cfg,
		start: time.Now(),
		apps:  make(map[string]*app, cfg.Apps+len(ScenarioApps)),
		subs:  make(map[*subscriber]struct{}),
		syncs: make(map[string]*SyncStats),
	}
	if !cfg.NoScenario {
		for _, name := range ScenarioApps {
			s.add(scenarioApp(name, fx, s.start, cfg))
		}
	}
	for i := 1; i <= cfg.Apps; i++ {
		s.add(fillerApp(i, fx, s.start))
	}
	for _, f := range cfg.Fleets {
		if err := f.validate(); err != nil {
			return nil, err
		}
		for _, a := range fleetApps(f, fx, s.start) {
			if s.apps[a.name] != nil {
				return nil, fmt.Errorf("fleet %q: app %q exists", f.Destination, a.name)
			}
			s.add(a)
		}
	}
	sort.Strings(s.names)
	s.token.Store(&cfg.Token)
	return s, nil
}

func (s *Sim) add(a *app) {
	s.rv++
	a.rv = s.rv
	k := appKey(a.namespace, a.name)
	s.apps[k] = a
	s.names = append(s.names, k)
}

// appKey is an app's key in Sim.apps: its name in the control-plane
// namespace, namespace/name elsewhere (Applications in any namespace).
func appKey(namespace, name string) string {
	if namespace == "" || namespace == Namespace {
		return name
	}
	return namespace + "/" + name
}

// advanceLocked applies every transition due at now (Run's ticker, and each request, call it).
// Each changed app is announced to Watch subscribers as MODIFIED.
func (s *Sim) advanceLocked(now time.Time) {
	for _, name := range ScenarioApps {
		a := s.apps[name]
		if a == nil {
			continue
		}
		if a.stepTo(now) {
			s.changedLocked(a, eventModified)
		}
	}
	// Filler apps only change through sync or the control API; walking 10k of them on every
	// tick would be wasted work, so only those with an operation in flight are stepped.
	for _, a := range s.apps {
		if a.scenario == "" && a.raw == nil && a.op != nil && a.stepTo(now) {
			s.changedLocked(a, eventModified)
		}
	}
}

// changedLocked invalidates the app's cached encodings, bumps resourceVersions and tells the
// Watch subscribers.
func (s *Sim) changedLocked(a *app, typ string) {
	s.rv++
	a.rv = s.rv
	a.listJSON = nil
	s.notifyLocked(a, typ)
}

// SyncCounts returns a copy of the sync call counts per app name.
func (s *Sim) SyncCounts() map[string]SyncStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]SyncStats, len(s.syncs))
	for k, v := range s.syncs {
		out[k] = *v
	}
	return out
}

func (s *Sim) statsLocked(name string) *SyncStats {
	st := s.syncs[name]
	if st == nil {
		st = &SyncStats{}
		s.syncs[name] = st
	}
	return st
}

// app is one simulated Application: a fixture document (metadata, spec) plus the state the
// story changes. Status is always rendered from the state.
type app struct {
	name      string
	namespace string // "" is Namespace
	project   string
	scenario  string // "" for filler apps
	base      map[string]any

	labels      map[string]string
	annotations map[string]string
	created     time.Time
	deleting    time.Time // zero unless being deleted
	destination string    // spec.destination.name of a fleet app ("" for the others)
	owner       string    // the ApplicationSet in metadata.ownerReferences ("" for none)
	automated   bool

	health      argocd.HealthStatus
	healthSince time.Time
	sync        argocd.SyncStatus
	target      string // the git commit the app is compared against (status.sync.revision)
	deployed    string // the commit last synced
	reconciled  time.Time
	conditions  []condition

	op        *operation      // top-level `operation`: set from the sync request until it completes
	opState   *operationState // status.operationState
	onSync    SyncOutcome
	history   []historyEntry
	resources []resource
	// manifestGen names, per revision, the commit that last changed the app's own manifests
	// ("" for the manifests the app started with): see handleManifests.
	manifestGen map[string]string

	syncWindow bool // syncs blocked by a sync window (403)
	syncDenied bool // the caller lacks `applications, sync` (403)

	degradeAt time.Time // zero when no degradation is scheduled

	rv       uint64
	listJSON []byte // cached List item encoding; nil when stale

	// raw, when set, is the whole document served for the app (SetItems):
	// a frozen Application whose status no story or sync changes.
	raw map[string]any
}

type condition struct {
	Type, Message string
	At            time.Time
}

type operation struct {
	request   SyncRequest
	username  string
	pickupAt  time.Time // operationState turns Running
	finishAt  time.Time // the sync ends with the app's outcome
	startedAt time.Time
	running   bool
	// terminating: a DELETE .../operation arrived; the operation ends Failed at finishAt.
	terminating bool
}

type operationState struct {
	phase      argocd.OperationPhase
	message    string
	startedAt  time.Time
	finishedAt time.Time // zero while running
	revision   string
	prune      bool
	username   string
	failed     bool // resources in syncResult failed
}

type historyEntry struct {
	id         int
	revision   string
	startedAt  time.Time
	deployedAt time.Time
	username   string
}

type resource struct {
	group, version, kind, name, namespace string
	health                                argocd.HealthStatus
	healthMessage                         string
}

// stepTo applies the app's due transitions; it reports whether anything changed.
func (a *app) stepTo(now time.Time) bool {
	changed := false
	if !a.degradeAt.IsZero() && !now.Before(a.degradeAt) {
		a.degradeAt = time.Time{}
		a.setHealth(argocd.HealthDegraded, now)
		a.resources[0].health = argocd.HealthDegraded
		a.resources[0].healthMessage = fmt.Sprintf(`Deployment "%s" exceeded its progress deadline`, a.resources[0].name)
		a.reconciled = now
		changed = true
	}
	if a.op != nil && !a.op.running && !now.Before(a.op.pickupAt) {
		a.op.running = true
		a.op.startedAt = a.op.pickupAt
		a.opState = &operationState{
			phase:     argocd.PhaseRunning,
			message:   "one or more tasks are running",
			startedAt: a.op.startedAt,
			revision:  a.target,
			prune:     a.op.request.Prune,
			username:  a.op.username,
		}
		changed = true
	}
	if a.op != nil && a.op.running && a.onSync == OutcomeHang && !a.op.terminating &&
		a.opState.message != fmt.Sprintf(HookMessage, a.name) {
		a.opState.message = fmt.Sprintf(HookMessage, a.name)
		changed = true
	}
	if a.op != nil && a.op.running && !now.Before(a.op.finishAt) && (a.onSync != OutcomeHang || a.op.terminating) {
		a.finishSync(a.op.finishAt)
		changed = true
	}
	return changed
}

// finishSync ends the running operation with the app's outcome, as the application controller
// does: operationState gets its terminal phase and `operation` is cleared.
func (a *app) finishSync(at time.Time) {
	st := a.opState
	st.finishedAt = at
	a.reconciled = at
	switch {
	case a.op.terminating:
		st.phase = argocd.PhaseFailed
		st.message = TerminatedMessage
		st.failed = true
	case a.onSync == OutcomeFail:
		st.phase = argocd.PhaseFailed
		st.message = fmt.Sprintf(FailMessage, a.name)
		st.failed = true
	default:
		st.phase = argocd.PhaseSucceeded
		st.message = "successfully synced (all tasks run)"
		a.sync = argocd.SyncSynced
		a.deployed = a.target
		if a.onSync == OutcomeSucceed {
			a.setHealth(argocd.HealthHealthy, at)
			for i := range a.resources {
				a.resources[i].health = argocd.HealthHealthy
				a.resources[i].healthMessage = ""
			}
		}
		a.history = append(a.history, historyEntry{
			id: nextHistoryID(a.history), revision: a.target, startedAt: st.startedAt, deployedAt: at, username: st.username,
		})
		if len(a.history) > historyLimit {
			a.history = a.history[len(a.history)-historyLimit:]
		}
	}
	a.op = nil
}

// rollbackTo is a finished rollback to rev: the app runs rev, Healthy, and stays OutOfSync
// against its target when that is another commit; the operation and a history entry record it.
func (a *app) rollbackTo(rev string, at time.Time) {
	a.opState = &operationState{phase: argocd.PhaseSucceeded, message: "successfully synced (all tasks run)",
		startedAt: at, finishedAt: at, revision: rev, username: Username}
	a.deployed, a.reconciled = rev, at
	if rev == a.target {
		a.sync = argocd.SyncSynced
	} else {
		a.sync = argocd.SyncOutOfSync
	}
	a.setHealth(argocd.HealthHealthy, at)
	for i := range a.resources {
		a.resources[i].health = argocd.HealthHealthy
		a.resources[i].healthMessage = ""
	}
	a.history = append(a.history, historyEntry{id: nextHistoryID(a.history), revision: rev, startedAt: at, deployedAt: at, username: Username})
	if len(a.history) > historyLimit {
		a.history = a.history[len(a.history)-historyLimit:]
	}
}

// historyLimit is Argo CD's default spec.revisionHistoryLimit.
const historyLimit = 10

// nextHistoryID is Argo CD's: the first entry of an app's history is id 0, each next one the
// last id plus one (ids survive the history's trimming).
func nextHistoryID(h []historyEntry) int {
	if len(h) == 0 {
		return 0
	}
	return h[len(h)-1].id + 1
}

func (a *app) setHealth(h argocd.HealthStatus, at time.Time) {
	if a.health != h {
		a.health = h
		a.healthSince = at
	}
}

// commit is a deterministic fake git commit id.
func commit(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:40]
}
