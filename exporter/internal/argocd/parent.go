package argocd

import (
	"strings"

	"github.com/valyala/fastjson"
)

// ParentKind is the kind of an app's parent: what generated or manages the
// Application object itself.
type ParentKind string

// The parents an app can have. Empty: no parent (a root app).
const (
	ParentApplicationSet ParentKind = "ApplicationSet"
	ParentApplication    ParentKind = "Application"
)

// Where Argo CD records that an Application manages a resource (here: a
// child Application of an app of apps). The annotation is the default
// tracking method of Argo CD 3, the label that of Argo CD 2 (its default
// application.instanceLabelKey).
const (
	TrackingIDAnnotation = "argocd.argoproj.io/tracking-id"
	InstanceLabel        = "app.kubernetes.io/instance"
)

// parent reads the app's parent: the ApplicationSet among
// metadata.ownerReferences (the ApplicationSet controller sets it), else the
// Application named by the tracking annotation
// ("<app>:argoproj.io/Application:<namespace>/<name>"), else by the
// instance label. The values are names, bounded by the number of apps.
//
// Argo CD's List `fields` whitelist has no metadata.ownerReferences: a
// projected List item never names its ApplicationSet (the stream and Get
// do; the poller keeps what they said).
func (r *fieldReader) parent(v *fastjson.Value, labels map[string]string) (ParentKind, string) {
	for _, o := range r.array(v, "metadata", "ownerReferences") {
		if r.str(o, "kind") == string(ParentApplicationSet) {
			if name := r.sharedStr(o, "name"); name != "" {
				return ParentApplicationSet, name
			}
		}
	}
	if id := r.str(v, "metadata", "annotations", TrackingIDAnnotation); id != "" {
		app, rest, ok := strings.Cut(id, ":")
		if ok && app != "" && strings.HasPrefix(rest, "argoproj.io/Application:") {
			return ParentApplication, intern([]byte(app))
		}
	}
	if app := labels[InstanceLabel]; app != "" {
		return ParentApplication, app
	}
	return "", ""
}
