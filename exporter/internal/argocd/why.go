package argocd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"
)

// The calls in this file answer "why is this app in trouble" on demand (the
// exporter's read API); the poll path never makes them. Each decodes only the
// fields it names: never spec.source.helm, parameters or anything else that
// may hold a secret.

// AppDetail is what one Get tells about an app's trouble, beyond App.
type AppDetail struct {
	Namespace, Name, Project string
	Health                   HealthStatus
	HealthMessage            string
	HealthSince              time.Time
	Sync                     SyncStatus
	// Revisions is status.sync.revision, or status.sync.revisions for a
	// multi-source app (one per source, in source order).
	Revisions []string
	// RepoURLs are the sources' repoURLs, in source order (for commit links).
	RepoURLs []string
	// MultiSource: spec.sources, so revision metadata is asked per sourceIndex.
	MultiSource bool
	Operation   *OperationDetail
	// OutOfSync are the status.resources whose status is OutOfSync.
	OutOfSync []ResourceRef
	// History is status.history, newest last (revisions and who deployed them).
	History []HistoryEntry
	// Conditions are status.conditions (ComparisonError names an unreachable cluster).
	Conditions []Condition
}

// Condition is one of status.conditions.
type Condition struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// OperationDetail is status.operationState with what it says about a sync.
type OperationDetail struct {
	Phase       OperationPhase
	Message     string
	StartedAt   time.Time
	FinishedAt  time.Time
	Automated   bool   // initiatedBy.automated: Argo CD's own auto-sync
	Username    string // initiatedBy.username: a person or an API account
	RetryCount  int
	Revisions   []string         // the revision(s) the operation synced to
	FailedItems []ResourceResult // syncResult.resources not Synced
}

// ResourceRef names one Kubernetes resource of an app.
type ResourceRef struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	UID       string `json:"uid,omitempty"`
}

