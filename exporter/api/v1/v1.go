// Package v1 is the one definition of the contract between argocd-exporter's HTTP APIs and their
// clients (the slack-bridge imports it): the paths and JSON bodies of the read API
// (GET /api/v1/apps/{namespace}/{name}: why an app is in trouble) and of the write API
// (POST /api/v1/apps/{namespace}/{name}/remediation/{action}). The exporter maps its internal
// types onto these; its state file has types of its own, so a state-file change is no API change.
// docs/exporter.md and docs/remediation.md document every field. A field is only ever added
// (clients decode leniently: an unknown field is ignored, a missing one stays zero).
package v1

import (
	"net/url"
	"time"
)

// Routes (Go 1.22 mux syntax) the exporter serves.
const (
	// AppPattern is the read API: one app's App.
	AppPattern = "GET /api/v1/apps/{namespace}/{name}"
	// ResumePattern clears an app's remediation pause and makes one attempt due now.
	ResumePattern = "POST /api/v1/apps/{namespace}/{name}/remediation/" + ActionResume
	// TerminatePattern terminates the app's running operation (a sync stuck on a hook).
	TerminatePattern = "POST /api/v1/apps/{namespace}/{name}/remediation/" + ActionTerminate
	// RollbackPattern rolls the app back to the last revision seen Synced and Healthy and holds
	// it there.
	RollbackPattern = "POST /api/v1/apps/{namespace}/{name}/remediation/" + ActionRollback
)

// Write API actions: the last path segment.
const (
	// ActionResume resumes remediation.
	ActionResume = "resume"
	// ActionTerminate terminates the app's running operation.
	ActionTerminate = "terminate"
	// ActionRollback rolls the app back to its last healthy revision.
	ActionRollback = "rollback"
)

// AppPath is the read API's path for one app, its segments escaped.
func AppPath(namespace, name string) string {
	return "/api/v1/apps/" + url.PathEscape(namespace) + "/" + url.PathEscape(name)
}

// RemediationPath is the write API's path of an action on one app.
func RemediationPath(namespace, name, action string) string {
	return AppPath(namespace, name) + "/remediation/" + url.PathEscape(action)
}

// App is the read API's answer: what Argo CD and the remediation engine know about why an app is
// in trouble. It carries no spec beyond the source repo URLs: no Helm values or parameters, no
// credentials. Slack templates see it as `$.Why.App namespace name`.
type App struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	Project   string    `json:"project,omitempty"`
	FetchedAt time.Time `json:"fetchedAt"`

	Health *Health `json:"health,omitempty"`
	Sync   *Sync   `json:"sync,omitempty"`
	// Operation is the last sync operation (status.operationState).
	Operation *Operation `json:"operation,omitempty"`
	// FailingResources are the resource-tree nodes whose health is Degraded or Missing (at most
	// 10; FailingResourcesTotal counts them all).
	FailingResources      []Resource `json:"failingResources,omitempty"`
	FailingResourcesTotal int        `json:"failingResourcesTotal,omitempty"`
	// Events are the newest Warning events of the failing resources, newest first.
	Events []Event `json:"events,omitempty"`
	// OutOfSync names the resources that differ from git (at most 10).
	OutOfSync      []Resource `json:"outOfSync,omitempty"`
	OutOfSyncTotal int        `json:"outOfSyncTotal,omitempty"`
	// Commits are the synced (or target) revision's commit, one per source.
	Commits []Commit `json:"commits,omitempty"`
	// Conditions are status.conditions (at most 10), e.g. the ComparisonError that says why
	// Argo CD cannot reach the app's destination cluster.
	Conditions []Condition `json:"conditions,omitempty"`
	// LastDeploy is the newest status.history entry: which revision went out, when, by whom.
	LastDeploy  *Deploy      `json:"lastDeploy,omitempty"`
	Remediation *Remediation `json:"remediation,omitempty"`
	// Errors name the parts Argo CD did not answer (in time); the rest is good.
	Errors []PartError `json:"errors,omitempty"`
}

