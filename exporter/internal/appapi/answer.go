package appapi

import (
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/remediate"
)

// Answer is the JSON body of GET /api/v1/apps/{namespace}/{name}: what Argo
// CD and the remediation engine know about why an app is in trouble. It
// carries no spec beyond the source repo URLs: no Helm values or parameters,
// no credentials. docs/exporter.md documents every field.
type Answer struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	Project   string    `json:"project,omitempty"`
	FetchedAt time.Time `json:"fetchedAt"`

	Health *Health `json:"health,omitempty"`
	Sync   *Sync   `json:"sync,omitempty"`
	// Operation is the last sync operation (status.operationState).
	Operation *Operation `json:"operation,omitempty"`
	// FailingResources are the resource-tree nodes whose health is Degraded
	// or Missing (at most maxList; FailingResourcesTotal counts them all).
	FailingResources      []Resource `json:"failingResources,omitempty"`
	FailingResourcesTotal int        `json:"failingResourcesTotal,omitempty"`
	// Events are the newest Warning events of the failing resources, newest first.
	Events []Event `json:"events,omitempty"`
	// OutOfSync names the resources that differ from git (at most maxList).
	OutOfSync      []Resource `json:"outOfSync,omitempty"`
	OutOfSyncTotal int        `json:"outOfSyncTotal,omitempty"`
	// Commits are the synced (or target) revision's commit, one per source.
	Commits []Commit `json:"commits,omitempty"`
	// LastDeploy is the newest status.history entry: which revision went out, when, by whom.
	LastDeploy  *Deploy          `json:"lastDeploy,omitempty"`
	Remediation *remediate.Story `json:"remediation,omitempty"`
	// Errors name the parts Argo CD did not answer (in time); the rest is good.
	Errors []PartError `json:"errors,omitempty"`
}

// Health is status.health.
type Health struct {
	Status  string    `json:"status"`
	Message string    `json:"message,omitempty"`
	Since   time.Time `json:"since,omitzero"`
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

// Resource names one Kubernetes resource; Health, Status and Message are
// set where the list they are in has them.
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

// PartError names a part of the answer that is missing and why.
type PartError struct {
	Part  string `json:"part"` // application, resource-tree, events, revision-metadata
	Error string `json:"error"`
}
