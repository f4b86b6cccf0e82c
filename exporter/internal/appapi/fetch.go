package appapi

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

// Source is the part of the Argo CD client the API asks; *argocd.Client implements it.
type Source interface {
	GetDetail(ctx context.Context, name, appNamespace, project string) (argocd.AppDetail, error)
	ResourceTree(ctx context.Context, name, appNamespace string) ([]argocd.TreeNode, error)
	Events(ctx context.Context, name, appNamespace string, r argocd.ResourceRef) ([]argocd.Event, error)
	RevisionMetadata(ctx context.Context, name, appNamespace, revision string, sourceIndex int) (argocd.RevisionMetadata, error)
}

// Bounds of one answer: what a Slack message can show, and how many event
// calls one app may cost.
const (
	maxList           = 10
	maxEvents         = 5
	maxEventResources = 3
	maxMessage        = 500
)

// The parts of an answer, as PartError.Part names them.
const (
	partApplication = "application"
	partTree        = "resource-tree"
	partEvents      = "events"
	partRevision    = "revision-metadata"
)

// errNotFound: Argo CD says the app does not exist (the handler answers 404).
var errNotFound = errors.New("application not found")

// fetcher assembles an Answer from Argo CD within a budget, with at most
// cap(sem) calls to Argo CD in flight across all answers.
type fetcher struct {
	src    Source
	sem    chan struct{}
	budget time.Duration
	now    func() time.Time
}

// parts collects what the concurrent calls brought back; closed once the
// budget is spent, after which late answers are dropped.
type parts struct {
	mu      sync.Mutex
	closed  bool
	detail  *argocd.AppDetail
	tree    []argocd.TreeNode
	treeOK  bool
	events  []argocd.Event
	commits []apiv1.Commit
	errs    []apiv1.PartError
	pending map[string]int // part -> calls not answered yet
	missing bool           // Argo CD said the app does not exist
}

func (p *parts) start(part string) {
	p.mu.Lock()
	p.pending[part]++
	p.mu.Unlock()
}

// done records one call's end; fn (under the lock) stores its result.
func (p *parts) done(part string, err error, fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.pending[part]--
	if err != nil {
		p.errs = append(p.errs, apiv1.PartError{Part: part, Error: describe(err)})
		return
	}
	fn()
}

// describe is a short, secret-free reason (the client already redacts the
// token and drops URLs).
func describe(err error) string {
	if argocd.IsTimeout(err) || errors.Is(err, context.Canceled) {
		return "timeout: Argo CD did not answer within the budget"
	}
	s := err.Error()
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return strings.ToValidUTF8(s, "")
}