// Health is status.health.
type Health struct {
	Status  string    `json:"status"`
	Message string    `json:"message,omitempty"`
	Since   time.Time `json:"since,omitzero"`
}

// Condition is one of status.conditions: its type and message.
type Condition struct {
	Type    string `json:"type"`
	Message string `json:"message,omitempty"`
}

// Sync is status.sync; Since is when the synced revision was deployed.
type Sync struct {
	Status    string    `json:"status"`
	Revisions []string  `json:"revisions,omitempty"`
	Since     time.Time `json:"since,omitzero"`
}

// Operation is the last operation and what it said.
type Operation struct {
	Phase           string     `json:"phase"`
	Message         string     `json:"message,omitempty"`
	StartedAt       time.Time  `json:"startedAt,omitzero"`
	FinishedAt      time.Time  `json:"finishedAt,omitzero"`
	InitiatedBy     Initiator  `json:"initiatedBy"`
	RetryCount      int        `json:"retryCount,omitempty"`
	Revisions       []string   `json:"revisions,omitempty"`
	FailedResources []Resource `json:"failedResources,omitempty"`
}

// Initiator says who started an operation or deploy.
type Initiator struct {
	Automated bool   `json:"automated,omitempty"`
	Username  string `json:"username,omitempty"`
}

// Resource names one Kubernetes resource; Health, Status and Message are set where the list they
// are in has them.
type Resource struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Health    string `json:"health,omitempty"`
	Status    string `json:"status,omitempty"`
	Message   string `json:"message,omitempty"`
}

