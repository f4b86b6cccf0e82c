package chaos

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Message is one request the fake Slack accepted (stack.SlackRequest with Result "ok"), its
// time made relative to the soak's start.
type Message struct {
	At       time.Duration
	Method   string // chat.postMessage, chat.update
	TS       string
	ThreadTS string
	Content  string
}

// Top is a new top-level message.
func (m Message) Top() bool { return m.Method == "chat.postMessage" && m.ThreadTS == "" }

// Process is one process's measured peak memory and goroutines.
type Process struct {
	Name                           string
	MaxRSS, Limit                  int64 // bytes; Limit 0: not checked (no deploy limit)
	GoroutinesStart, GoroutinesEnd int   // 0: not measured (not a Go process of ours)
}

// Check is what the soak found, the input of the invariants.
type Check struct {
	Seed uint64
	// Now is when the record was taken, since the soak's start.
	Now       time.Duration
	Incidents []Incident
	// Notify is the alert's for + group_wait (+ the scrape and evaluation intervals): an
	// incident lasting longer must have produced a message.
	Notify time.Duration
	// Resolve is how soon after an incident ended its message must say resolved (2 minutes).
	Resolve time.Duration
	// Syncs are the accepted syncs per app (the simulator's sync log).
	Syncs map[string]int
	// Standing are problems apps had without the churn (fixtures that start broken: one
	// streak each).
	Standing    map[string]int
	MaxAttempts int
	Messages    []Message
	Processes   []Process
	// GoroutineSlack is the growth tolerated (a reconnecting client, a timer); beyond it is a leak.
	GoroutineSlack int
	// Faults are the injected faults, for the timelines.
	Faults []Fault
}

// Violation is one failed invariant, with the timeline that explains it.
type Violation struct {
	Invariant string
	Detail    string
	Timeline  []string
}

func (v Violation) String() string {
	s := v.Invariant + ": " + v.Detail
	for _, l := range v.Timeline {
		s += "\n    " + l
	}
	return s
}

// Result sums up a soak.
type Result struct {
	Violations []Violation
	// Notified are the incidents long enough to be told; Messages the top-level messages.
	Incidents, Notified, Messages int
}

// Report prints the violations with the seed that replays them ("" when none).
func (r Result) Report(seed uint64) string {
	if len(r.Violations) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d invariant(s) failed; replay with SEED=%d\n", len(r.Violations), seed)
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "  %s\n", v)
	}
	return b.String()
}

// mentions: a message is about app when it names it (the alert's name label).
func mentions(m Message, app string) bool {
	return strings.Contains(m.Content, app)
}

