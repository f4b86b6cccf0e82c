package argocdsim

import (
	"fmt"
	"slices"
	"strings"
)

// requirement is one term of a Kubernetes label selector.
type requirement struct {
	key    string
	op     string // = != in notin exists !exists
	values []string
}

// selector is a parsed Kubernetes label selector (`a=b,c!=d,e in (f,g),h,!i`): what List and
// Watch accept in `selector`. Deliberately not remediate.ParseSelector: the simulator stands in
// for Argo CD's server-side selector, so the exporter's own parser is tested against an
// independent one rather than against itself.
type selector []requirement

func parseSelector(s string) (selector, error) {
	var sel selector
	s = strings.TrimSpace(s)
	for s != "" {
		term, rest, comma := nextTerm(s)
		if comma && strings.TrimSpace(rest) == "" {
			return nil, fmt.Errorf("selector ends with a comma")
		}
		s = rest
		term = strings.TrimSpace(term)
		if term == "" {
			return nil, fmt.Errorf("empty term in selector")
		}
		r, err := parseRequirement(term)
		if err != nil {
			return nil, err
		}
		sel = append(sel, r)
	}
	return sel, nil
}

// nextTerm splits at the first comma outside parentheses.
func nextTerm(s string) (term, rest string, comma bool) {
	depth := 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				return s[:i], s[i+1:], true
			}
		}
	}
	return s, "", false
}

func parseRequirement(t string) (requirement, error) {
	if strings.HasPrefix(t, "!") {
		k := strings.TrimSpace(t[1:])
		if !validKey(k) {
			return requirement{}, fmt.Errorf("invalid label key %q", k)
		}
		return requirement{key: k, op: "!exists"}, nil
	}
	for _, op := range []string{" notin ", " in "} {
		if i := strings.Index(t, op); i > 0 {
			k := strings.TrimSpace(t[:i])
			rest := strings.TrimSpace(t[i+len(op):])
			if !validKey(k) || !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") {
				return requirement{}, fmt.Errorf("invalid set requirement %q", t)
			}
			var vals []string
			for v := range strings.SplitSeq(rest[1:len(rest)-1], ",") {
				vals = append(vals, strings.TrimSpace(v))
			}
			return requirement{key: k, op: strings.TrimSpace(op), values: vals}, nil
		}
	}
	for _, op := range []string{"!=", "==", "="} {
		if i := strings.Index(t, op); i >= 0 {
			k := strings.TrimSpace(t[:i])
			v := strings.TrimSpace(t[i+len(op):])
			if !validKey(k) || strings.ContainsAny(v, "=!() ") {
				return requirement{}, fmt.Errorf("invalid requirement %q", t)
			}
			if op == "==" {
				op = "="
			}
			return requirement{key: k, op: op, values: []string{v}}, nil
		}
	}
	if !validKey(t) {
		return requirement{}, fmt.Errorf("invalid label key %q", t)
	}
	return requirement{key: t, op: "exists"}, nil
}

func validKey(k string) bool {
	return k != "" && !strings.ContainsAny(k, " =!(),")
}

func (sel selector) matches(labels map[string]string) bool {
	for _, r := range sel {
		v, ok := labels[r.key]
		switch r.op {
		case "exists":
			if !ok {
				return false
			}
		case "!exists":
			if ok {
				return false
			}
		case "=":
			if !ok || v != r.values[0] {
				return false
			}
		case "!=":
			if ok && v == r.values[0] {
				return false
			}
		case "in":
			if !ok || !slices.Contains(r.values, v) {
				return false
			}
		case "notin":
			if ok && slices.Contains(r.values, v) {
				return false
			}
		}
	}
	return true
}
