package argocdsim

import (
	"bufio"
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

// gRPC status codes Argo CD answers with (the error body carries the code).
const (
	codeUnknown            = 2
	codeInvalidArgument    = 3
	codeNotFound           = 5
	codePermissionDenied   = 7
	codeFailedPrecondition = 9
	codeUnauthenticated    = 16
)

// httpStatus maps a gRPC code to the HTTP status grpc-gateway answers with.
func httpStatus(code int) int {
	switch code {
	case codeInvalidArgument, codeFailedPrecondition:
		return http.StatusBadRequest
	case codeNotFound:
		return http.StatusNotFound
	case codePermissionDenied:
		return http.StatusForbidden
	case codeUnauthenticated:
		return http.StatusUnauthorized
	default:
		return http.StatusInternalServerError
	}
}

// Version is what GET /api/version reports.
const Version = "v3.5.1+argocd-monitor-sim"

// Username is the account the simulated token belongs to (the sub of RBAC messages).
const Username = "argocd-monitor"

// maxBody bounds request bodies (sync requests and control calls are small).
const maxBody = 1 << 20

// Handler serves the simulated Argo CD API (/api/...) and the control API (/sim/...).
func (s *Sim) Handler() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("GET /api/version", s.handleVersion)
	api.HandleFunc("GET /api/v1/applications", s.authed(s.handleList))
	api.HandleFunc("GET /api/v1/applications/{name}", s.authed(s.handleGet))
	api.HandleFunc("POST /api/v1/applications/{name}/sync", s.authed(s.handleSync))
	api.HandleFunc("DELETE /api/v1/applications/{name}/operation", s.authed(s.handleTerminate))
	api.HandleFunc("POST /api/v1/applications/{name}/rollback", s.authed(s.handleRollback))
	api.HandleFunc("GET /api/v1/applications/{name}/manifests", s.authed(s.handleManifests))
	api.HandleFunc("GET /api/v1/stream/applications", s.authed(s.handleWatch))
	api.HandleFunc("GET /api/v1/applications/{name}/resource-tree", s.authed(s.handleResourceTree))
	api.HandleFunc("GET /api/v1/applications/{name}/events", s.authed(s.handleEvents))
	api.HandleFunc("GET /api/v1/applications/{name}/revisions/{revision}/metadata", s.authed(s.handleRevisionMetadata))
	api.HandleFunc("/api/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, codeNotFound, "Not Found")
	})

	apiHandler := s.faulty(enforceContentType(api))
	if s.cfg.Gzip {
		apiHandler = compressed(apiHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", apiHandler)
	mux.Handle("/sim/", s.controlHandler())
	return mux
}

// enforceContentType rejects non-GET requests whose Content-Type is not exactly
// application/json, before auth, as Argo CD's server does.
func enforceContentType(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "Invalid content type", http.StatusUnsupportedMediaType)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeError writes Argo CD's error body {"error","code","message"}.
func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus(code))
	_ = json.NewEncoder(w).Encode(map[string]any{"error": msg, "code": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// jwtShaped reports whether a bearer value looks like a JWT: Argo CD ignores anything else.
func jwtShaped(tok string) bool {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
	}
	return true
}

// authed checks the Bearer token like Argo CD: no or non-JWT value is "no session information",
// a JWT that is not ours is an invalid session.
func (s *Sim) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !jwtShaped(tok) {
			writeError(w, codeUnauthenticated, "no session information")
			return
		}
		if subtle.ConstantTimeCompare([]byte(tok), []byte(*s.token.Load())) != 1 {
			writeError(w, codeUnauthenticated, "invalid session: token signature is invalid")
			return
		}
		h(w, r)
	}
}

func (s *Sim) handleVersion(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]string{"Version": Version})
}

// appFilter is the query List and Watch share.
type appFilter struct {
	sel       labels.Selector
	projects  []string
	namespace string
	repo      string
}

func parseFilter(r *http.Request) (appFilter, error) {
	q := r.URL.Query()
	sel, err := labels.Parse(q.Get("selector"))
	if err != nil {
		return appFilter{}, fmt.Errorf("error parsing the selector: %w", err)
	}
	projects := q["projects"]
	projects = append(projects, q["project"]...) // the deprecated singular form
	return appFilter{sel: sel, projects: projects, namespace: q.Get("appNamespace"), repo: q.Get("repo")}, nil
}

