// Package enrich asks the exporter's read API why the apps a notification names are in
// trouble, in parallel and within one budget, so the message can carry the "why" without ever
// being late: what did not answer in time is left out and said so.
package enrich

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/config"
	"k8s.io/apimachinery/pkg/util/validation"

	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
	"github.com/argocd-monitor/argocd-monitor/exporter/bearer"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// The result values of enrichments_total.
const (
	ResultOK      = "ok"      // every app asked for answered in full
	ResultPartial = "partial" // some apps or parts of answers are missing
	ResultTimeout = "timeout" // nothing arrived within the budget
	ResultError   = "error"   // nothing arrived: exporter down, 401, bad answers
)

// Results lists every result value, in the order the metric is initialised.
var Results = []string{ResultOK, ResultPartial, ResultTimeout, ResultError}

// Config is what New needs.
type Config struct {
	// URL is the exporter's base URL (http://argocd-exporter:9797).
	URL string
	// Token is the exporter's read API token, sent as a Bearer token (read per request: a
	// token file's new content applies at once).
	Token secret.Source
	// MaxApps is how many distinct apps of one notification get detail (default 10); the
	// rest are counted.
	MaxApps int
	// Concurrency bounds requests in flight for one notification (default 10).
	Concurrency int
	// HTTPClient replaces the client built from Token (tests); it must add the token and
	// should not follow redirects.
	HTTPClient *http.Client
}

// Metrics are the enrichment's own metrics.
type Metrics struct {
	Results  *prometheus.CounterVec
	Duration prometheus.Histogram
}

// NewMetrics builds argocd_monitor_bridge_enrichments_total{result} and the duration histogram,
// registered on reg (nil: not registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "argocd_monitor_bridge", Name: "enrichments_total",
			Help: "Notifications enriched with app detail from the exporter, by result (ok, partial, timeout, error).",
		}, []string{"result"}),
		Duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "argocd_monitor_bridge", Name: "enrichment_duration_seconds",
			Help:    "Time spent asking the exporter for app detail, per notification.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
	}
	for _, r := range Results {
		m.Results.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.Results, m.Duration)
	}
	return m
}

// Enricher fetches app detail from the exporter.
type Enricher struct {
	base    string
	client  *http.Client
	maxApps int
	conc    int
	metrics *Metrics
}

// New checks cfg and builds an Enricher; metrics may be nil.
func New(cfg Config, metrics *Metrics) (*Enricher, error) {
	if err := secret.URL(cfg.URL); err != nil {
		return nil, fmt.Errorf("exporter url: %w", err) // never the URL itself: it may hold credentials
	}
	u, _ := url.Parse(strings.TrimSpace(cfg.URL))
	client := cfg.HTTPClient
	if client == nil {
		if cfg.Token == nil {
			return nil, errors.New("a token is required with the exporter url")
		}
		// Redirects are not followed: the token would go along (bearer.NewClient).
		var err error
		client, err = bearer.NewClient("enrich", cfg.Token, config.DefaultHTTPClientConfig, config.WithUserAgent("argocd-monitor-bridge"))
		if err != nil {
			return nil, fmt.Errorf("exporter client: %w", err)
		}
	}
	if cfg.MaxApps <= 0 {
		cfg.MaxApps = 10
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 10
	}
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	return &Enricher{base: strings.TrimRight(u.String(), "/"), client: client, maxApps: cfg.MaxApps, conc: cfg.Concurrency, metrics: metrics}, nil
}

// Result is what one enrichment found. A nil *Result means enrichment is off.
type Result struct {
	// Apps maps "namespace/name" to the exporter's answer.
	Apps map[string]*apiv1.App
	// Status is one of the Result* values.
	Status string
	// Asked counts the apps asked about; Skipped the further apps left out (MaxApps).
	Asked, Skipped int
	// Problem is a short sentence for the message's context line when Status is not ok.
	Problem string
}

// App returns the detail of one app, or nil (templates: `$.Why.App "argocd" "payments"`).
func (r *Result) App(namespace, name string) *apiv1.App {
	if r == nil {
		return nil
	}
	return r.Apps[namespace+"/"+name]
}

