package actions

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"
)

// Kind is what a person may be allowed to do; the keys of the config's actions section.
type Kind string

// Kinds of action. Silence covers creating and expiring silences.
const (
	KindSilence Kind = "silence"
	KindAck     Kind = "ack"
	KindRetry   Kind = "retry"
	KindResume  Kind = "resume"
	// KindTerminate ends an app's running (stuck) sync operation.
	KindTerminate Kind = "terminate"
	// KindRollback rolls an app back to its last healthy revision (the exporter's offer).
	KindRollback Kind = "rollback"
)

// Kinds lists every kind, in the order the docs present them.
var Kinds = []Kind{KindSilence, KindAck, KindRetry, KindResume, KindTerminate, KindRollback}

// Allow lists who may do one kind of action: anyone in the channel, or the listed Slack user
// IDs (U…/W…) and the members of the listed user groups (S…).
type Allow struct {
	Anyone     bool     `yaml:"anyone"`
	Users      []string `yaml:"users"`
	UserGroups []string `yaml:"user_groups"`
}

// Policy is the config's actions section. A kind left out keeps its default: silence and ack
// anyone, retry, resume and terminate nobody.
type Policy struct {
	Silence *Allow `yaml:"silence"`
	Ack     *Allow `yaml:"ack"`
	Retry   *Allow `yaml:"retry"`
	Resume  *Allow `yaml:"resume"`
	// Terminate: the "Terminate sync" button of a stuck app.
	Terminate *Allow `yaml:"terminate"`
	// Rollback: the "Roll back" button of a paused app with a healthy revision to go back to.
	Rollback *Allow `yaml:"rollback"`
}

var (
	userIDRE  = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)
	groupIDRE = regexp.MustCompile(`^S[A-Z0-9]{2,20}$`)
)

// Validate checks the IDs (a user name where an ID belongs would silently allow nobody).
func (p Policy) Validate() error {
	for _, k := range Kinds {
		a := p.rule(k)
		for _, u := range a.Users {
			if !userIDRE.MatchString(u) {
				return fmt.Errorf("actions.%s.users: %q is not a Slack user ID (U… or W…; names and @handles change)", k, u)
			}
		}
		for _, g := range a.UserGroups {
			if !groupIDRE.MatchString(g) {
				return fmt.Errorf("actions.%s.user_groups: %q is not a Slack user group ID (S…)", k, g)
			}
		}
		if a.Anyone && (len(a.Users) > 0 || len(a.UserGroups) > 0) {
			return fmt.Errorf("actions.%s: anyone: true together with users or user_groups; choose one", k)
		}
	}
	return nil
}

func (p Policy) rule(k Kind) Allow {
	var a *Allow
	switch k {
	case KindSilence:
		a = p.Silence
	case KindAck:
		a = p.Ack
	case KindRetry:
		a = p.Retry
	case KindResume:
		a = p.Resume
	case KindTerminate:
		a = p.Terminate
	case KindRollback:
		a = p.Rollback
	}
	if a != nil {
		return *a
	}
	return Allow{Anyone: k == KindSilence || k == KindAck}
}

// Describe says who may do k, for the refusal message.
func (p Policy) Describe(k Kind) string {
	a := p.rule(k)
	switch {
	case a.Anyone:
		return "anyone in the channel"
	case len(a.Users) == 0 && len(a.UserGroups) == 0:
		return "nobody yet (configure actions." + string(k) + " in the bridge config)"
	}
	s := ""
	for _, u := range a.Users {
		s += "<@" + u + "> "
	}
	for _, g := range a.UserGroups {
		s += "<!subteam^" + g + "> "
	}
	return "only " + s[:len(s)-1]
}

// members answers who is in a Slack user group (usergroups.users.list).
type members func(ctx context.Context, group string) ([]string, error)

// groupCache keeps user group members for a minute: a click must not wait on Slack twice.
type groupCache struct {
	mu    sync.Mutex
	now   func() time.Time
	fetch members
	m     map[string]cachedGroup
}

type cachedGroup struct {
	users []string
	at    time.Time
}

func (c *groupCache) members(ctx context.Context, group string) ([]string, error) {
	c.mu.Lock()
	e, ok := c.m[group]
	c.mu.Unlock()
	if ok && c.now().Sub(e.at) < time.Minute {
		return e.users, nil
	}
	users, err := c.fetch(ctx, group)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.m[group] = cachedGroup{users: users, at: c.now()}
	c.mu.Unlock()
	return users, nil
}

// allowed reports whether user may do k; an error means membership could not be checked.
func (p Policy) allowed(ctx context.Context, k Kind, user string, groups *groupCache) (bool, error) {
	a := p.rule(k)
	if a.Anyone || slices.Contains(a.Users, user) {
		return true, nil
	}
	for _, g := range a.UserGroups {
		users, err := groups.members(ctx, g)
		if err != nil {
			return false, fmt.Errorf("user group %s: %w", g, err)
		}
		if slices.Contains(users, user) {
			return true, nil
		}
	}
	return false, nil
}
