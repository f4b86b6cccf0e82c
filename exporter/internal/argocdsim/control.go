package argocdsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

// ControlState is the body of POST /sim/apps/{name}/state: every field optional, at least one
// set. Decoded strictly: an unknown key is an error.
type ControlState struct {
	Health   *argocd.HealthStatus `json:"health,omitempty"`
	Sync     *argocd.SyncStatus   `json:"sync,omitempty"`
	Revision *string              `json:"revision,omitempty"` // a new target commit (a push to git)
	OnSync   *SyncOutcome         `json:"onSync,omitempty"`   // what the next syncs do
	Deleting *bool                `json:"deleting,omitempty"` // sets or clears metadata.deletionTimestamp
	// SyncWindow blocks syncs with 403 "cannot sync: blocked by sync window".
	SyncWindow *bool `json:"syncWindow,omitempty"`
	// SyncDenied makes syncs fail RBAC with 403 "permission denied: applications, sync, ...".
	SyncDenied *bool `json:"syncDenied,omitempty"`
	// OwnChange, with Revision: the new commit changed this app's own manifests (a commit under
	// its path). Without it a new revision renders the same manifests as the previous one (a
	// commit elsewhere in a shared repository).
	OwnChange *bool `json:"ownChange,omitempty"`
}

// String renders the fields that are set, for logs.
func (cs ControlState) String() string {
	b, _ := json.Marshal(cs)
	return string(b)
}

// maxControlBody bounds a control request.
const maxControlBody = 64 << 10

// DecodeControl decodes and validates a control request body.
func DecodeControl(r io.Reader) (ControlState, error) {
	var cs ControlState
	b, err := io.ReadAll(io.LimitReader(r, maxControlBody+1))
	if err != nil {
		return cs, fmt.Errorf("read body: %w", err)
	}
	if len(b) > maxControlBody {
		return cs, fmt.Errorf("body larger than %d bytes", maxControlBody)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cs); err != nil {
		return ControlState{}, fmt.Errorf("decode state: %w", err)
	}
	if dec.More() {
		return ControlState{}, errors.New("decode state: trailing data after the JSON object")
	}
	if err := cs.validate(); err != nil {
		return ControlState{}, err
	}
	return cs, nil
}

func (cs ControlState) validate() error {
	if cs == (ControlState{}) {
		return errors.New("empty state: set at least one of health, sync, revision, onSync, deleting, syncWindow, syncDenied")
	}
	if cs.OwnChange != nil && cs.Revision == nil {
		return errors.New("ownChange needs revision: it says what the new commit changed")
	}
	if cs.Health != nil && !slices.Contains(argocd.HealthStatuses, *cs.Health) {
		return fmt.Errorf("health %q: want one of %v", *cs.Health, argocd.HealthStatuses)
	}
	if cs.Sync != nil && !slices.Contains(argocd.SyncStatuses, *cs.Sync) {
		return fmt.Errorf("sync %q: want one of %v", *cs.Sync, argocd.SyncStatuses)
	}
	if cs.OnSync != nil && !slices.Contains([]SyncOutcome{OutcomeSucceed, OutcomeFail, OutcomeKeep, OutcomeHang}, *cs.OnSync) {
		return fmt.Errorf("onSync %q: want succeed, fail, keep or hang", *cs.OnSync)
	}
	if cs.Revision != nil {
		rev := *cs.Revision
		if rev == "" || len(rev) > 64 || strings.Trim(rev, "0123456789abcdef") != "" {
			return fmt.Errorf("revision %q: want a lowercase hex commit id of at most 64 characters", rev)
		}
	}
	return nil
}

// SetState applies a control request to one app and announces the change on Watch streams.
func (s *Sim) SetState(name string, cs ControlState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.advanceLocked(now)
	a := s.apps[name]
	if a == nil {
		return fmt.Errorf("%w %q", ErrUnknownApp, name)
	}
	if cs.Health != nil {
		a.degradeAt = time.Time{} // an explicit state wins over the story
		a.setHealth(*cs.Health, now)
		a.resources[0].health = *cs.Health
		a.resources[0].healthMessage = ""
	}
	if cs.Revision != nil {
		if a.manifestGen == nil {
			a.manifestGen = map[string]string{}
		}
		if cs.OwnChange != nil && *cs.OwnChange {
			a.manifestGen[*cs.Revision] = *cs.Revision
		} else if _, known := a.manifestGen[*cs.Revision]; !known {
			a.manifestGen[*cs.Revision] = a.manifestGen[a.target]
		}
		a.target = *cs.Revision
		if a.target != a.deployed && cs.Sync == nil {
			a.sync = argocd.SyncOutOfSync
		}
	}
	if cs.Sync != nil {
		a.sync = *cs.Sync
		if a.sync == argocd.SyncSynced {
			a.deployed = a.target
		}
	}
	if a.sync == argocd.SyncSynced && a.health == argocd.HealthHealthy {
		a.conditions = nil // a repaired app has no warnings left
	}
	if cs.OnSync != nil {
		a.onSync = *cs.OnSync
	}
	if cs.Deleting != nil {
		a.deleting = time.Time{}
		if *cs.Deleting {
			a.deleting = now
		}
	}
	if cs.SyncWindow != nil {
		a.syncWindow = *cs.SyncWindow
	}
	if cs.SyncDenied != nil {
		a.syncDenied = *cs.SyncDenied
	}
	a.reconciled = now
	s.changedLocked(a, eventModified)
	return nil
}

// Delete removes an app, as when its Application is deleted; Watch clients get DELETED.
func (s *Sim) Delete(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[name]
	if a == nil {
		return fmt.Errorf("%w %q", ErrUnknownApp, name)
	}
	s.rv++
	a.rv = s.rv
	s.notifyLocked(a, eventDeleted)
	delete(s.apps, name)
	s.names = slices.DeleteFunc(s.names, func(n string) bool { return n == name })
	return nil
}

