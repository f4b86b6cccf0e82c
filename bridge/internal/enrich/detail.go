package enrich

import "time"

// App is the exporter's answer about one app (GET /api/v1/apps/{namespace}/{name}, see
// docs/exporter.md). Decoded leniently: a field the exporter adds later is ignored, one it
// leaves out stays zero. Route templates see it as `$.Why.App namespace name`.
type App struct {
	Namespace             string       `json:"namespace"`
	Name                  string       `json:"name"`
	Project               string       `json:"project"`
	FetchedAt             time.Time    `json:"fetchedAt"`
	Health                *Health      `json:"health"`
	Sync                  *Sync        `json:"sync"`
	Operation             *Operation   `json:"operation"`
	FailingResources      []Resource   `json:"failingResources"`
	FailingResourcesTotal int          `json:"failingResourcesTotal"`
	Events                []Event      `json:"events"`
	OutOfSync             []Resource   `json:"outOfSync"`
	OutOfSyncTotal        int          `json:"outOfSyncTotal"`
	Commits               []Commit     `json:"commits"`
	LastDeploy            *Deploy      `json:"lastDeploy"`
	Remediation           *Remediation `json:"remediation"`
	Errors                []PartError  `json:"errors"`
}

// Health is the app's health.
type Health struct {
	Status  string    `json:"status"`
	Message string    `json:"message"`
	Since   time.Time `json:"since"`
}

// Sync is the app's sync status and revision(s).
type Sync struct {
	Status    string    `json:"status"`
	Revisions []string  `json:"revisions"`
	Since     time.Time `json:"since"`
}

// Operation is the app's last sync operation.
type Operation struct {
	Phase           string     `json:"phase"`
	Message         string     `json:"message"`
	StartedAt       time.Time  `json:"startedAt"`
	FinishedAt      time.Time  `json:"finishedAt"`
	InitiatedBy     Initiator  `json:"initiatedBy"`
	RetryCount      int        `json:"retryCount"`
	Revisions       []string   `json:"revisions"`
	FailedResources []Resource `json:"failedResources"`
}

// Initiator says who started an operation or deploy.
type Initiator struct {
	Automated bool   `json:"automated"`
	Username  string `json:"username"`
}

// Resource is one Kubernetes resource, with its health or sync status and message.
type Resource struct {
	Group     string `json:"group"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Health    string `json:"health"`
	Status    string `json:"status"`
	Message   string `json:"message"`
}

// Event is a Warning event of a failing resource.
type Event struct {
	Kind    string    `json:"kind"`
	Name    string    `json:"name"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	Count   int       `json:"count"`
	Last    time.Time `json:"last"`
}

// Commit is one source's revision and its commit.
type Commit struct {
	Revision    string    `json:"revision"`
	RepoURL     string    `json:"repoURL"`
	SourceIndex int       `json:"sourceIndex"`
	Author      string    `json:"author"`
	Date        time.Time `json:"date"`
	Message     string    `json:"message"`
}

// Deploy is the newest deploy in the app's history.
type Deploy struct {
	Revisions   []string  `json:"revisions"`
	DeployedAt  time.Time `json:"deployedAt"`
	InitiatedBy Initiator `json:"initiatedBy"`
}

// Remediation is the exporter's auto-sync story for the app.
type Remediation struct {
	Mode        string    `json:"mode"`
	MaxAttempts int       `json:"maxAttempts"`
	Attempts    []Attempt `json:"attempts"`
	Paused      bool      `json:"paused"`
	PausedAt    time.Time `json:"pausedAt"`
	NextAttempt time.Time `json:"nextAttempt"`
	ResetsOn    []string  `json:"resetsOn"`
	LastReset   *Reset    `json:"lastReset"`
}

// Attempt is one remediation sync.
type Attempt struct {
	N       int       `json:"n"`
	At      time.Time `json:"at"`
	Result  string    `json:"result"`
	Message string    `json:"message"`
	DoneAt  time.Time `json:"doneAt"`
}

// Reset ends a remediation streak.
type Reset struct {
	At       time.Time `json:"at"`
	Reason   string    `json:"reason"`
	Attempts []Attempt `json:"attempts"`
}

// PartError names a part of the answer Argo CD did not give in time.
type PartError struct {
	Part  string `json:"part"`
	Error string `json:"error"`
}