func (f appFilter) matches(a *app) bool {
	if len(f.projects) > 0 && !slices.Contains(f.projects, a.project) {
		return false
	}
	if f.namespace != "" && f.namespace != cmp.Or(a.namespace, Namespace) {
		return false
	}
	if f.repo != "" {
		src, _ := a.base["spec"].(map[string]any)["source"].(map[string]any)
		if repo, _ := src["repoURL"].(string); repo != f.repo {
			return false
		}
	}
	return f.sel.Matches(labels.Set(a.labels))
}

// handleList streams the List answer one item at a time from cached encodings, so 10k apps
// (~120 MB) never sit in memory twice.
func (s *Sim) handleList(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r)
	if err != nil {
		writeError(w, codeUnknown, err.Error())
		return
	}
	fs := parseFields(r.URL.Query().Get("fields"))

	s.mu.Lock()
	s.advanceLocked(time.Now())
	rv := s.rv
	var items [][]byte
	var docs []map[string]any
	for _, name := range s.names {
		a := s.apps[name]
		if !f.matches(a) {
			continue
		}
		if fs.active() && !s.ignoreFields.Load() {
			docs = append(docs, projectListItem(a.document(false), fs))
		} else {
			items = append(items, a.listItem())
		}
	}
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	bw := bufio.NewWriterSize(w, 64<<10)
	// No kind/apiVersion: Argo CD's List leaves the list's TypeMeta empty, so it never writes them.
	fmt.Fprintf(bw, `{"metadata":{"resourceVersion":"%d"}`, rv)
	n := len(items) + len(docs)
	if n == 0 {
		bw.WriteString(`,"items":null}`) // Argo CD's encoding of an empty list
		bw.Flush()
		return
	}
	bw.WriteString(`,"items":[`)
	for i, b := range items {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.Write(b)
	}
	for i, d := range docs {
		if i > 0 {
			bw.WriteByte(',')
		}
		b, _ := json.Marshal(d)
		bw.Write(b)
	}
	bw.WriteString("]}")
	bw.Flush()
}

// findLocked resolves an app for Get and Sync with Argo CD's semantics: a missing app is 403
// (no existence leak) unless the request names a project, then 404; an app in another project
// than the one named is 404 too.
func (s *Sim) findLocked(name, project, namespace string) (*app, int, string) {
	a := s.apps[appKey(namespace, name)]
	notFound := fmt.Sprintf("applications.argoproj.io %q not found", name)
	switch {
	case a == nil && namespace != "" && namespace != Namespace:
		return nil, codePermissionDenied, "permission denied" // a namespace Argo CD does not manage apps in
	case a == nil && project == "":
		return nil, codePermissionDenied, "permission denied"
	case a == nil:
		return nil, codeNotFound, notFound
	case project != "" && a.project != project:
		return nil, codeNotFound, notFound
	}
	return a, 0, ""
}

func (s *Sim) handleGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	now := time.Now()
	s.advanceLocked(now)
	a, code, msg := s.findLocked(r.PathValue("name"), q.Get("project"), q.Get("appNamespace"))
	if a == nil {
		s.mu.Unlock()
		writeError(w, code, msg)
		return
	}
	if rf := q.Get("refresh"); rf == "normal" || rf == "hard" {
		a.reconciled = now
		s.changedLocked(a, eventModified)
	}
	doc := a.document(true)
	s.mu.Unlock()
	writeJSON(w, doc)
}

// SyncRequest is the body of POST /api/v1/applications/{name}/sync, decoded leniently as
// Argo CD does: unknown fields (such as the mistaken `retry`) are ignored.
type SyncRequest struct {
	Name          string          `json:"name,omitempty"`
	Revision      string          `json:"revision,omitempty"`
	Prune         bool            `json:"prune,omitempty"`
	DryRun        bool            `json:"dryRun,omitempty"`
	Strategy      json.RawMessage `json:"strategy,omitempty"`
	Resources     []SyncResource  `json:"resources,omitempty"`
	SyncOptions   *SyncOptions    `json:"syncOptions,omitempty"`
	RetryStrategy json.RawMessage `json:"retryStrategy,omitempty"`
	AppNamespace  string          `json:"appNamespace,omitempty"`
	Project       string          `json:"project,omitempty"`
}