// fetch asks Argo CD about one app: the Application and its resource tree at
// once, then the commit(s) and the failing resources' events. It returns at
// the budget with whatever arrived; the missing parts are in Errors.
func (f *fetcher) fetch(ctx context.Context, ns, name, project string) (*apiv1.App, error) {
	ctx, cancel := context.WithTimeout(ctx, f.budget)
	defer cancel()
	p := &parts{pending: map[string]int{}}
	var wg sync.WaitGroup
	call := func(part string, fn func(context.Context) error) {
		p.start(part)
		wg.Go(func() {
			select {
			case f.sem <- struct{}{}:
			case <-ctx.Done():
				p.done(part, ctx.Err(), nil)
				return
			}
			defer func() { <-f.sem }()
			_ = fn(ctx)
		})
	}
	call(partApplication, func(ctx context.Context) error {
		d, err := f.src.GetDetail(ctx, name, ns, project)
		if argocd.IsNotFound(err) {
			p.mu.Lock()
			p.missing = true
			p.mu.Unlock()
		}
		p.done(partApplication, err, func() { p.detail = &d })
		if err != nil {
			return err
		}
		for i, rev := range d.Revisions {
			idx := -1
			if d.MultiSource {
				idx = i
			}
			repo := ""
			if i < len(d.RepoURLs) {
				repo = d.RepoURLs[i]
			}
			call(partRevision, func(ctx context.Context) error {
				m, err := f.src.RevisionMetadata(ctx, name, ns, rev, idx)
				p.done(partRevision, err, func() {
					p.commits = append(p.commits, apiv1.Commit{
						Revision: rev, RepoURL: repo, SourceIndex: max(idx, 0),
						Author: m.Author, Date: m.Date, Message: firstLine(m.Message),
					})
				})
				return err
			})
		}
		return nil
	})
	call(partTree, func(ctx context.Context) error {
		nodes, err := f.src.ResourceTree(ctx, name, ns)
		p.done(partTree, err, func() { p.tree, p.treeOK = nodes, true })
		if err != nil {
			return err
		}
		failing := failingNodes(nodes)
		for _, n := range failing[:min(len(failing), maxEventResources)] {
			call(partEvents, func(ctx context.Context) error {
				evs, err := f.src.Events(ctx, name, ns, n.ResourceRef)
				p.done(partEvents, err, func() {
					for _, e := range evs {
						if e.Type == "Warning" {
							p.events = append(p.events, e)
						}
					}
				})
				return err
			})
		}
		return nil
	})

	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	select {
	case <-all:
	case <-ctx.Done():
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.missing {
		return nil, errNotFound
	}
	for _, part := range []string{partApplication, partTree, partRevision, partEvents} {
		if p.pending[part] > 0 {
			p.errs = append(p.errs, apiv1.PartError{Part: part, Error: fmt.Sprintf("timeout: Argo CD did not answer within %s", f.budget)})
		}
	}
	return p.answer(ns, name, f.now()), nil
}

// failingNodes are the tree nodes whose health says they are broken, leaf
// kinds (Pods) last so the owning workload comes first.
func failingNodes(nodes []argocd.TreeNode) []argocd.TreeNode {
	var out []argocd.TreeNode
	for _, n := range nodes {
		if n.Health == argocd.HealthDegraded || n.Health == argocd.HealthMissing {
			out = append(out, n)
		}
	}
	return out
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return clip(strings.TrimSpace(s))
}

// clip bounds a message from Argo CD.
func clip(s string) string {
	if r := []rune(s); len(r) > maxMessage {
		return string(r[:maxMessage]) + "…"
	}
	return s
}

func resource(r argocd.ResourceRef) apiv1.Resource {
	return apiv1.Resource{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}

// answer builds the Answer from the parts that arrived. Called with p.mu held.
func (p *parts) answer(ns, name string, now time.Time) *apiv1.App {
	a := &apiv1.App{Namespace: ns, Name: name, FetchedAt: now}
	seen := map[string]bool{}
	for _, e := range p.errs { // one per part: the first says enough
		if !seen[e.Part] {
			seen[e.Part] = true
			a.Errors = append(a.Errors, e)
		}
	}
	if d := p.detail; d != nil {
		a.Project = d.Project
		a.Health = &apiv1.Health{Status: string(d.Health), Message: clip(d.HealthMessage), Since: d.HealthSince}
		a.Sync = &apiv1.Sync{Status: string(d.Sync), Revisions: d.Revisions}
		if n := len(d.History); n > 0 {
			h := d.History[n-1]
			a.LastDeploy = &apiv1.Deploy{Revisions: h.Revisions, DeployedAt: h.DeployedAt, InitiatedBy: apiv1.Initiator{Automated: h.Automated, Username: h.Username}}
			if d.Sync == argocd.SyncSynced {
				a.Sync.Since = h.DeployedAt
			}
		}
		if op := d.Operation; op != nil {
			o := &apiv1.Operation{
				Phase: string(op.Phase), Message: clip(op.Message), StartedAt: op.StartedAt, FinishedAt: op.FinishedAt,
				InitiatedBy: apiv1.Initiator{Automated: op.Automated, Username: op.Username},
				RetryCount:  op.RetryCount, Revisions: op.Revisions,
			}
			for _, r := range op.FailedItems[:min(len(op.FailedItems), maxList)] {
				res := resource(r.ResourceRef)
				res.Status, res.Message = r.Status, clip(r.Message)
				o.FailedResources = append(o.FailedResources, res)
			}
			a.Operation = o
		}
		for _, c := range d.Conditions[:min(len(d.Conditions), maxList)] {
			a.Conditions = append(a.Conditions, apiv1.Condition{Type: c.Type, Message: clip(c.Message)})
		}
		a.OutOfSyncTotal = len(d.OutOfSync)
		for _, r := range d.OutOfSync[:min(len(d.OutOfSync), maxList)] {
			a.OutOfSync = append(a.OutOfSync, resource(r))
		}
	}
	if p.treeOK {
		failing := failingNodes(p.tree)
		a.FailingResourcesTotal = len(failing)
		for _, n := range failing[:min(len(failing), maxList)] {
			r := resource(n.ResourceRef)
			r.Health, r.Message = string(n.Health), clip(n.HealthMessage)
			a.FailingResources = append(a.FailingResources, r)
		}
	}
	sort.SliceStable(p.events, func(i, j int) bool { return p.events[i].Last.After(p.events[j].Last) })
	for _, e := range p.events[:min(len(p.events), maxEvents)] {
		a.Events = append(a.Events, apiv1.Event{Kind: e.Object.Kind, Name: e.Object.Name, Reason: e.Reason, Message: clip(e.Message), Count: e.Count, Last: e.Last})
	}
	sort.Slice(p.commits, func(i, j int) bool { return p.commits[i].SourceIndex < p.commits[j].SourceIndex })
	a.Commits = p.commits
	sort.Slice(a.Errors, func(i, j int) bool { return a.Errors[i].Part < a.Errors[j].Part })
	return a
}