// Key is the Apps key of an alert: "namespace/name", or "" when it names no app. Labels are
// outside input and become a path of the exporter's API: only Kubernetes names count (a DNS-1123
// label for the namespace, a DNS-1123 subdomain for the Application), so ".." or "a/b" is no app.
func Key(a template.Alert) string { return AppKey(a.Labels["namespace"], a.Labels["name"]) }

// AppKey is the Apps key of one app, "" unless namespace and name are Kubernetes names.
func AppKey(namespace, name string) string {
	if len(validation.IsDNS1123Label(namespace)) > 0 || len(validation.IsDNS1123Subdomain(name)) > 0 {
		return ""
	}
	return namespace + "/" + name
}

// maxAnswer bounds one answer's body (they are a few KB).
const maxAnswer = 1 << 20

// Enrich asks about the first MaxApps distinct apps of first (AppKey values: apps the message
// tells about beside its alerts', such as a fleet's parent; invalid keys are skipped) and of
// alerts (firing first), all at once, until ctx ends. It never returns an error: what failed is
// in the Result.
func (e *Enricher) Enrich(ctx context.Context, alerts []template.Alert, first ...string) *Result {
	if e == nil {
		return nil
	}
	start := time.Now()
	var keys []string
	seen := map[string]bool{}
	for _, k := range first {
		if ns, name, _ := strings.Cut(k, "/"); AppKey(ns, name) == k && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, status := range []string{"firing", "resolved"} {
		for _, a := range alerts {
			if k := Key(a); k != "" && a.Status == status && !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	res := &Result{Apps: make(map[string]*apiv1.App, min(len(keys), e.maxApps)), Status: ResultOK}
	if len(keys) > e.maxApps {
		res.Skipped = len(keys) - e.maxApps
		keys = keys[:e.maxApps]
	}
	res.Asked = len(keys)
	if len(keys) == 0 {
		return res
	}
	var (
		mu                       sync.Mutex
		wg                       sync.WaitGroup
		timeouts, fails, unknown int
		firstErr                 string
		incomplete               []string
	)
	sem := make(chan struct{}, e.conc)
	for _, k := range keys {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				mu.Lock()
				timeouts++
				mu.Unlock()
				return
			}
			defer func() { <-sem }()
			app, err := e.get(ctx, k)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				res.Apps[k] = app
				for _, pe := range app.Errors {
					incomplete = append(incomplete, pe.Part)
				}
			case errors.Is(err, errUnknownApp):
				unknown++
			case ctx.Err() != nil:
				timeouts++
			default:
				fails++
				if firstErr == "" {
					firstErr = err.Error()
				}
			}
		})
	}
	wg.Wait()
	got := len(res.Apps)
	switch {
	case got == len(keys) && len(incomplete) == 0:
		res.Status = ResultOK
	case got == 0 && unknown == len(keys):
		res.Status, res.Problem = ResultPartial, "no detail: the exporter does not know these apps"
	case got == 0 && timeouts > 0:
		res.Status, res.Problem = ResultTimeout, "no detail: the exporter did not answer in time"
	case got == 0:
		res.Status, res.Problem = ResultError, "no detail: "+firstErr
	default:
		res.Status = ResultPartial
		res.Problem = fmt.Sprintf("detail for %d of %d apps", got, len(keys))
		if got == len(keys) {
			res.Problem = "detail incomplete: Argo CD did not answer " + strings.Join(dedupe(incomplete), ", ")
		}
	}
	e.metrics.Results.WithLabelValues(res.Status).Inc()
	e.metrics.Duration.Observe(time.Since(start).Seconds())
	return res
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

var errUnknownApp = errors.New("the exporter does not know this app")

// get asks about one app; errors are short, bounded and free of the token and URL.
func (e *Enricher) get(ctx context.Context, key string) (*apiv1.App, error) {
	ns, name, _ := strings.Cut(key, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/api/v1/apps/"+url.PathEscape(ns)+"/"+url.PathEscape(name), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("exporter unreachable (%v)", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, errUnknownApp
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, errors.New("the exporter refused the token (401): the bridge's enrichment token must be the exporter's read-API token")
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("the exporter answered %d", resp.StatusCode)
	}
	var app apiv1.App
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&app); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, errors.New("malformed answer from the exporter")
	}
	return &app, nil
}