// Event is one Warning event of a failing resource.
type Event struct {
	Kind    string    `json:"kind"`
	Name    string    `json:"name"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	Count   int       `json:"count,omitempty"`
	Last    time.Time `json:"last,omitzero"`
}

// Commit is one source's revision and its commit metadata.
type Commit struct {
	Revision    string    `json:"revision"`
	RepoURL     string    `json:"repoURL,omitempty"`
	SourceIndex int       `json:"sourceIndex,omitempty"`
	Author      string    `json:"author,omitempty"`
	Date        time.Time `json:"date,omitzero"`
	Message     string    `json:"message,omitempty"` // first line only
}

// Deploy is one status.history entry.
type Deploy struct {
	Revisions   []string  `json:"revisions,omitempty"`
	DeployedAt  time.Time `json:"deployedAt,omitzero"`
	InitiatedBy Initiator `json:"initiatedBy"`
}

// Remediation is what the exporter's auto-sync remediation did and will do for the app.
type Remediation struct {
	Mode        string    `json:"mode"`
	MaxAttempts int       `json:"maxAttempts"`
	Attempts    []Attempt `json:"attempts,omitempty"`
	Paused      bool      `json:"paused"`
	PausedAt    time.Time `json:"pausedAt,omitzero"`
	NextAttempt time.Time `json:"nextAttempt,omitzero"`
	// ResetsOn says what gives the app fresh attempts.
	ResetsOn []string `json:"resetsOn,omitempty"`
	// LastReset is the previous streak's end, so a resolved alert can tell which attempt fixed
	// the app.
	LastReset *Reset `json:"lastReset,omitempty"`
	// Actions are what the remediation did besides syncs (terminate, hard_refresh, rollback),
	// newest last.
	Actions []RemediationAction `json:"actions,omitempty"`
	// TerminateAfter is how long an operation may run before the exporter terminates it
	// (--remediation.terminate-after); zero when it never does.
	TerminateAfter Duration `json:"terminateAfter,omitempty"`
	// HardRefresh is the hard refresh policy before attempt 2 and later: on-error, always or
	// off (--remediation.hard-refresh).
	HardRefresh string `json:"hardRefresh,omitempty"`
	// StopOnPermanent: remediation pauses after the first attempt that failed for a permanent
	// cause (--remediation.stop-on-permanent).
	StopOnPermanent bool `json:"stopOnPermanent,omitempty"`
	// Rollback is the rollback policy (--remediation.rollback): off, offer or auto.
	Rollback string `json:"rollback,omitempty"`
	// RollbackOffer, on a paused app that is not held: the last revision seen Synced and
	// Healthy, which a rollback would go back to.
	RollbackOffer *RollbackOffer `json:"rollbackOffer,omitempty"`
	// NoRollback says why a paused app is not offered a rollback (Argo CD auto-sync).
	NoRollback string `json:"noRollback,omitempty"`
	// Hold: the app was rolled back; no remediation sync brings the bad revision back until its
	// manifests change or a person resumes.
	Hold *Hold `json:"hold,omitempty"`
}

// RollbackOffer is a rollback the remediation offers.
type RollbackOffer struct {
	Revision     string    `json:"revision"`
	HealthyUntil time.Time `json:"healthyUntil"`
}

// Hold is an app rolled back from Bad to To.
type Hold struct {
	Bad string    `json:"bad"`
	To  string    `json:"to"`
	At  time.Time `json:"at"`
	// By is the person who asked; empty when the exporter rolled back on its own.
	By string `json:"by,omitempty"`
}

// RemediationAction is one thing the remediation did besides a sync.
type RemediationAction struct {
	// Kind: terminate (a running operation was terminated), hard_refresh (Argo CD regenerated
	// the manifests before the next attempt) or rollback (the app was rolled back to its last
	// healthy revision and is held).
	Kind string    `json:"kind"`
	At   time.Time `json:"at"`
	// Result: ok, forbidden or error (Argo CD's answer).
	Result string `json:"result"`
	// By is the person who asked (write API); empty when the exporter acted on its own.
	By      string `json:"by,omitempty"`
	Message string `json:"message,omitempty"`
}

// Duration is a time.Duration that travels as Go's text ("30m0s").
type Duration time.Duration

// MarshalText writes the duration as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads what MarshalText writes.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// Attempt is one remediation sync.
type Attempt struct {
	N  int       `json:"n"`
	At time.Time `json:"at"`
	// Result: pending (recorded, call not answered), triggered (Argo CD accepted it, outcome not
	// read yet), succeeded, failed or dry_run.
	Result string `json:"result"`
	// Message is Argo CD's operation message for a failed attempt, or why the app was still
	// broken after it.
	Message string    `json:"message,omitempty"`
	DoneAt  time.Time `json:"doneAt,omitzero"`
	// Cause classifies a failed attempt: invalid_manifest, immutable_field, admission_denied,
	// forbidden, missing_kind, hook_failed, stuck, transient or unknown (PermanentCause tells
	// which a retry cannot fix).
	Cause string `json:"cause,omitempty"`
}

// PermanentCause reports an Attempt.Cause a retry of the same revision cannot fix.
func PermanentCause(cause string) bool {
	switch cause {
	case "invalid_manifest", "immutable_field", "admission_denied", "forbidden", "missing_kind":
		return true
	}
	return false
}

// Reset is the end of a problem streak: why the engine gave up its count.
type Reset struct {
	At       time.Time `json:"at"`
	Reason   string    `json:"reason"`
	Attempts []Attempt `json:"attempts,omitempty"`
}

// PartError names a part of the answer that is missing and why.
type PartError struct {
	Part  string `json:"part"` // application, resource-tree, events, revision-metadata
	Error string `json:"error"`
}

// ActionRequest is the optional body of a write API request: who asked (the bridge sends the
// Slack user).
type ActionRequest struct {
	RequestedBy string `json:"requestedBy"`
}

// MaxRequestedBy bounds ActionRequest.RequestedBy, in bytes.
const MaxRequestedBy = 200

// ActionResponse is the write API's answer; Error is set on a refusal.
type ActionResponse struct {
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

// ErrorResponse is the read API's body for anything but 200.
type ErrorResponse struct {
	Error string `json:"error"`
}
