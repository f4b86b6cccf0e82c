package state

import "time"

// Instance names one alert instance: Alertmanager's fingerprint (the label set) and its
// startsAt. The same alert firing again after it resolved is a new instance with a newer
// startsAt, so instances compare exactly where times would not.
type Instance struct {
	Fingerprint string    `json:"fp"`
	StartsAt    time.Time `json:"startsAt"`
}

// MaxResolvedInstances bounds the instances a resolved group's record keeps; a group that
// resolved more keeps none, and a late firing copy for it posts as it did before.
const MaxResolvedInstances = 200

// DefaultResolvedWindow is how long the file store keeps what a resolved group resolved
// (kubegroups has its own ResolvedWindow, 1h by default as well).
const DefaultResolvedWindow = time.Hour

// BoundInstances is in, or nil when it exceeds MaxResolvedInstances.
func BoundInstances(in []Instance) []Instance {
	if len(in) > MaxResolvedInstances {
		return nil
	}
	return in
}

// Stale reports whether a notification about the instances firing (its firing alerts, or all
// it resolves) is a late copy of alerts the group's last notification resolved: every instance
// is one of resolved. No instance, or no resolved record, is never stale.
func Stale(resolved, firing []Instance) bool {
	if len(firing) == 0 || len(resolved) == 0 {
		return false
	}
	for _, f := range firing {
		found := false
		for _, r := range resolved {
			if r.Fingerprint == f.Fingerprint && r.StartsAt.Equal(f.StartsAt) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
