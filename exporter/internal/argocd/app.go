// Package argocd talks to the Argo CD REST API (List, Get, Sync) and owns the
// compact Application model the rest of the exporter works on.
package argocd

import "time"

// HealthStatus is an Application's status.health.status.
type HealthStatus string

// The health states Argo CD reports; anything else decodes to HealthUnknown.
const (
	HealthHealthy     HealthStatus = "Healthy"
	HealthProgressing HealthStatus = "Progressing"
	HealthDegraded    HealthStatus = "Degraded"
	HealthSuspended   HealthStatus = "Suspended"
	HealthMissing     HealthStatus = "Missing"
	HealthUnknown     HealthStatus = "Unknown"
)

// HealthStatuses lists every health state in the order metrics emit them.
var HealthStatuses = []HealthStatus{HealthHealthy, HealthProgressing, HealthDegraded, HealthSuspended, HealthMissing, HealthUnknown}

// SyncStatus is an Application's status.sync.status.
type SyncStatus string

// The sync states Argo CD reports; anything else decodes to SyncUnknown.
const (
	SyncSynced    SyncStatus = "Synced"
	SyncOutOfSync SyncStatus = "OutOfSync"
	SyncUnknown   SyncStatus = "Unknown"
)

// SyncStatuses lists every sync state in the order metrics emit them.
var SyncStatuses = []SyncStatus{SyncSynced, SyncOutOfSync, SyncUnknown}

// OperationPhase is status.operationState.phase.
type OperationPhase string

// The operation phases Argo CD reports.
const (
	PhaseRunning     OperationPhase = "Running"
	PhaseTerminating OperationPhase = "Terminating"
	PhaseFailed      OperationPhase = "Failed"
	PhaseError       OperationPhase = "Error"
	PhaseSucceeded   OperationPhase = "Succeeded"
)

// OperationPhases lists every operation phase in the order metrics emit them.
var OperationPhases = []OperationPhase{PhaseRunning, PhaseTerminating, PhaseFailed, PhaseError, PhaseSucceeded}

// App is the compact form of one Argo CD Application: only what the metrics
// and the remediation need, so 10k apps stay small in memory.
type App struct {
	Namespace string // metadata.namespace (the Application's own namespace)
	Name      string
	Project   string // spec.project

	Labels map[string]string
	// Annotations holds only the argocd-monitor.io/ ones (see AnnotationPrefix).
	Annotations map[string]string
	Deleting    bool // metadata.deletionTimestamp is set

	Repo          string // spec.source.repoURL (first of spec.sources when multi-source)
	DestServer    string // spec.destination.server, else spec.destination.name
	DestNamespace string
	AutoSync      bool // spec.syncPolicy.automated present and enabled != false

	// ParentKind and Parent name what owns the app in a fleet (see parent.go):
	// the ApplicationSet that generated it, or the Application (app of apps)
	// whose tracking label or annotation it carries. Both empty for a root app.
	ParentKind ParentKind
	Parent     string

	Health           HealthStatus
	HealthTransition time.Time // status.health.lastTransitionTime; zero when not reported
	Sync             SyncStatus
	// Revision is the commit the app is compared against: status.sync.revision,
	// or status.sync.revisions joined by "," for a multi-source app.
	Revision string
	// SyncSince is when the current sync status began. Argo CD does not
	// report it: the poller stamps it when it sees the status change, so
	// after a restart it starts from the first snapshot (a lower bound).
	SyncSince    time.Time
	ReconciledAt time.Time // status.reconciledAt; zero when not reported

	// Conditions counts status.conditions by type.
	Conditions map[string]int

	// OperationInProgress is true while the top-level `operation` field is set
	// (a sync was requested and has not completed).
	OperationInProgress bool
	// Operation is status.operationState; nil when the app has none.
	Operation *OperationState

	// HasHistory: the object carried status.history (a whole Application; List's projection
	// drops it); HistoryID and HistoryRevision are its newest entry's id and revision(s).
	HasHistory      bool
	HistoryID       int64
	HistoryRevision string

	// Detailed is true when the app came from a whole Application object.
	// A List item projected with `fields` lacks what the whitelist cannot
	// project (conditions, reconciledAt, operationState.message): then
	// Detailed is false and those fields are empty, not known to be empty.
	Detailed bool
}

// OperationState is the last (or current) operation's outcome.
type OperationState struct {
	Phase      OperationPhase
	Message    string
	StartedAt  time.Time
	FinishedAt time.Time
}

// Key identifies an app across polls: Application names are unique per namespace.
func (a *App) Key() string { return a.Namespace + "/" + a.Name }
