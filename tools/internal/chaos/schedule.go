// Package chaos is the plan and the verdict of the chaos soak (make chaos, docs/reliability.md):
// a fault schedule and an app churn made from one seed (printed, and replayed with SEED=), and
// the invariants checked at the end on the simulator's sync log, the fake Slack's record and
// the processes' memory and goroutines. The harness that runs the stack is
// tools/e2e/ha/chaos_test.go; everything here is deterministic and unit-tested.
package chaos

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
)

// Kind is one sort of fault.
type Kind string

// The faults of the soak.
const (
	KillLeaderExporter  Kind = "kill-leader-exporter"     // SIGKILL the exporter holding the Lease; restarted after For
	KillBridge          Kind = "kill-bridge-mid-delivery" // SIGKILL a bridge while a notification is in flight; restarted after For
	RestartAlertmanager Kind = "restart-alertmanager"     // stop one Alertmanager for For, then start it again
	CutArgoStream       Kind = "cut-argocd-stream"        // the simulator ends every watch stream after a few events, for For
	ArgoCD5xx           Kind = "argocd-5xx"               // the simulator answers 503 to list, get and watch, for For
	ArgoCDTimeouts      Kind = "argocd-timeouts"          // the simulator holds list, get and watch answers past the client's timeout, for For
	Slack429            Kind = "slack-429-burst"          // the fake Slack answers 429 with Retry-After to the next calls
	Slack500            Kind = "slack-500-burst"          // the fake Slack answers 500 for For
	RestartKubeAPI      Kind = "restart-kube-apiserver"   // stop the kube-apiserver for For, then start it again (etcd keeps the data)
)

// Kinds are every fault, each injected at least once per soak.
var Kinds = []Kind{KillLeaderExporter, KillBridge, RestartAlertmanager, CutArgoStream, ArgoCD5xx, ArgoCDTimeouts, Slack429, Slack500, RestartKubeAPI}

// Fault is one scheduled fault.
type Fault struct {
	At     time.Duration // since the soak's start
	Kind   Kind
	Target int           // replica 0 or 1 where the kind has two (bridges, Alertmanagers)
	For    time.Duration // how long the fault lasts (a killed process's downtime, a burst's length)
}

func (f Fault) String() string {
	return fmt.Sprintf("+%-8s %-26s target=%d for=%s", f.At.Round(time.Second), f.Kind, f.Target, f.For.Round(time.Second))
}

// End is when the fault is over.
func (f Fault) End() time.Duration { return f.At + f.For }

// Schedule is the faults of one soak, in time order.
type Schedule struct {
	Seed   uint64
	Soak   time.Duration
	Faults []Fault
}

// Quiet is the share of the soak at its end without new faults, so that the last incidents
// end and resolve under normal conditions before the invariants are checked.
const Quiet = 0.25

// NewSchedule makes the soak's faults from seed: every kind once in a shuffled order, then (for
// soaks longer than the smoke run) one more random fault per 40s, spread over the soak's
// fault window (after a tenth of it, before its quiet end) with jitter, never two at once.
func NewSchedule(seed uint64, soak time.Duration) Schedule {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var kinds []Kind
	for _, i := range r.Perm(len(Kinds)) {
		kinds = append(kinds, Kinds[i])
	}
	for extra := int(soak/(40*time.Second)) - len(Kinds); extra > 0; extra-- {
		kinds = append(kinds, Kinds[r.IntN(len(Kinds))])
	}
	start := soak / 10
	window := time.Duration(float64(soak)*(1-Quiet)) - start
	slot := window / time.Duration(len(kinds))
	s := Schedule{Seed: seed, Soak: soak}
	for i, k := range kinds {
		// A fault lasts at most 60% of its slot, starting in the slot's first 40%: no overlap.
		at := start + time.Duration(i)*slot + time.Duration(r.Int64N(int64(slot)*2/5+1))
		f := Fault{At: at.Truncate(time.Second), Kind: k, Target: r.IntN(2)}
		f.For = min(durationFor(r, k), slot*3/5).Truncate(time.Second)
		s.Faults = append(s.Faults, f)
	}
	return s
}

// durationFor is a fault's length: long enough to matter (past a client timeout, past a
// lease), short enough to leave the rest of the chain working in the soak.
func durationFor(r *rand.Rand, k Kind) time.Duration {
	between := func(lo, hi time.Duration) time.Duration { return lo + time.Duration(r.Int64N(int64(hi-lo)+1)) }
	switch k {
	case KillLeaderExporter, KillBridge:
		return between(2*time.Second, 8*time.Second) // the pod's restart
	case RestartAlertmanager, RestartKubeAPI:
		return between(3*time.Second, 10*time.Second)
	case Slack429:
		return between(2*time.Second, 5*time.Second) // the Retry-After of the burst
	default:
		return between(5*time.Second, 15*time.Second)
	}
}

// String prints the schedule as the soak logs it, with how to replay it.
func (s Schedule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos schedule: seed %d, soak %s, %d faults (replay: SEED=%d SOAK=%s make chaos)\n", s.Seed, s.Soak, len(s.Faults), s.Seed, s.Soak)
	for _, f := range s.Faults {
		fmt.Fprintf(&b, "  %s\n", f)
	}
	return b.String()
}

// Count is how many faults of each kind the schedule has.
func (s Schedule) Count() map[Kind]int {
	n := map[Kind]int{}
	for _, f := range s.Faults {
		n[f.Kind]++
	}
	return n
}

// SeedFromEnv is SEED from the environment when set (a replay), else a fresh random seed.
func SeedFromEnv(getenv func(string) string) (uint64, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	v := getenv("SEED")
	if v == "" {
		return rand.Uint64(), nil
	}
	seed, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("SEED=%q: want an unsigned integer (the seed a soak printed)", v)
	}
	return seed, nil
}

// SoakFromEnv is SOAK from the environment (a Go duration), else def.
func SoakFromEnv(getenv func(string) string, def time.Duration) (time.Duration, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	v := getenv("SOAK")
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Minute {
		return 0, fmt.Errorf("SOAK=%q: want a duration of at least 1m (e.g. 10m)", v)
	}
	return d, nil
}