// Verify checks the invariants:
//   - no app got more accepted syncs than MaxAttempts per incident of it;
//   - every incident that lasted longer than Notify has exactly one top-level message naming
//     its app posted during it (0 lost, 0 duplicated);
//   - every ended incident's message says resolved within Resolve of its end (checked when
//     Now is past that);
//   - every process stayed under its memory limit, and its goroutines did not grow beyond
//     GoroutineSlack.
func Verify(c Check) Result {
	res := Result{Incidents: len(c.Incidents)}
	problems := map[string]int{}
	for _, in := range c.Incidents {
		problems[in.App]++
	}
	for _, m := range c.Messages {
		if m.Top() {
			res.Messages++
		}
	}
	apps := make([]string, 0, len(c.Syncs))
	for app := range c.Syncs {
		apps = append(apps, app)
	}
	slices.Sort(apps)
	for _, app := range apps {
		p := problems[app] + c.Standing[app]
		if n, limit := c.Syncs[app], p*c.MaxAttempts; n > limit {
			res.Violations = append(res.Violations, Violation{Invariant: "max attempts",
				Detail:   fmt.Sprintf("%s got %d accepted syncs for %d problem(s), at most %d each", app, n, p, c.MaxAttempts),
				Timeline: c.timeline(app, nil)})
		}
	}
	for i, in := range c.Incidents {
		if in.Lasted(c.Now) <= c.Notify {
			continue
		}
		res.Notified++
		// The incident's message: posted after it began and before the app's next incident.
		until := c.Now
		for j, other := range c.Incidents {
			if j != i && other.App == in.App && other.Start > in.Start && other.Start < until {
				until = other.Start
			}
		}
		var tops []Message
		for _, m := range c.Messages {
			if m.Top() && mentions(m, in.App) && m.At >= in.Start && m.At < until {
				tops = append(tops, m)
			}
		}
		if len(tops) != 1 {
			what := "lost"
			if len(tops) > 1 {
				what = "duplicated"
			}
			res.Violations = append(res.Violations, Violation{Invariant: "one message per incident",
				Detail:   fmt.Sprintf("%s: %d top-level messages for the incident %s–%s (%s)", in.App, len(tops), in.Start, endString(in), what),
				Timeline: c.timeline(in.App, &in)})
			continue
		}
		if in.End == 0 || c.Now < in.End+c.Resolve {
			continue
		}
		resolved := false
		for _, m := range c.Messages {
			if m.Method == "chat.update" && m.TS == tops[0].TS && m.At >= in.End && m.At <= in.End+c.Resolve && strings.Contains(m.Content, "Resolved") {
				resolved = true
				break
			}
		}
		if !resolved {
			res.Violations = append(res.Violations, Violation{Invariant: "resolved in time",
				Detail:   fmt.Sprintf("%s: the message %s does not say resolved within %s of the incident's end at %s", in.App, tops[0].TS, c.Resolve, in.End),
				Timeline: c.timeline(in.App, &in)})
		}
	}
	for _, p := range c.Processes {
		if p.Limit > 0 && p.MaxRSS > p.Limit {
			res.Violations = append(res.Violations, Violation{Invariant: "memory",
				Detail: fmt.Sprintf("%s peaked at %d MiB, over its deploy limit of %d MiB", p.Name, p.MaxRSS>>20, p.Limit>>20)})
		}
		if p.GoroutinesStart > 0 && p.GoroutinesEnd > p.GoroutinesStart+c.GoroutineSlack {
			res.Violations = append(res.Violations, Violation{Invariant: "goroutines",
				Detail: fmt.Sprintf("%s went from %d to %d goroutines (tolerated growth %d)", p.Name, p.GoroutinesStart, p.GoroutinesEnd, c.GoroutineSlack)})
		}
	}
	return res
}

func endString(in Incident) string {
	if in.End == 0 {
		return "open"
	}
	return in.End.String()
}

// timeline is what happened around app (in: its incident, nil: all of them): its incidents,
// the faults, and the Slack messages naming it, in time order.
func (c Check) timeline(app string, in *Incident) []string {
	type line struct {
		at   time.Duration
		text string
	}
	var ls []line
	from, to := time.Duration(0), c.Now
	if in != nil {
		from = in.Start - c.Notify
		if in.End > 0 {
			to = in.End + c.Resolve
		}
	}
	for _, i := range c.Incidents {
		if i.App == app {
			ls = append(ls, line{i.Start, "incident begins: " + app + " Degraded"})
			if i.End > 0 {
				ls = append(ls, line{i.End, "incident ends: " + app + " Healthy"})
			}
		}
	}
	for _, f := range c.Faults {
		if f.End() >= from && f.At <= to {
			ls = append(ls, line{f.At, fmt.Sprintf("fault %s (target %d) for %s", f.Kind, f.Target, f.For)})
		}
	}
	for _, m := range c.Messages {
		if mentions(m, app) {
			kind := m.Method
			if m.ThreadTS != "" {
				kind = "thread reply"
			}
			status := "firing"
			if strings.Contains(m.Content, "Resolved") {
				status = "resolved"
			}
			if names := alertNames.FindAllString(m.Content, -1); len(names) > 0 && m.ThreadTS == "" {
				slices.Sort(names)
				status += ": " + strings.Join(slices.Compact(names), ", ")
			}
			ls = append(ls, line{m.At, fmt.Sprintf("slack %s ts=%s (%s)", kind, orTS(m), status)})
		}
	}
	if s, ok := c.Syncs[app]; ok {
		ls = append(ls, line{c.Now, fmt.Sprintf("accepted syncs in total: %d", s)})
	}
	slices.SortStableFunc(ls, func(a, b line) int { return int(a.at - b.at) })
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = fmt.Sprintf("+%-8s %s", l.at.Round(time.Second), l.text)
	}
	return out
}

// alertNames finds the shipped alerts' names in a message (they all start ArgoCD).
var alertNames = regexp.MustCompile(`\bArgoCD[A-Z][A-Za-z]+\b`)

func orTS(m Message) string {
	if m.ThreadTS != "" {
		return m.ThreadTS
	}
	return m.TS
}
