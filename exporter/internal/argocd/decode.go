package argocd

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fastjson"
)

// AnnotationPrefix selects the annotations App keeps: the monitor's own.
// Other annotations (kubectl's last-applied-configuration can be KBs) would
// make 10k apps heavy in memory.
const AnnotationPrefix = "argocd-monitor.io/"

// appDecoder turns Application JSON into App. It parses each object once
// with fastjson (one pass, where encoding/json scans a value to find its end
// and again to decode it) and reads only the fields App keeps; everything
// else (status.resources, status.history, managedFields ...) is parsed but
// never converted. Not safe for concurrent use: it reuses its parser.
type appDecoder struct {
	p fastjson.Parser
}

// decode reads one Application object.
func (d *appDecoder) decode(b []byte) (App, error) {
	v, err := d.p.ParseBytes(b)
	if err != nil {
		return App{}, err
	}
	return appFromValue(v)
}

// fieldReader reads typed fields and keeps the first type error: a field
// the exporter uses holding the wrong type means the object is not what we
// think it is.
type fieldReader struct{ err error }

// intern returns b as a string shared with every equal one it has seen:
// label keys and values, projects, repos and revisions repeat across
// thousands of apps and across snapshots, and 10k copies of each would weigh
// on the heap. (unique.Make doubled a List's CPU; a map under a mutex does
// not, and halves a List's allocations.)
func intern(b []byte) string {
	interned.Lock()
	defer interned.Unlock()
	if s, ok := interned.m[string(b)]; ok {
		return s
	}
	if len(interned.m) >= maxInterned { // bounded: start over
		interned.m = nil
	}
	if interned.m == nil {
		interned.m = make(map[string]string, 1024)
	}
	s := string(b)
	interned.m[s] = s
	return s
}

// maxInterned bounds the strings intern keeps (a few per app at 10k apps).
const maxInterned = 1 << 16

var interned struct {
	sync.Mutex
	m map[string]string
}

// sharedStr is str for a value that repeats across apps (see intern).
func (r *fieldReader) sharedStr(v *fastjson.Value, path ...string) string {
	x := v.Get(path...)
	if x == nil || x.Type() != fastjson.TypeString {
		return r.str(v, path...)
	}
	b, _ := x.StringBytes()
	return intern(b)
}

func (r *fieldReader) str(v *fastjson.Value, path ...string) string {
	x := v.Get(path...)
	if x == nil {
		return ""
	}
	switch x.Type() {
	case fastjson.TypeString:
		b, _ := x.StringBytes()
		return string(b)
	case fastjson.TypeNull:
		return ""
	}
	if r.err == nil {
		r.err = fmt.Errorf("%s: want a string, got %s", strings.Join(path, "."), x.Type())
	}
	return ""
}

// present reports a value that is there and not null.
func present(v *fastjson.Value, path ...string) bool {
	x := v.Get(path...)
	return x != nil && x.Type() != fastjson.TypeNull
}

// object returns the object at path, nil when absent or null.
func (r *fieldReader) object(v *fastjson.Value, path ...string) *fastjson.Object {
	x := v.Get(path...)
	if x == nil || x.Type() == fastjson.TypeNull {
		return nil
	}
	o, err := x.Object()
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("%s: want an object, got %s", strings.Join(path, "."), x.Type())
	}
	return o
}

func (r *fieldReader) array(v *fastjson.Value, path ...string) []*fastjson.Value {
	x := v.Get(path...)
	if x == nil || x.Type() == fastjson.TypeNull {
		return nil
	}
	a, err := x.Array()
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("%s: want an array, got %s", strings.Join(path, "."), x.Type())
	}
	return a
}

// stringMap reads a map of strings (labels, annotations); keep filters keys.
func (r *fieldReader) stringMap(v *fastjson.Value, keep func(k []byte) bool, path ...string) map[string]string {
	o := r.object(v, path...)
	if o == nil || o.Len() == 0 {
		return nil
	}
	var m map[string]string
	o.Visit(func(k []byte, x *fastjson.Value) {
		if keep != nil && !keep(k) {
			return
		}
		if x.Type() != fastjson.TypeString {
			if r.err == nil {
				r.err = fmt.Errorf("%s.%s: want a string, got %s", strings.Join(path, "."), k, x.Type())
			}
			return
		}
		if m == nil {
			m = make(map[string]string, o.Len())
		}
		b, _ := x.StringBytes()
		m[intern(k)] = intern(b)
	})
	return m
}

