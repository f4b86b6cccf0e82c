package remediate

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Selector is a parsed Kubernetes-style label selector, evaluated client-side
// against the labels of the apps the poller already fetched.
type Selector []requirement

type selectorOp int

const (
	opEquals selectorOp = iota
	opNotEquals
	opIn
	opNotIn
	opExists
	opNotExists
)

type requirement struct {
	key    string
	op     selectorOp
	values []string
}

var (
	selectorKey = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$`)
	selectorSet = regexp.MustCompile(`^(\S+)\s+(in|notin)\s*\((.*)\)$`)
)

// ParseSelector parses "k=v,k2!=v2,k3 in (a,b),k4 notin (c),k5,!k6".
// The empty string selects everything.
func ParseSelector(s string) (Selector, error) {
	var sel Selector
	for _, part := range splitTopLevel(s) {
		part = strings.TrimSpace(part)
		if part == "" {
			if strings.TrimSpace(s) == "" {
				continue
			}
			return nil, fmt.Errorf("empty requirement in %q", s)
		}
		r, err := parseRequirement(part)
		if err != nil {
			return nil, err
		}
		sel = append(sel, r)
	}
	return sel, nil
}

// splitTopLevel splits on commas outside parentheses.
func splitTopLevel(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

func parseRequirement(part string) (requirement, error) {
	if m := selectorSet.FindStringSubmatch(part); m != nil {
		op := opIn
		if m[2] == "notin" {
			op = opNotIn
		}
		var values []string
		for v := range strings.SplitSeq(m[3], ",") {
			v = strings.TrimSpace(v)
			if err := checkValue(v); err != nil {
				return requirement{}, err
			}
			values = append(values, v)
		}
		return newRequirement(m[1], op, values)
	}
	for _, o := range []struct {
		tok string
		op  selectorOp
	}{{"!=", opNotEquals}, {"==", opEquals}, {"=", opEquals}} {
		if k, v, ok := strings.Cut(part, o.tok); ok {
			v = strings.TrimSpace(v)
			if err := checkValue(v); err != nil {
				return requirement{}, err
			}
			return newRequirement(strings.TrimSpace(k), o.op, []string{v})
		}
	}
	if k, ok := strings.CutPrefix(part, "!"); ok {
		return newRequirement(strings.TrimSpace(k), opNotExists, nil)
	}
	return newRequirement(part, opExists, nil)
}

func newRequirement(key string, op selectorOp, values []string) (requirement, error) {
	if !selectorKey.MatchString(key) {
		return requirement{}, fmt.Errorf("invalid label key %q", key)
	}
	return requirement{key: key, op: op, values: values}, nil
}

func checkValue(v string) error {
	if v != "" && !selectorKey.MatchString(v) || strings.Contains(v, "/") {
		return fmt.Errorf("invalid label value %q", v)
	}
	return nil
}

// Matches reports whether labels satisfy every requirement.
func (s Selector) Matches(labels map[string]string) bool {
	for _, r := range s {
		v, ok := labels[r.key]
		var match bool
		switch r.op {
		case opEquals, opIn:
			match = ok && slices.Contains(r.values, v)
		case opNotEquals, opNotIn:
			match = !ok || !slices.Contains(r.values, v)
		case opExists:
			match = ok
		case opNotExists:
			match = !ok
		}
		if !match {
			return false
		}
	}
	return true
}