// ResourceResult is one syncResult resource and what applying it said.
type ResourceResult struct {
	ResourceRef
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// HistoryEntry is one status.history item.
type HistoryEntry struct {
	// ID is the entry's id: what POST .../rollback names (0 is a valid id).
	ID         int64
	Revisions  []string
	DeployedAt time.Time
	Username   string
	Automated  bool
}

// TreeNode is one node of the resource tree with its health.
type TreeNode struct {
	ResourceRef
	Health        HealthStatus // "" for kinds without a health check
	HealthMessage string
	ParentUIDs    []string
}

// Event is one Kubernetes event of a resource.
type Event struct {
	Type, Reason, Message string
	Count                 int
	Last                  time.Time
	Object                ResourceRef
}

// RevisionMetadata is a commit's author, date and message.
type RevisionMetadata struct {
	Author  string
	Date    time.Time
	Message string
}

// appQuery is the appNamespace parameter every app-scoped call takes.
func appQuery(appNamespace string) url.Values {
	q := url.Values{}
	if appNamespace != "" {
		q.Set("appNamespace", appNamespace)
	}
	return q
}

// GetDetail Gets one application and decodes what AppDetail names.
// Naming the project makes a missing app a 404 rather than a 403.
func (c *Client) GetDetail(ctx context.Context, name, appNamespace, project string) (AppDetail, error) {
	var d AppDetail
	q := appQuery(appNamespace)
	if project != "" {
		q.Set("project", project)
	}
	err := c.do(ctx, "get", "GET", "applications/"+url.PathEscape(name), q, nil, func(body io.Reader) error {
		var err error
		d, err = DecodeDetail(body)
		return err
	})
	if err != nil {
		return AppDetail{}, fmt.Errorf("get application %s: %w", name, err)
	}
	return d, nil
}

// ResourceTree returns the app's resource tree nodes (since Argo CD 3.0 the
// only place per-resource health lives).
func (c *Client) ResourceTree(ctx context.Context, name, appNamespace string) ([]TreeNode, error) {
	var nodes []TreeNode
	err := c.do(ctx, "resource_tree", "GET", "applications/"+url.PathEscape(name)+"/resource-tree", appQuery(appNamespace), nil, func(body io.Reader) error {
		var err error
		nodes, err = DecodeTree(body)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("resource tree of %s: %w", name, err)
	}
	return nodes, nil
}

// Events returns the events of one of the app's resources.
func (c *Client) Events(ctx context.Context, name, appNamespace string, r ResourceRef) ([]Event, error) {
	q := appQuery(appNamespace)
	q.Set("resourceNamespace", r.Namespace)
	q.Set("resourceName", r.Name)
	if r.UID != "" {
		q.Set("resourceUID", r.UID)
	}
	var evs []Event
	err := c.do(ctx, "events", "GET", "applications/"+url.PathEscape(name)+"/events", q, nil, func(body io.Reader) error {
		var err error
		evs, err = DecodeEvents(body)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("events of %s %s/%s: %w", name, r.Kind, r.Name, err)
	}
	return evs, nil
}

// RevisionMetadata returns a git revision's commit metadata. sourceIndex is
// the source's position for a multi-source app, -1 otherwise.
func (c *Client) RevisionMetadata(ctx context.Context, name, appNamespace, revision string, sourceIndex int) (RevisionMetadata, error) {
	q := appQuery(appNamespace)
	if sourceIndex >= 0 {
		q.Set("sourceIndex", strconv.Itoa(sourceIndex))
	}
	var m RevisionMetadata
	path := "applications/" + url.PathEscape(name) + "/revisions/" + url.PathEscape(revision) + "/metadata"
	err := c.do(ctx, "revision_metadata", "GET", path, q, nil, func(body io.Reader) error {
		var err error
		m, err = DecodeRevisionMetadata(body)
		return err
	})
	if err != nil {
		return RevisionMetadata{}, fmt.Errorf("revision %s of %s: %w", revision, name, err)
	}
	return m, nil
}

type wireInitiator struct {
	Username  string `json:"username"`
	Automated bool   `json:"automated"`
}

type wireSource struct {
	RepoURL string `json:"repoURL"`
}

type wireDetail struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Project string       `json:"project"`
		Source  *wireSource  `json:"source"`
		Sources []wireSource `json:"sources"`
	} `json:"spec"`
	Status struct {
		Health struct {
			Status             string `json:"status"`
			Message            string `json:"message"`
			LastTransitionTime string `json:"lastTransitionTime"`
		} `json:"health"`
		Sync struct {
			Status    string   `json:"status"`
			Revision  string   `json:"revision"`
			Revisions []string `json:"revisions"`
		} `json:"sync"`
		Resources []struct {
			ResourceRef
			Status string `json:"status"`
		} `json:"resources"`
		Conditions []Condition `json:"conditions"`
		History    []struct {
			ID          int64         `json:"id"`
			Revision    string        `json:"revision"`
			Revisions   []string      `json:"revisions"`
			DeployedAt  string        `json:"deployedAt"`
			InitiatedBy wireInitiator `json:"initiatedBy"`
		} `json:"history"`
		OperationState *struct {
			Phase      string `json:"phase"`
			Message    string `json:"message"`
			StartedAt  string `json:"startedAt"`
			FinishedAt string `json:"finishedAt"`
			RetryCount int    `json:"retryCount"`
			Operation  struct {
				InitiatedBy wireInitiator `json:"initiatedBy"`
			} `json:"operation"`
			SyncResult *struct {
				Revision  string           `json:"revision"`
				Revisions []string         `json:"revisions"`
				Resources []ResourceResult `json:"resources"`
			} `json:"syncResult"`
		} `json:"operationState"`
	} `json:"status"`
}

// maxDetailItems bounds the lists AppDetail keeps from one (untrusted) answer.
const maxDetailItems = 1000

// DecodeDetail decodes one Application into an AppDetail.
func DecodeDetail(r io.Reader) (AppDetail, error) {
	var w wireDetail
	if err := json.NewDecoder(r).Decode(&w); err != nil {
		return AppDetail{}, fmt.Errorf("%w: application: %v", ErrMalformedResponse, err)
	}
	if w.Metadata.Name == "" {
		return AppDetail{}, fmt.Errorf("%w: application without metadata.name", ErrMalformedResponse)
	}
	st := &w.Status
	d := AppDetail{
		Namespace: w.Metadata.Namespace, Name: w.Metadata.Name, Project: w.Spec.Project,
		Health: parseHealth(st.Health.Status), HealthMessage: st.Health.Message,
		HealthSince: parseTime(st.Health.LastTransitionTime),
		Sync:        parseSync(st.Sync.Status),
		Revisions:   revisions(st.Sync.Revision, st.Sync.Revisions),
		MultiSource: len(w.Spec.Sources) > 0 && w.Spec.Source == nil,
	}
	if w.Spec.Source != nil {
		d.RepoURLs = []string{w.Spec.Source.RepoURL}
	} else {
		for _, s := range w.Spec.Sources {
			d.RepoURLs = append(d.RepoURLs, s.RepoURL)
		}
	}
	for _, r := range st.Resources {
		if r.Status == string(SyncOutOfSync) && len(d.OutOfSync) < maxDetailItems {
			d.OutOfSync = append(d.OutOfSync, r.ResourceRef)
		}
	}
	d.Conditions = st.Conditions[:min(len(st.Conditions), maxDetailItems)]
	for _, h := range st.History[max(len(st.History)-maxDetailItems, 0):] {
		d.History = append(d.History, HistoryEntry{
			ID: h.ID, Revisions: revisions(h.Revision, h.Revisions), DeployedAt: parseTime(h.DeployedAt),
			Username: h.InitiatedBy.Username, Automated: h.InitiatedBy.Automated,
		})
	}
	if op := st.OperationState; op != nil {
		od := &OperationDetail{
			Phase: OperationPhase(op.Phase), Message: op.Message,
			StartedAt: parseTime(op.StartedAt), FinishedAt: parseTime(op.FinishedAt),
			Automated: op.Operation.InitiatedBy.Automated, Username: op.Operation.InitiatedBy.Username,
			RetryCount: op.RetryCount,
		}
		if sr := op.SyncResult; sr != nil {
			od.Revisions = revisions(sr.Revision, sr.Revisions)
			for _, res := range sr.Resources {
				if res.Status != "" && res.Status != "Synced" && len(od.FailedItems) < maxDetailItems {
					od.FailedItems = append(od.FailedItems, res)
				}
			}
		}
		d.Operation = od
	}
	return d, nil
}

func revisions(one string, many []string) []string {
	if len(many) > 0 {
		return many
	}
	if one != "" {
		return []string{one}
	}
	return nil
}

// DecodeTree decodes an ApplicationTree (nodes only; orphaned nodes are not the app's).
func DecodeTree(r io.Reader) ([]TreeNode, error) {
	var w struct {
		Nodes []struct {
			ResourceRef
			Health *struct {
				Status  string `json:"status"`
				Message string `json:"message"`
			} `json:"health"`
			ParentRefs []struct {
				UID string `json:"uid"`
			} `json:"parentRefs"`
		} `json:"nodes"`
	}
	if err := json.NewDecoder(r).Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: resource tree: %v", ErrMalformedResponse, err)
	}
	nodes := make([]TreeNode, 0, len(w.Nodes))
	for _, n := range w.Nodes {
		t := TreeNode{ResourceRef: n.ResourceRef}
		if n.Health != nil {
			t.Health, t.HealthMessage = parseHealth(n.Health.Status), n.Health.Message
		}
		for _, p := range n.ParentRefs {
			t.ParentUIDs = append(t.ParentUIDs, p.UID)
		}
		nodes = append(nodes, t)
	}
	return nodes, nil
}

