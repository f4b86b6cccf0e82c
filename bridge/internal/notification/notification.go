// Package notification is the bridge's input model: Alertmanager's webhook payload (version 4),
// decoded, validated and completed so that routing, rendering and delivery can rely on it.
package notification

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"
)

// ErrInvalid marks a payload that can never be delivered (the handler answers 400).
var ErrInvalid = errors.New("invalid webhook payload")

// Message is Alertmanager's webhook body. Every field but Alerts is optional: older
// Alertmanagers omit notification_reason, routeLabels and truncatedAlerts.
type Message struct {
	template.Data
	Version         string `json:"version"`
	GroupKey        string `json:"groupKey"`
	TruncatedAlerts uint64 `json:"truncatedAlerts"`
}

const (
	statusFiring   = string(model.AlertFiring)
	statusResolved = string(model.AlertResolved)
)

// Decode reads one webhook body, validates it and fills in what an older Alertmanager may leave
// out (group status, fingerprints), so later stages can rely on them.
func Decode(body []byte) (*Message, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var m Message
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, jsonReason(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: unexpected data after the JSON object", ErrInvalid)
	}
	if err := m.normalize(); err != nil {
		return nil, err
	}
	return &m, nil
}

// jsonReason keeps decoder errors short and free of the body's content beyond a position.
func jsonReason(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q: unexpected JSON %s", strings.TrimPrefix(typ.Field, "Data."), typ.Value)
	case errors.Is(err, io.EOF):
		return "empty body"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	default:
		return "malformed JSON: " + err.Error()
	}
}

func (m *Message) normalize() error {
	if len(m.Alerts) == 0 {
		return fmt.Errorf("%w: no alerts", ErrInvalid)
	}
	firing := false
	for i := range m.Alerts {
		a := &m.Alerts[i]
		switch a.Status {
		case statusFiring, statusResolved:
		case "":
			// Without a status, an alert with an end time in the past is resolved.
			a.Status = statusFiring
			if !a.EndsAt.IsZero() && a.EndsAt.Before(time.Now()) {
				a.Status = statusResolved
			}
		default:
			return fmt.Errorf("%w: alert %d: unknown status %q", ErrInvalid, i, truncateForError(a.Status))
		}
		if a.Status == statusFiring {
			firing = true
		}
		if a.Labels == nil {
			a.Labels = template.KV{}
		}
		if a.Annotations == nil {
			a.Annotations = template.KV{}
		}
		if a.Fingerprint == "" {
			ls := make(model.LabelSet, len(a.Labels))
			for k, v := range a.Labels {
				ls[model.LabelName(k)] = model.LabelValue(v)
			}
			a.Fingerprint = ls.Fingerprint().String()
		}
	}
	// The group status is derived, not trusted: "firing" when any alert fires.
	m.Status = statusResolved
	if firing {
		m.Status = statusFiring
	}
	for _, kv := range []*template.KV{&m.GroupLabels, &m.CommonLabels, &m.CommonAnnotations, &m.RouteLabels} {
		if *kv == nil {
			*kv = template.KV{}
		}
	}
	return nil
}

// Resolved reports whether every alert of the group is resolved.
func (m *Message) Resolved() bool { return m.Status == statusResolved }

// Fingerprints returns the identity of the group's content, sorted: each alert's status,
// fingerprint and startsAt. The startsAt tells an incident from the next one of the same alerts:
// an alert that resolves and fires again is a new instance, with a newer startsAt, so its
// notifications are not copies of the last incident's (issue 20).
func (m *Message) Fingerprints() []string {
	fps := make([]string, 0, len(m.Alerts))
	for _, a := range m.Alerts {
		fps = append(fps, a.Status[:1]+a.Fingerprint+"@"+strconv.FormatInt(a.StartsAt.UnixNano(), 10))
	}
	sort.Strings(fps)
	return fps
}

// MatchLabels is the label set a route is chosen by: the group's common labels (which include
// the group labels), or the first alert's labels when an old Alertmanager sent neither.
func (m *Message) MatchLabels() map[string]string {
	if len(m.CommonLabels) > 0 || len(m.GroupLabels) > 0 {
		out := make(map[string]string, len(m.CommonLabels)+len(m.GroupLabels))
		for k, v := range m.GroupLabels {
			out[k] = v
		}
		for k, v := range m.CommonLabels {
			out[k] = v
		}
		return out
	}
	return m.Alerts[0].Labels
}

func truncateForError(s string) string {
	const max = 32
	r := []rune(s)
	if len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}