func appFromValue(v *fastjson.Value) (App, error) {
	if v.Type() != fastjson.TypeObject {
		return App{}, fmt.Errorf("want an object, got %s", v.Type())
	}
	var r fieldReader
	a := App{
		Namespace:     r.sharedStr(v, "metadata", "namespace"),
		Name:          r.str(v, "metadata", "name"),
		Project:       r.sharedStr(v, "spec", "project"),
		Labels:        r.stringMap(v, nil, "metadata", "labels"),
		Annotations:   r.stringMap(v, ourAnnotation, "metadata", "annotations"),
		Deleting:      present(v, "metadata", "deletionTimestamp"),
		DestServer:    r.sharedStr(v, "spec", "destination", "server"),
		DestNamespace: r.str(v, "spec", "destination", "namespace"),

		Health:           parseHealth(r.str(v, "status", "health", "status")),
		HealthTransition: parseTime(r.str(v, "status", "health", "lastTransitionTime")),
		Sync:             parseSync(r.str(v, "status", "sync", "status")),
		ReconciledAt:     parseTime(r.str(v, "status", "reconciledAt")),

		OperationInProgress: present(v, "operation"),
	}
	if a.DestServer == "" {
		a.DestServer = r.sharedStr(v, "spec", "destination", "name")
	}
	a.ParentKind, a.Parent = r.parent(v, a.Labels)
	a.Revision = r.revision(v)
	if a.Repo = r.sharedStr(v, "spec", "source", "repoURL"); a.Repo == "" {
		if srcs := r.array(v, "spec", "sources"); len(srcs) > 0 {
			a.Repo = r.sharedStr(srcs[0], "repoURL")
		}
	}
	if auto := v.Get("spec", "syncPolicy", "automated"); auto != nil && auto.Type() != fastjson.TypeNull {
		en := v.Get("spec", "syncPolicy", "automated", "enabled")
		a.AutoSync = en == nil || en.Type() != fastjson.TypeFalse
	}
	conds := r.array(v, "status", "conditions")
	if len(conds) > 0 {
		a.Conditions = make(map[string]int, len(conds))
		for _, c := range conds {
			a.Conditions[r.sharedStr(c, "type")]++
		}
	}
	history := present(v, "status", "history")
	if h := r.array(v, "status", "history"); len(h) > 0 {
		last := h[len(h)-1]
		a.HasHistory, a.HistoryID = true, last.GetInt64("id")
		if a.HistoryRevision = r.sharedStr(last, "revision"); a.HistoryRevision == "" {
			var revs []string
			for _, x := range r.array(last, "revisions") {
				revs = append(revs, string(x.GetStringBytes()))
			}
			a.HistoryRevision = strings.Join(revs, ",")
		}
	}
	syncResult := false
	if r.object(v, "status", "operationState") != nil {
		a.Operation = &OperationState{
			Phase:      OperationPhase(r.str(v, "status", "operationState", "phase")),
			Message:    r.str(v, "status", "operationState", "message"),
			StartedAt:  parseTime(r.str(v, "status", "operationState", "startedAt")),
			FinishedAt: parseTime(r.str(v, "status", "operationState", "finishedAt")),
		}
		syncResult = present(v, "status", "operationState", "syncResult")
	}
	// Fields outside List's `fields` whitelist mean a whole Application (a
	// Get, or a List whose server ignored the projection): no Get needed.
	a.Detailed = r.str(v, "apiVersion") != "" || r.str(v, "metadata", "uid") != "" ||
		r.str(v, "metadata", "resourceVersion") != "" || r.str(v, "status", "reconciledAt") != "" ||
		present(v, "status", "conditions") || history ||
		(a.Operation != nil && (a.Operation.Message != "" || syncResult))
	if r.err != nil {
		return App{}, r.err
	}
	return a, nil
}