// SyncResource names one resource of a partial sync.
type SyncResource struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// SyncOptions is the sync request's syncOptions ({"items": [...]}).
type SyncOptions struct {
	Items []string `json:"items"`
}

// operationSync renders the request as the Application's operation.sync.
func (r SyncRequest) operationSync(target string) map[string]any {
	rev := r.Revision
	if rev == "" {
		rev = target
	}
	op := map[string]any{"revision": rev}
	if r.Prune {
		op["prune"] = true
	}
	if r.DryRun {
		op["dryRun"] = true
	}
	var strategy any = map[string]any{"hook": map[string]any{}}
	if len(r.Strategy) > 0 {
		_ = json.Unmarshal(r.Strategy, &strategy)
	}
	op["syncStrategy"] = strategy
	if r.SyncOptions != nil && len(r.SyncOptions.Items) > 0 {
		items := make([]any, len(r.SyncOptions.Items))
		for i, s := range r.SyncOptions.Items {
			items[i] = s
		}
		op["syncOptions"] = items
	}
	return op
}

func (s *Sim) handleSync(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var req SyncRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, codeInvalidArgument, "read body: "+err.Error())
		return
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			writeError(w, codeInvalidArgument, err.Error())
			return
		}
	}

	s.mu.Lock()
	now := time.Now()
	s.advanceLocked(now)
	st := s.statsLocked(name)
	st.Calls++
	st.LastRequest = &req
	code, msg := s.syncLocked(name, req, now, st)
	var doc map[string]any
	if code == 0 {
		doc = s.apps[appKey(req.AppNamespace, name)].document(true)
	}
	s.mu.Unlock()
	if code != 0 {
		s.cfg.Logger.Info("sync refused", "app", name, "status", httpStatus(code), "reason", msg)
		writeError(w, code, msg)
		return
	}
	s.cfg.Logger.Info("sync accepted", "app", name, "prune", req.Prune, "project", req.Project)
	writeJSON(w, doc)
}

// syncLocked applies a sync request in Argo CD's order of checks; code 0 means accepted.
func (s *Sim) syncLocked(name string, req SyncRequest, now time.Time, st *SyncStats) (int, string) {
	a, code, msg := s.findLocked(name, req.Project, req.AppNamespace)
	if a == nil {
		return code, msg
	}
	if a.syncDenied {
		st.Forbidden++
		return codePermissionDenied, fmt.Sprintf("permission denied: applications, sync, %s/%s, sub: %s, iat: %s",
			a.project, a.name, Username, ts(s.start))
	}
	if !a.deleting.IsZero() {
		st.Deleting++
		return codeFailedPrecondition, "application is deleting"
	}
	if a.syncWindow {
		st.Forbidden++
		return codePermissionDenied, "cannot sync: blocked by sync window"
	}
	if a.op != nil {
		st.Busy++
		return codeFailedPrecondition, "another operation is already in progress"
	}
	st.Accepted++
	if a.raw != nil {
		return 0, "" // a frozen document: accepted, nothing runs
	}
	a.op = &operation{
		request:  req,
		username: Username,
		pickupAt: now.Add(s.cfg.SyncPickup),
		finishAt: now.Add(s.cfg.SyncPickup + s.cfg.SyncDuration),
	}
	s.changedLocked(a, eventModified)
	return 0, ""
}

