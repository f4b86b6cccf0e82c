package argocdsim

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

// Fleet is a group of healthy apps that share a destination cluster and a
// parent, for the fleet story (one cluster or one parent breaking many apps):
// apps "<Destination>-NN" with spec.destination.name Destination, owned by
// the ApplicationSet "<Destination>-apps" (metadata.ownerReferences) or, with
// ParentKind Application, tracked by the Application "<Destination>-root"
// (the argocd.argoproj.io/tracking-id annotation of an app of apps), which
// the simulator serves too.
type Fleet struct {
	Destination string
	Apps        int
	ParentKind  argocd.ParentKind // "" is ApplicationSet
}

// ParseFleet reads a fleet flag: "prod-eu=30" or "prod-eu=30:Application".
func ParseFleet(s string) (Fleet, error) {
	dest, rest, ok := strings.Cut(s, "=")
	if !ok || dest == "" || strings.ContainsAny(dest, "/:= ") {
		return Fleet{}, fmt.Errorf("fleet %q: want DESTINATION=APPS[:Application|ApplicationSet]", s)
	}
	n, kind, _ := strings.Cut(rest, ":")
	apps, err := strconv.Atoi(n)
	if err != nil || apps <= 0 {
		return Fleet{}, fmt.Errorf("fleet %q: want a positive number of apps", s)
	}
	f := Fleet{Destination: dest, Apps: apps, ParentKind: argocd.ParentKind(kind)}
	return f, f.validate()
}

func (f Fleet) validate() error {
	if f.Destination == "" || f.Apps <= 0 {
		return fmt.Errorf("fleet %q: needs a destination and apps", f.Destination)
	}
	if f.ParentKind != "" && f.ParentKind != argocd.ParentApplicationSet && f.ParentKind != argocd.ParentApplication {
		return fmt.Errorf("fleet %q: parent kind %q: want Application or ApplicationSet", f.Destination, f.ParentKind)
	}
	return nil
}

// Parent is the name of the fleet's parent.
func (f Fleet) Parent() string {
	if f.ParentKind == argocd.ParentApplication {
		return f.Destination + "-root"
	}
	return f.Destination + "-apps"
}

// AppName is the name of the fleet's app number i (1-based).
func (f Fleet) AppName(i int) string { return fmt.Sprintf("%s-%02d", f.Destination, i) }

// fleetApps builds the fleet's apps.
func fleetApps(f Fleet, fx fixtures, start time.Time) []*app {
	out := make([]*app, 0, f.Apps)
	for i := 1; i <= f.Apps; i++ {
		a := newApp(f.AppName(i), "fleet", fx, OperationSucceeded, false, start)
		spec := a.base["spec"].(map[string]any)
		spec["destination"] = map[string]any{"name": f.Destination, "namespace": a.name}
		a.destination = f.Destination
		if f.ParentKind == argocd.ParentApplication {
			a.annotations[argocd.TrackingIDAnnotation] = f.Parent() + ":argoproj.io/Application:" + Namespace + "/" + a.name
		} else {
			a.owner = f.Parent()
		}
		out = append(out, a)
	}
	if f.ParentKind == argocd.ParentApplication {
		// The app of apps itself, whose last sync and commit the parent's fleet message tells:
		// its last sync, by a person, went well 5 minutes before the start.
		root := newApp(f.Parent(), "fleet", fx, OperationSucceeded, false, start)
		root.opState = &operationState{
			phase: argocd.PhaseSucceeded, message: "successfully synced (all tasks run)",
			startedAt: start.Add(-5 * time.Minute), finishedAt: start.Add(-5*time.Minute + 3*time.Second),
			revision: root.target, username: "admin",
		}
		out = append(out, root)
	}
	return out
}

// ComparisonErrorMessage is the ComparisonError condition of an app whose
// destination cannot be reached, as Argo CD's controller words it.
const ComparisonErrorMessage = `Failed to load live state: failed to get cluster info for %q: error synchronizing cache state : the server has asked for the client to provide credentials; dial tcp: i/o timeout`

// ErrUnknownDestination is returned for a destination no app has.
var ErrUnknownDestination = errors.New("no app has destination")

// SetDestinationReachable makes every app of a destination (its
// spec.destination name or server) unreachable, as Argo CD shows a cluster
// it cannot connect to: sync Unknown with a ComparisonError condition, health
// left as it was (Argo CD 3 keeps it). Reachable again, the apps are Synced
// and the condition is gone. It returns the apps changed.
func (s *Sim) SetDestinationReachable(dest string, reachable bool) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.advanceLocked(now)
	found, changed := false, 0
	for _, k := range s.names {
		a := s.apps[k]
		if a.destination != dest {
			continue
		}
		found = true
		hasErr := slices.ContainsFunc(a.conditions, func(c condition) bool { return c.Type == "ComparisonError" })
		switch {
		case !reachable && !hasErr:
			a.sync = argocd.SyncUnknown
			a.conditions = append(a.conditions, condition{Type: "ComparisonError", Message: fmt.Sprintf(ComparisonErrorMessage, dest), At: now})
		case reachable && hasErr:
			a.sync = argocd.SyncSynced
			a.conditions = slices.DeleteFunc(a.conditions, func(c condition) bool { return c.Type == "ComparisonError" })
		default:
			continue
		}
		a.reconciled = now
		s.changedLocked(a, eventModified)
		changed++
	}
	if !found {
		return 0, fmt.Errorf("%w %q", ErrUnknownDestination, dest)
	}
	return changed, nil
}
