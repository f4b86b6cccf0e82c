package chaos

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Incident is one scripted problem of one simulated app: Degraded from Start, with syncs that
// change nothing (remediation runs its streak and pauses), Healthy again at End (End == 0:
// still Degraded when the soak ends).
type Incident struct {
	App        string
	Start, End time.Duration
}

// Lasted is the incident's length at now (since the soak's start).
func (i Incident) Lasted(now time.Duration) time.Duration {
	if i.End > 0 && i.End < now {
		return i.End - i.Start
	}
	return now - i.Start
}

// FillerApp is the simulator's filler app number i (argocdsim's naming).
func FillerApp(i int) string { return fmt.Sprintf("app-%05d", i) }

// NewChurn makes the soak's app problems from seed (a stream of its own, so that the faults
// and the churn do not shift each other): about one incident per 10s of soak on distinct
// filler apps among eligible (filler app numbers that start Healthy and Synced), some short (under minLong: they may end before anyone is told),
// most long (minLong to 3*minLong), a fifth still open at the end; every one starts and ends
// before the quiet end of the soak, so that ended ones resolve while it is checked.
func NewChurn(seed uint64, soak time.Duration, eligible []int, minLong time.Duration) []Incident {
	r := rand.New(rand.NewPCG(seed^0x5bd1e995, seed))
	n := max(int(soak/(10*time.Second)), 4)
	n = min(n, len(eligible))
	start, last := soak/20, time.Duration(float64(soak)*(1-Quiet))
	var out []Incident
	for k, i := range r.Perm(len(eligible))[:n] {
		in := Incident{App: FillerApp(eligible[i])}
		in.Start = start + time.Duration(r.Int64N(int64(last-start)/2+1))
		length := minLong + time.Duration(r.Int64N(int64(2*minLong)+1))
		if k%5 == 1 {
			length = time.Duration(r.Int64N(int64(minLong)/2 + 1))
		}
		if k%5 != 3 { // a fifth stay open
			in.End = min(in.Start+length, last)
		}
		in.Start, in.End = in.Start.Truncate(time.Second), in.End.Truncate(time.Second)
		out = append(out, in)
	}
	return out
}