// revision is the commit (or, for a multi-source app, the comma-joined
// commits) the app is compared against: status.sync.revision(s), else the
// last sync's result.
func (r *fieldReader) revision(v *fastjson.Value) string {
	for _, base := range [][]string{{"status", "sync"}, {"status", "operationState", "syncResult"}} {
		if rev := r.sharedStr(v, append(base, "revision")...); rev != "" {
			return rev
		}
		if revs := r.array(v, append(base, "revisions")...); len(revs) > 0 {
			parts := make([]string, len(revs))
			for i, x := range revs {
				parts[i] = r.str(x)
			}
			return strings.Join(parts, ",")
		}
	}
	return ""
}

func ourAnnotation(k []byte) bool { return bytes.HasPrefix(k, []byte(AnnotationPrefix)) }

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

// maxAppSize bounds one Application object (a Get answer or a List item).
const maxAppSize = 64 << 20

// DecodeApp decodes one Application object (a Get answer).
func DecodeApp(r io.Reader) (App, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxAppSize+1))
	if err != nil {
		return App{}, err
	}
	if len(b) > maxAppSize {
		return App{}, fmt.Errorf("%w: application larger than %d bytes", ErrMalformedResponse, maxAppSize)
	}
	var d appDecoder
	a, err := d.decode(b)
	if err != nil {
		return App{}, fmt.Errorf("%w: application: %v", ErrMalformedResponse, err)
	}
	if a.Name == "" {
		return App{}, fmt.Errorf("%w: application without metadata.name", ErrMalformedResponse)
	}
	return a, nil
}

// DecodeList reads a List answer ({"metadata":..,"items":[...]}) as a stream:
// the scanner cuts one item at a time out of the body (about 12 KB an item on
// real installations, which is never held whole) and the item is decoded
// into an App. Any syntax error, a truncated body or trailing garbage fails
// the whole list: a half-read list must never replace a good one.
func DecodeList(r io.Reader) ([]App, error) {
	apps, err := decodeList(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedResponse, err)
	}
	return apps, nil
}

func decodeList(r io.Reader) ([]App, error) {
	sc := newScanner(r)
	var d appDecoder
	if err := sc.expect('{'); err != nil {
		return nil, err
	}
	apps := []App{}
	for first := true; ; first = false {
		c, err := sc.peek()
		if err != nil {
			return nil, err
		}
		if c == '}' {
			sc.skip(1)
			break
		}
		if !first {
			if err := sc.expect(','); err != nil {
				return nil, err
			}
		}
		key, err := sc.value()
		if err != nil {
			return nil, err
		}
		kv, err := d.p.ParseBytes(key)
		if err != nil || kv.Type() != fastjson.TypeString {
			return nil, fmt.Errorf("list object: want a key, got %.20q", key)
		}
		isItems := string(key) == `"items"`
		if err := sc.expect(':'); err != nil {
			return nil, err
		}
		if !isItems {
			// Any JSON value (metadata, kind, apiVersion...): checked, not kept.
			v, err := sc.value()
			if err != nil {
				return nil, err
			}
			if err := fastjson.ValidateBytes(v); err != nil {
				return nil, fmt.Errorf("list %s: %w", key, err)
			}
			continue
		}
		if apps, err = decodeItems(sc, &d, apps); err != nil {
			return nil, err
		}
	}
	if c, err := sc.peek(); err != io.EOF {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("data after the list object: %q", c)
	}
	return apps, nil
}

// decodeItems reads the items array (or null, Argo CD's empty list).
func decodeItems(sc *scanner, d *appDecoder, apps []App) ([]App, error) {
	c, err := sc.peek()
	if err != nil {
		return nil, err
	}
	if c == 'n' {
		v, err := sc.value()
		if err != nil || string(v) != "null" {
			return nil, fmt.Errorf("items: want an array, got %.20q", v)
		}
		return apps, nil
	}
	if err := sc.expect('['); err != nil {
		return nil, fmt.Errorf("items: %w", err)
	}
	for first := true; ; first = false {
		c, err := sc.peek()
		if err != nil {
			return nil, err
		}
		if c == ']' {
			sc.skip(1)
			return apps, nil
		}
		if !first {
			if err := sc.expect(','); err != nil {
				return nil, err
			}
		}
		item, err := sc.value()
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", len(apps), err)
		}
		a, err := d.decode(item)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", len(apps), err)
		}
		if a.Name == "" {
			return nil, fmt.Errorf("item %d: no metadata.name", len(apps))
		}
		apps = append(apps, a)
	}
}
