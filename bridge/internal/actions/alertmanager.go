package actions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"
	amclient "github.com/prometheus/alertmanager/api/v2/client"
	"github.com/prometheus/alertmanager/api/v2/client/silence"
	"github.com/prometheus/alertmanager/api/v2/models"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// Silencer creates and expires Alertmanager silences.
type Silencer interface {
	// Create makes one silence matching labels exactly from now until until.
	Create(ctx context.Context, labels map[string]string, until time.Time, createdBy, comment string) (id string, err error)
	// Expire ends a silence; one already gone is not an error.
	Expire(ctx context.Context, id string) error
}

// Alertmanager is a Silencer on Alertmanager's API v2, through Alertmanager's own client.
type Alertmanager struct {
	api *amclient.AlertmanagerAPI
	now func() time.Time
}

// NewAlertmanager talks to the Alertmanager at base (e.g. http://alertmanager:9093, a path
// prefix kept) with client (TLS and credentials from the HTTP client config, never in the URL).
func NewAlertmanager(base string, client *http.Client, now func() time.Time) (*Alertmanager, error) {
	if err := secret.URL(base); err != nil {
		return nil, fmt.Errorf("alertmanager URL: %w", err) // never the URL: it may hold credentials
	}
	u, _ := url.Parse(strings.TrimSpace(base))
	if now == nil {
		now = time.Now
	}
	rt := httptransport.NewWithClient(u.Host, path.Join("/", u.Path, "/api/v2"), []string{u.Scheme}, client)
	return &Alertmanager{api: amclient.New(rt, strfmt.Default), now: now}, nil
}

// Create posts the silence.
func (a *Alertmanager) Create(ctx context.Context, labels map[string]string, until time.Time, createdBy, comment string) (string, error) {
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	ms := make(models.Matchers, 0, len(names))
	for _, k := range names {
		ms = append(ms, &models.Matcher{Name: ptr(k), Value: ptr(labels[k]), IsRegex: ptr(false), IsEqual: ptr(true)})
	}
	start, end := strfmt.DateTime(a.now()), strfmt.DateTime(until)
	params := silence.NewPostSilencesParamsWithContext(ctx).WithSilence(&models.PostableSilence{Silence: models.Silence{
		Matchers: ms, StartsAt: &start, EndsAt: &end, CreatedBy: &createdBy, Comment: &comment,
	}})
	resp, err := a.api.Silence.PostSilences(params)
	if err != nil {
		return "", amError("the silence", err)
	}
	return resp.Payload.SilenceID, nil
}

// Expire deletes (expires) the silence.
func (a *Alertmanager) Expire(ctx context.Context, id string) error {
	_, err := a.api.Silence.DeleteSilence(silence.NewDeleteSilenceParamsWithContext(ctx).WithSilenceID(strfmt.UUID(id)))
	var gone *silence.DeleteSilenceNotFound
	if errors.As(err, &gone) {
		return nil
	}
	if err != nil {
		return amError("the expiry of the silence", err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// amError words a client error for the person who clicked and the channel: which system, and
// why in fixed words; Alertmanager's own answer escaped, transport errors (its URL, dial errors)
// for the log only.
func amError(what string, err error) error {
	var payload interface{ GetPayload() string }
	var coded interface{ Code() int }
	switch {
	case errors.As(err, &payload) && errors.As(err, &coded):
		return fail(fmt.Sprintf("Alertmanager did not accept %s (HTTP %d): %s", what, coded.Code(), render.EscapeTruncate(payload.GetPayload(), 200)), err)
	case errors.As(err, &coded):
		return fail(fmt.Sprintf("Alertmanager did not accept %s (HTTP %d)", what, coded.Code()), err)
	case errors.Is(err, context.DeadlineExceeded):
		return fail(fmt.Sprintf("Alertmanager did not answer in time about %s", what), err)
	default:
		return fail(fmt.Sprintf("Alertmanager is unreachable, it did not get %s", what), err)
	}
}