// DecodeEvents decodes an EventList.
func DecodeEvents(r io.Reader) ([]Event, error) {
	var w struct {
		Items []struct {
			Type           string      `json:"type"`
			Reason         string      `json:"reason"`
			Message        string      `json:"message"`
			Count          int         `json:"count"`
			LastTimestamp  string      `json:"lastTimestamp"`
			EventTime      string      `json:"eventTime"`
			FirstTimestamp string      `json:"firstTimestamp"`
			InvolvedObject ResourceRef `json:"involvedObject"`
		} `json:"items"`
	}
	if err := json.NewDecoder(r).Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: events: %v", ErrMalformedResponse, err)
	}
	evs := make([]Event, 0, len(w.Items))
	for _, it := range w.Items {
		last := parseTime(it.LastTimestamp)
		if last.IsZero() {
			last = parseMicroTime(it.EventTime)
		}
		if last.IsZero() {
			last = parseTime(it.FirstTimestamp)
		}
		evs = append(evs, Event{Type: it.Type, Reason: it.Reason, Message: it.Message, Count: it.Count, Last: last, Object: it.InvolvedObject})
	}
	return evs, nil
}

// parseMicroTime reads metav1.MicroTime (RFC 3339 with microseconds).
func parseMicroTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// DecodeRevisionMetadata decodes a RevisionMetadata answer.
func DecodeRevisionMetadata(r io.Reader) (RevisionMetadata, error) {
	var w struct {
		Author  string `json:"author"`
		Date    string `json:"date"`
		Message string `json:"message"`
	}
	if err := json.NewDecoder(r).Decode(&w); err != nil {
		return RevisionMetadata{}, fmt.Errorf("%w: revision metadata: %v", ErrMalformedResponse, err)
	}
	return RevisionMetadata{Author: w.Author, Date: parseTime(w.Date), Message: w.Message}, nil
}
