package argocdsim

import (
	"strings"
)

// listFieldWhitelist is every path List's `fields` can keep (API.md); anything else asked for is
// dropped without an error, as Argo CD's hand-written projection does.
var listFieldWhitelist = []string{
	"metadata.name", "metadata.namespace", "metadata.annotations", "metadata.labels",
	"metadata.creationTimestamp", "metadata.deletionTimestamp",
	"spec", "spec.destination", "spec.project", "spec.source", "spec.sources", "spec.sourceHydrator", "spec.syncPolicy",
	"status.sourceHydrator", "status.summary", "status.health", "status.resources",
	"status.sync.status", "status.sync.revision",
	"status.operationState.phase", "status.operationState.startedAt", "status.operationState.finishedAt",
	"status.operationState.operation.sync",
	"operation.sync",
}

// fieldSelection is a parsed `fields` query: a set of dotted paths, or with a leading `-` the
// paths to leave out.
type fieldSelection struct {
	paths   map[string]bool
	exclude bool
}

func parseFields(q string) fieldSelection {
	if q == "" {
		return fieldSelection{}
	}
	var fs fieldSelection
	if strings.HasPrefix(q, "-") {
		q = q[1:]
		fs.exclude = true
	}
	fs.paths = make(map[string]bool)
	for f := range strings.SplitSeq(q, ",") {
		fs.paths[f] = true
	}
	return fs
}

func (fs fieldSelection) active() bool { return len(fs.paths) > 0 }

// projectListItem keeps the whitelisted paths asked for as `items.<path>` (or, excluding, every
// whitelisted path not named), building nested objects; absent values are left out.
func projectListItem(doc map[string]any, fs fieldSelection) map[string]any {
	out := map[string]any{}
	for _, path := range listFieldWhitelist {
		if fs.paths["items."+path] == fs.exclude {
			continue
		}
		v, ok := lookup(doc, path)
		if !ok {
			continue
		}
		setPath(out, path, v)
	}
	return out
}

func lookup(doc map[string]any, path string) (any, bool) {
	var cur any = doc
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok || cur == nil {
			return nil, false
		}
	}
	return cur, true
}

func setPath(out map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := out[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			out[p] = next
		}
		out = next
	}
	out[parts[len(parts)-1]] = v
}

// projectStream applies a Watch `fields` selection to an event as argoproj/pkg's stream
// marshaler does: any path, matched by prefix, so `result.application.metadata.name` keeps the
// name and the objects above it.
func projectStream(path string, v any, fs fieldSelection) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			fp := k
			if path != "" {
				fp = path + "." + k
			}
			in := fs.paths[fp]
			parentIn := in
			if !parentIn {
				for p := range fs.paths {
					if strings.HasPrefix(p, fp) {
						parentIn = true
						break
					}
				}
			}
			if !(fs.exclude && !in || !fs.exclude && parentIn) {
				continue
			}
			if in {
				out[k] = x
			} else {
				out[k] = projectStream(fp, x, fs)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = projectStream(path, x, fs)
		}
		return out
	default:
		return v
	}
}
