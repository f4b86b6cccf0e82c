package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

var httpClient = &http.Client{Timeout: 10 * time.Second}

// getJSON GETs u and decodes its JSON answer into v.
func getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

// Sample is one series of an instant query.
type Sample struct {
	Metric map[string]string
	Value  float64
}

// Series is one series of a range query; NaN and Inf values are kept as Prometheus sends them.
type Series struct {
	Metric map[string]string
	Values []float64
}

type promAnswer struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
			Values [][]any           `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

func promValue(pair []any) float64 {
	if len(pair) != 2 {
		return math.NaN()
	}
	s, _ := pair[1].(string)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// Query runs an instant PromQL query (vector results).
func (s *Stack) Query(ctx context.Context, expr string) ([]Sample, error) {
	var a promAnswer
	if err := getJSON(ctx, s.PrometheusURL+"/api/v1/query?query="+url.QueryEscape(expr), &a); err != nil {
		return nil, err
	}
	if a.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", expr, a.Error)
	}
	var out []Sample
	for _, r := range a.Data.Result {
		out = append(out, Sample{Metric: r.Metric, Value: promValue(r.Value)})
	}
	return out, nil
}

// QueryRange runs a range PromQL query over [start, end].
func (s *Stack) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]Series, error) {
	q := url.Values{
		"query": {expr},
		"start": {strconv.FormatInt(start.Unix(), 10)},
		"end":   {strconv.FormatInt(end.Unix(), 10)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	}
	var a promAnswer
	if err := getJSON(ctx, s.PrometheusURL+"/api/v1/query_range?"+q.Encode(), &a); err != nil {
		return nil, err
	}
	if a.Status != "success" {
		return nil, fmt.Errorf("query_range %q: %s", expr, a.Error)
	}
	var out []Series
	for _, r := range a.Data.Result {
		sr := Series{Metric: r.Metric}
		for _, v := range r.Values {
			sr.Values = append(sr.Values, promValue(v))
		}
		out = append(out, sr)
	}
	return out, nil
}

// PromAlert is an alert as Prometheus' /api/v1/alerts lists it.
type PromAlert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"` // pending, firing
}

// PrometheusAlerts lists Prometheus' pending and firing alerts.
func (s *Stack) PrometheusAlerts(ctx context.Context) ([]PromAlert, error) {
	var a struct {
		Data struct {
			Alerts []PromAlert `json:"alerts"`
		} `json:"data"`
	}
	err := getJSON(ctx, s.PrometheusURL+"/api/v1/alerts", &a)
	return a.Data.Alerts, err
}

// AMAlert is an alert as Alertmanager's /api/v2/alerts lists it.
type AMAlert struct {
	Labels    map[string]string       `json:"labels"`
	Status    struct{ State string }  `json:"status"` // active, suppressed, unprocessed
	Receivers []struct{ Name string } `json:"receivers"`
}

// AlertmanagerAlerts lists the alerts Alertmanager holds.
func (s *Stack) AlertmanagerAlerts(ctx context.Context) ([]AMAlert, error) {
	var a []AMAlert
	err := getJSON(ctx, s.AlertmanagerURL+"/api/v2/alerts", &a)
	return a, err
}

// SimApp is a scenario app's state as the simulator's GET /sim/apps reports it.
type SimApp struct {
	Name                string `json:"name"`
	Project             string `json:"project"`
	Health              string `json:"health"`
	Sync                string `json:"sync"`
	OperationInProgress bool   `json:"operationInProgress"`
	Phase               string `json:"phase"`
	Message             string `json:"message"`
}

// SimApps returns the simulator's scenario apps.
func (s *Stack) SimApps(ctx context.Context) ([]SimApp, error) {
	var a []SimApp
	err := getJSON(ctx, s.SimURL+"/sim/apps", &a)
	return a, err
}

// SimSyncStats counts the sync calls the simulator received for one app.
type SimSyncStats struct {
	Calls     int `json:"calls"`
	Accepted  int `json:"accepted"`
	Busy      int `json:"busy"`
	Forbidden int `json:"forbidden"`
	Deleting  int `json:"deleting"`
	// Terminated and RolledBack count accepted DELETE .../operation and POST .../rollback calls.
	Terminated int `json:"terminated"`
	RolledBack int `json:"rolledBack"`
}

// SimSyncs returns the sync calls per app.
func (s *Stack) SimSyncs(ctx context.Context) (map[string]SimSyncStats, error) {
	var a map[string]SimSyncStats
	err := getJSON(ctx, s.SimURL+"/sim/syncs", &a)
	return a, err
}

// SetSimState changes a simulated app through the control API (fields as argocdsim's
// ControlState: health, sync, revision, onSync, deleting, syncWindow, syncDenied).
func (s *Stack) SetSimState(ctx context.Context, app string, state map[string]any) error {
	return postJSON(ctx, s.SimURL+"/sim/apps/"+url.PathEscape(app)+"/state", state)
}