// AddFiller adds filler app number i (app-%05d, as Config.Apps makes them)
// and announces it on Watch streams as ADDED; it returns the app's name.
func (s *Sim) AddFiller(i int) (string, error) {
	fx, err := loadFixtures()
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := fillerApp(i, fx, time.Now())
	if s.apps[a.name] != nil {
		return "", fmt.Errorf("app %q exists", a.name)
	}
	s.add(a)
	slices.Sort(s.names)
	s.notifyLocked(a, eventAdded)
	return a.name, nil
}

// AppSummary is one scenario app's state as GET /sim/apps reports it (for the demo's narration).
type AppSummary struct {
	Name                string                `json:"name"`
	Project             string                `json:"project"`
	Health              argocd.HealthStatus   `json:"health"`
	Sync                argocd.SyncStatus     `json:"sync"`
	OperationInProgress bool                  `json:"operationInProgress"`
	Phase               argocd.OperationPhase `json:"phase,omitempty"`
	Message             string                `json:"message,omitempty"`
}

// Summaries returns the scenario apps' states.
func (s *Sim) Summaries() []AppSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(time.Now())
	var out []AppSummary
	for _, name := range ScenarioApps {
		a := s.apps[name]
		if a == nil {
			continue
		}
		sum := AppSummary{Name: a.name, Project: a.project, Health: a.health, Sync: a.sync, OperationInProgress: a.op != nil}
		if a.opState != nil {
			sum.Phase, sum.Message = a.opState.phase, a.opState.message
		}
		out = append(out, sum)
	}
	return out
}

// controlHandler serves the control API:
//
//	POST   /sim/apps/{name}/state  ControlState JSON: change an app
//	DELETE /sim/apps/{name}        delete an app
//	POST   /sim/destinations/{name}/state  {"reachable": bool}: break or mend a destination cluster
//	GET    /sim/apps               the scenario apps' states
//	GET    /sim/syncs              sync calls per app (SyncStats)
//	PUT    /sim/faults             []ControlFault JSON: replace the API's faults ([] for none)
func (s *Sim) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /sim/faults", func(w http.ResponseWriter, r *http.Request) {
		faults, err := DecodeFaults(http.MaxBytesReader(w, r.Body, maxControlBody+1))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.SetFaults(faults...)
		s.cfg.Logger.Info("API faults set", "faults", len(faults))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /sim/apps/{name}/state", func(w http.ResponseWriter, r *http.Request) {
		cs, err := DecodeControl(http.MaxBytesReader(w, r.Body, maxControlBody+1))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := s.SetState(r.PathValue("name"), cs); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		s.cfg.Logger.Info("app state changed", "app", r.PathValue("name"), "change", cs.String())
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /sim/apps/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Delete(r.PathValue("name")); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /sim/destinations/{name}/state", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Reachable *bool `json:"reachable"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxControlBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || body.Reachable == nil {
			http.Error(w, `want {"reachable": true|false}`, http.StatusBadRequest)
			return
		}
		n, err := s.SetDestinationReachable(r.PathValue("name"), *body.Reachable)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		s.cfg.Logger.Info("destination changed", "destination", r.PathValue("name"), "reachable", *body.Reachable, "apps", n)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /sim/apps", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, s.Summaries())
	})
	mux.HandleFunc("GET /sim/syncs", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, s.SyncCounts())
	})
	return mux
}

// ControlFault is one Fault as PUT /sim/faults takes it, for the processes that drive a
// running simulator (the chaos soak): 5xx answers, answers held past the client's timeout,
// watch streams cut after a few events.
type ControlFault struct {
	Endpoint string `json:"endpoint,omitempty"` // list, get, sync, watch; "" for all
	Status   int    `json:"status,omitempty"`   // answer this HTTP status (400-599)
	Message  string `json:"message,omitempty"`
	Delay    string `json:"delay,omitempty"` // a Go duration: wait this long (or until the client gives up) first
	Stall    bool   `json:"stall,omitempty"`
	CutAfter int    `json:"cutAfter,omitempty"`
}

// DecodeFaults decodes and validates a PUT /sim/faults body.
func DecodeFaults(r io.Reader) ([]Fault, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxControlBody+1))
	if err != nil {
		return nil, fmt.Errorf("read faults: %w", err)
	}
	if len(b) > maxControlBody {
		return nil, fmt.Errorf("body larger than %d bytes", maxControlBody)
	}
	var cfs []ControlFault
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfs); err != nil {
		return nil, fmt.Errorf("decode faults: %w", err)
	}
	out := make([]Fault, 0, len(cfs))
	for i, cf := range cfs {
		if !slices.Contains([]string{"", "list", "get", "sync", "watch"}, cf.Endpoint) {
			return nil, fmt.Errorf("fault %d: endpoint %q: want list, get, sync, watch or none", i, cf.Endpoint)
		}
		if cf.Status != 0 && (cf.Status < 400 || cf.Status > 599) {
			return nil, fmt.Errorf("fault %d: status %d: want 400-599", i, cf.Status)
		}
		f := Fault{Endpoint: cf.Endpoint, Status: cf.Status, Message: cf.Message, Stall: cf.Stall, CutAfter: cf.CutAfter}
		if cf.Delay != "" {
			if f.Delay, err = time.ParseDuration(cf.Delay); err != nil || f.Delay < 0 {
				return nil, fmt.Errorf("fault %d: delay %q: want a Go duration", i, cf.Delay)
			}
		}
		out = append(out, f)
	}
	return out, nil
}
