package argocd

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// AnnotationPrefix selects the annotations App keeps: the monitor's own.
// Other annotations (kubectl's last-applied-configuration can be KBs) would
// make 10k apps heavy in memory.
const AnnotationPrefix = "argocd-monitor.io/"

// wireApp is the part of an Application JSON object the exporter reads.
// Fields it does not name (status.resources, status.history, managedFields,
// syncResult ...) are scanned and skipped by encoding/json, never allocated.
type wireApp struct {
	APIVersion string `json:"apiVersion"`
	Metadata   struct {
		Name              string            `json:"name"`
		Namespace         string            `json:"namespace"`
		UID               string            `json:"uid"`
		ResourceVersion   string            `json:"resourceVersion"`
		Labels            map[string]string `json:"labels"`
		Annotations       map[string]string `json:"annotations"`
		DeletionTimestamp presence          `json:"deletionTimestamp"`
	} `json:"metadata"`
	Spec struct {
		Project     string `json:"project"`
		Destination struct {
			Server    string `json:"server"`
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"destination"`
		Source *struct {
			RepoURL string `json:"repoURL"`
		} `json:"source"`
		Sources []struct {
			RepoURL string `json:"repoURL"`
		} `json:"sources"`
		SyncPolicy *struct {
			Automated *struct {
				Enabled *bool `json:"enabled"`
			} `json:"automated"`
		} `json:"syncPolicy"`
	} `json:"spec"`
	Status struct {
		Health struct {
			Status             string `json:"status"`
			LastTransitionTime string `json:"lastTransitionTime"`
		} `json:"health"`
		Sync struct {
			Status    string   `json:"status"`
			Revision  string   `json:"revision"`
			Revisions []string `json:"revisions"` // multi-source apps
		} `json:"sync"`
		ReconciledAt string `json:"reconciledAt"`
		Conditions   []struct {
			Type string `json:"type"`
		} `json:"conditions"`
		History        presence `json:"history"`
		OperationState *struct {
			Phase      string `json:"phase"`
			Message    string `json:"message"`
			StartedAt  string `json:"startedAt"`
			FinishedAt string `json:"finishedAt"`
			SyncResult *struct {
				Revision  string   `json:"revision"`
				Revisions []string `json:"revisions"`
			} `json:"syncResult"`
		} `json:"operationState"`
	} `json:"status"`
	Operation presence `json:"operation"`
}

// presence records that a JSON value was there (and not null) without
// keeping it.
type presence bool

func (p *presence) UnmarshalJSON(b []byte) error {
	*p = presence(string(b) != "null")
	return nil
}

// complete reports whether the object carried fields outside List's `fields`
// whitelist: then it is a whole Application (a Get, or a List whose server
// ignored the projection) and needs no Get for detail.
func (w *wireApp) complete() bool {
	s := &w.Status
	return w.APIVersion != "" || w.Metadata.UID != "" || w.Metadata.ResourceVersion != "" ||
		s.ReconciledAt != "" || s.Conditions != nil || bool(s.History) ||
		(s.OperationState != nil && (s.OperationState.Message != "" || s.OperationState.SyncResult != nil))
}

// revision is the commit (or, for a multi-source app, the comma-joined
// commits) the app is compared against: status.sync.revision(s), else the
// last sync's result.
func (w *wireApp) revision() string {
	s := &w.Status.Sync
	switch {
	case s.Revision != "":
		return s.Revision
	case len(s.Revisions) > 0:
		return strings.Join(s.Revisions, ",")
	}
	if op := w.Status.OperationState; op != nil && op.SyncResult != nil {
		if op.SyncResult.Revision != "" {
			return op.SyncResult.Revision
		}
		return strings.Join(op.SyncResult.Revisions, ",")
	}
	return ""
}

func (w *wireApp) toApp() App {
	a := App{
		Namespace:           w.Metadata.Namespace,
		Name:                w.Metadata.Name,
		Project:             w.Spec.Project,
		Labels:              w.Metadata.Labels,
		Deleting:            bool(w.Metadata.DeletionTimestamp),
		DestServer:          w.Spec.Destination.Server,
		DestNamespace:       w.Spec.Destination.Namespace,
		Health:              parseHealth(w.Status.Health.Status),
		HealthTransition:    parseTime(w.Status.Health.LastTransitionTime),
		Sync:                parseSync(w.Status.Sync.Status),
		Revision:            w.revision(),
		ReconciledAt:        parseTime(w.Status.ReconciledAt),
		OperationInProgress: bool(w.Operation),
		Detailed:            w.complete(),
	}
	if a.DestServer == "" {
		a.DestServer = w.Spec.Destination.Name
	}
	switch {
	case w.Spec.Source != nil && w.Spec.Source.RepoURL != "":
		a.Repo = w.Spec.Source.RepoURL
	case len(w.Spec.Sources) > 0:
		a.Repo = w.Spec.Sources[0].RepoURL
	}
	if sp := w.Spec.SyncPolicy; sp != nil && sp.Automated != nil {
		a.AutoSync = sp.Automated.Enabled == nil || *sp.Automated.Enabled
	}
	for k, v := range w.Metadata.Annotations {
		if strings.HasPrefix(k, AnnotationPrefix) {
			if a.Annotations == nil {
				a.Annotations = make(map[string]string)
			}
			a.Annotations[k] = v
		}
	}
	if len(w.Status.Conditions) > 0 {
		a.Conditions = make(map[string]int, len(w.Status.Conditions))
		for _, c := range w.Status.Conditions {
			a.Conditions[c.Type]++
		}
	}
	if op := w.Status.OperationState; op != nil {
		a.Operation = &OperationState{
			Phase:      OperationPhase(op.Phase),
			Message:    op.Message,
			StartedAt:  parseTime(op.StartedAt),
			FinishedAt: parseTime(op.FinishedAt),
		}
	}
	return a
}

func parseHealth(s string) HealthStatus {
	for _, h := range HealthStatuses {
		if string(h) == s {
			return h
		}
	}
	return HealthUnknown
}

func parseSync(s string) SyncStatus {
	for _, v := range SyncStatuses {
		if string(v) == s {
			return v
		}
	}
	return SyncUnknown
}

// parseTime reads Argo CD's RFC 3339 timestamps; anything else is "not reported".
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// DecodeApp decodes one Application object (a Get answer).
func DecodeApp(r io.Reader) (App, error) {
	var w wireApp
	if err := json.NewDecoder(r).Decode(&w); err != nil {
		return App{}, fmt.Errorf("%w: application: %v", ErrMalformedResponse, err)
	}
	if w.Metadata.Name == "" {
		return App{}, fmt.Errorf("%w: application without metadata.name", ErrMalformedResponse)
	}
	return w.toApp(), nil
}

// DecodeList reads a List answer ({"metadata":..,"items":[...]}) as a stream:
// one item is decoded at a time into a small struct and converted to App, so
// the body (about 12 KB an item on real installations) is never held whole.
// Any syntax error, a truncated body or trailing garbage fails the whole
// list: a half-read list must never replace a good one.
func DecodeList(r io.Reader) ([]App, error) {
	apps, err := decodeList(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedResponse, err)
	}
	return apps, nil
}

func decodeList(r io.Reader) ([]App, error) {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	apps := []App{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("unexpected %v in list object", tok)
		}
		if key != "items" {
			var skip json.RawMessage // any JSON value: metadata, kind, apiVersion...
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("list %s: %w", key, err)
			}
			continue
		}
		// "items": null is what Argo CD sends for an empty list.
		tok, err = dec.Token()
		if err != nil {
			return nil, err
		}
		if tok == nil {
			continue
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return nil, fmt.Errorf("items: want array, got %v", tok)
		}
		for dec.More() {
			var w wireApp
			if err := dec.Decode(&w); err != nil {
				return nil, fmt.Errorf("item %d: %w", len(apps), err)
			}
			if w.Metadata.Name == "" {
				return nil, fmt.Errorf("item %d: no metadata.name", len(apps))
			}
			apps = append(apps, w.toApp())
		}
		if err := expectDelim(dec, ']'); err != nil {
			return nil, err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the list object")
	}
	return apps, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", want, tok)
	}
	return nil
}