// SetSimDestination makes the simulator's destination (a --fleet) unreachable or reachable again.
func (s *Stack) SetSimDestination(ctx context.Context, dest string, reachable bool) error {
	return postJSON(ctx, s.SimURL+"/sim/destinations/"+url.PathEscape(dest)+"/state", map[string]bool{"reachable": reachable})
}

// postJSON POSTs v as JSON to u, a control API answering 204.
func postJSON(ctx context.Context, u string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("POST %s: %d %s", u, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// SlackRequest is one request the fake Slack received (bridge/internal/slackfake's Request).
type SlackRequest struct {
	Method    string `json:"method"` // chat.postMessage, chat.update or webhook
	Channel   string `json:"channel"`
	ChannelID string `json:"channel_id"`
	TS        string `json:"ts"`
	ThreadTS  string `json:"thread_ts"`
	Text      string `json:"text"`
	Blocks    string `json:"blocks"`
	Attach    string `json:"attachments"`
	Status    int    `json:"status"`
	Result    string `json:"result"` // ok, ratelimited, server_error, or the Slack error code
	// At is when the fake answered it.
	At time.Time `json:"at"`
}

// Content is everything a person would read in the message: text, blocks and attachments.
func (r SlackRequest) Content() string { return r.Text + "\n" + r.Blocks + "\n" + r.Attach }

// SlackRequests returns every request the fake Slack received, in order.
func (s *Stack) SlackRequests(ctx context.Context) ([]SlackRequest, error) {
	var r []SlackRequest
	err := getJSON(ctx, s.SlackURL+"/fake/requests", &r)
	return r, err
}

// SlackPlan fails the fake Slack's requests that Filter picks (slackfake's Plan): the first
// RateLimited get 429 with Retry-After RetryAfter seconds, then 500 for ServerErrorsFor.
type SlackPlan struct {
	Filter struct {
		Method   string   `json:"method,omitempty"`
		TopLevel bool     `json:"top_level,omitempty"`
		Contains []string `json:"contains,omitempty"`
	} `json:"filter"`
	RateLimited     int           `json:"rate_limited"`
	RetryAfter      int           `json:"retry_after"`
	ServerErrorsFor time.Duration `json:"server_errors_for"`
}

// FailSlack installs a fault plan in the fake Slack.
func (s *Stack) FailSlack(ctx context.Context, p SlackPlan) error {
	return postJSON(ctx, s.SlackURL+"/fake/fail", p)
}

// AppStory is the part of the exporter's read API answer (GET /api/v1/apps/{namespace}/{name},
// exporter/api/v1.App) the demo and the tests read.
type AppStory struct {
	Sync *struct {
		Status    string   `json:"status"`
		Revisions []string `json:"revisions"`
	} `json:"sync"`
	Health *struct {
		Status string `json:"status"`
	} `json:"health"`
	// Operation is Argo CD's operationState.
	Operation *struct {
		Phase     string   `json:"phase"`
		Message   string   `json:"message"`
		Revisions []string `json:"revisions"`
	} `json:"operation"`
	Remediation *struct {
		Paused   bool `json:"paused"`
		Attempts []struct {
			N       int    `json:"n"`
			Result  string `json:"result"`
			Message string `json:"message"`
			Cause   string `json:"cause"`
		} `json:"attempts"`
		Actions []StoryAction `json:"actions"`
		Hold    *struct {
			Bad string `json:"bad"`
			To  string `json:"to"`
			By  string `json:"by"`
		} `json:"hold"`
	} `json:"remediation"`
}

// StoryAction is one remediation action of an AppStory (terminate, hard_refresh, rollback).
type StoryAction struct {
	Kind    string `json:"kind"`
	Result  string `json:"result"`
	By      string `json:"by"`
	Message string `json:"message"`
}

// LastAction returns the story's newest action of kind.
func (st AppStory) LastAction(kind string) (StoryAction, bool) {
	var a StoryAction
	ok := false
	if st.Remediation != nil {
		for _, x := range st.Remediation.Actions {
			if x.Kind == kind {
				a, ok = x, true
			}
		}
	}
	return a, ok
}

// AppStory reads one app's story from the exporter's read API, with the token in APITokenFile.
func (s *Stack) AppStory(ctx context.Context, namespace, name string) (AppStory, error) {
	var st AppStory
	tok, err := os.ReadFile(s.APITokenFile)
	if err != nil {
		return st, err
	}
	u := s.ExporterURL + "/api/v1/apps/" + url.PathEscape(namespace) + "/" + url.PathEscape(name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return st, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := httpClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return st, err
	}
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, bytes.TrimSpace(b))
	}
	return st, json.Unmarshal(b, &st)
}