// handleTerminate is DELETE /api/v1/applications/{name}/operation: Argo CD marks the running
// operation Terminating and its controller ends it Failed, "Operation terminated" (here after
// Config.SyncPickup); a terminate while Terminating is accepted again (the server only checks
// that `operation` is set). No operation is a 400; the RBAC check is `applications, sync`.
func (s *Sim) handleTerminate(w http.ResponseWriter, r *http.Request) {
	name, q := r.PathValue("name"), r.URL.Query()
	s.mu.Lock()
	now := time.Now()
	s.advanceLocked(now)
	a, code, msg := s.findLocked(name, q.Get("project"), q.Get("appNamespace"))
	switch {
	case a == nil:
	case a.syncDenied:
		code, msg = codePermissionDenied, fmt.Sprintf("permission denied: applications, sync, %s/%s, sub: %s, iat: %s",
			a.project, a.name, Username, ts(s.start))
	case a.op == nil || a.opState == nil:
		code, msg = codeInvalidArgument, "Unable to terminate operation. No operation is in progress"
	case a.op.terminating:
		// Argo CD sets phase Terminating again while `operation` is set: 200, nothing changes.
	default:
		if !a.op.running { // not picked up yet: the controller starts and ends it at once
			a.op.running, a.op.startedAt = true, now
			a.opState = &operationState{startedAt: now, revision: a.target, prune: a.op.request.Prune, username: a.op.username}
		}
		a.op.terminating = true
		a.op.finishAt = now.Add(s.cfg.SyncPickup)
		a.opState.phase = argocd.PhaseTerminating
		s.statsLocked(name).Terminated++
		s.changedLocked(a, eventModified)
	}
	s.mu.Unlock()
	if code != 0 {
		writeError(w, code, msg)
		return
	}
	s.cfg.Logger.Info("operation terminated", "app", name)
	writeJSON(w, map[string]any{})
}

// handleRollback is POST /api/v1/applications/{name}/rollback {"id": N, ...}: as Argo CD does,
// it redeploys the revision of history entry N (here at once: phase Succeeded, a new history
// entry), after which the app is Healthy at that revision and OutOfSync against its target (the
// branch head). Refused: a body without id (500, as Argo CD v3.5; v3.2 reads it as id 0), an app
// being deleted or with auto-sync enabled (400 code 9, FailedPrecondition), an operation in
// progress (400), an unknown id (400 code 3); the RBAC check is `applications, sync`.
func (s *Sim) handleRollback(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var body map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&body); err != nil {
		writeError(w, codeInvalidArgument, "invalid request body: "+err.Error())
		return
	}
	rawID, ok := body["id"]
	var id int64
	if ok {
		if err := json.Unmarshal(rawID, &id); err != nil {
			writeError(w, codeInvalidArgument, "invalid id: "+err.Error())
			return
		}
	}
	var project, ns string
	_ = json.Unmarshal(body["project"], &project)
	_ = json.Unmarshal(body["appNamespace"], &ns)
	s.mu.Lock()
	now := time.Now()
	s.advanceLocked(now)
	a, code, msg := s.findLocked(name, project, ns)
	var rev string
	switch {
	case a == nil:
	case !ok:
		// Argo CD v3.5.1 dereferences the missing id: a 500.
		code, msg = codeUnknown, "runtime error: invalid memory address or nil pointer dereference"
	case a.syncDenied:
		code, msg = codePermissionDenied, fmt.Sprintf("permission denied: applications, sync, %s/%s, sub: %s, iat: %s",
			a.project, a.name, Username, ts(s.start))
	case !a.deleting.IsZero():
		code, msg = codeFailedPrecondition, "application is deleting"
	case a.automated:
		code, msg = codeFailedPrecondition, "rollback cannot be initiated when auto-sync is enabled"
	case a.op != nil:
		code, msg = codeFailedPrecondition, "another operation is already in progress"
	default:
		for _, h := range a.history {
			if int64(h.id) == id {
				rev = h.revision
			}
		}
		if rev == "" {
			// Argo CD names the app by its qualified name, namespace/name.
			code, msg = codeInvalidArgument, fmt.Sprintf("application %s/%s does not have deployment with id %d", Namespace, name, id)
			break
		}
		a.rollbackTo(rev, now)
		s.statsLocked(name).RolledBack++
		s.changedLocked(a, eventModified)
	}
	var doc map[string]any
	if code == 0 {
		doc = a.document(true)
	}
	s.mu.Unlock()
	if code != 0 {
		writeError(w, code, msg)
		return
	}
	s.cfg.Logger.Info("rolled back", "app", name, "id", id, "revision", rev)
	writeJSON(w, doc)
}

// Run advances the scenario on a ticker until ctx ends, so Watch clients see changes as they
// happen.
func (s *Sim) Run(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.mu.Lock()
			s.advanceLocked(time.Now())
			s.mu.Unlock()
		}
	}
}

// ErrUnknownApp is returned by control calls naming an app the simulator does not have.
var ErrUnknownApp = errors.New("unknown app")
