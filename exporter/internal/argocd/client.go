package argocd

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/config"

	"github.com/argocd-monitor/argocd-monitor/exporter/bearer"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// Config is what NewClient needs. APIURL may end in /api/v1 or not.
type Config struct {
	APIURL             string
	Token              secret.Source
	CAFile             string
	InsecureSkipVerify bool
	Timeout            time.Duration // per request, body included; 0 means 30s
	UserAgent          string
	// DialContext, when set, replaces the network dialer: tests serve the
	// API in memory (argocdsim.Pipe) to run on testing/synctest's clock.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Client calls the Argo CD REST API. It is safe for concurrent use.
type Client struct {
	base     *url.URL // ends in /api/v1
	token    secret.Source
	http     *http.Client
	timeout  time.Duration
	requests *prometheus.CounterVec
}

// ListOptions selects the applications a List returns.
type ListOptions struct {
	Selector string   // label selector
	Projects []string // repeatable `projects`
	// Fields is the `fields` projection (e.g. "items.metadata.name"); empty
	// asks for whole Applications. See ProjectedFields.
	Fields []string
}

// ProjectedFields is every List path the exporter reads that Argo CD's
// `fields` whitelist allows. What the whitelist cannot project (conditions,
// reconciledAt, operationState.message) needs a Get. The whole spec, not
// spec.project and friends: Argo CD before 3.5 (e.g. 3.2) has no spec
// sub-paths in the whitelist and silently drops them, which hid the project
// and auto-sync policy (seen by the real-Argo-CD e2e, docs/testing.md).
// status.sync.revision is dropped by those versions too; an empty revision
// is treated as unknown.
var ProjectedFields = []string{
	"items.metadata.name",
	"items.metadata.namespace",
	"items.metadata.labels",
	"items.metadata.annotations",
	"items.metadata.deletionTimestamp",
	"items.spec",
	"items.status.health",
	"items.status.sync.status",
	"items.status.sync.revision",
	"items.status.operationState.phase",
	"items.status.operationState.startedAt",
	"items.status.operationState.finishedAt",
	"items.operation.sync",
}

// ResyncFields is the cheap List a watch resync compares with the snapshot:
// identity plus the state the stream's events change. Argo CD's whitelist
// has no metadata.resourceVersion (it is dropped like any unlisted path),
// so these stand in for it; an app whose values differ is fetched with Get.
var ResyncFields = []string{
	"items.metadata.name",
	"items.metadata.namespace",
	"items.metadata.deletionTimestamp",
	"items.spec.project",
	"items.status.health",
	"items.status.sync.status",
	"items.status.sync.revision",
	"items.status.operationState.phase",
	"items.status.operationState.startedAt",
	"items.status.operationState.finishedAt",
	"items.operation.sync",
}

// NewClient checks cfg and builds a client. requests, when not nil, counts
// every call by endpoint ("list", "get", "sync") and code (HTTP status,
// "timeout" or "error").
func NewClient(cfg Config, requests *prometheus.CounterVec) (*Client, error) {
	base, err := ParseAPIURL(cfg.APIURL)
	if err != nil {
		return nil, err
	}
	if cfg.Token == nil {
		return nil, errors.New("no token source")
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = "argocd-monitor"
	}
	// TLS, CA, bearer token and user agent the way the Prometheus ecosystem
	// does them. The token goes through a SecretManager rather than
	// Authorization.CredentialsFile: the library's FileSecret fails the
	// request when a re-read fails (a Secret's symlink swap), while a
	// secret.File keeps the last good token.
	hcfg := config.HTTPClientConfig{
		Authorization:   &config.Authorization{Type: "Bearer", CredentialsRef: tokenRef},
		TLSConfig:       config.TLSConfig{CAFile: cfg.CAFile, InsecureSkipVerify: cfg.InsecureSkipVerify},
		FollowRedirects: true,
		EnableHTTP2:     true,
	}
	if err := hcfg.Validate(); err != nil {
		return nil, err
	}
	opts := []config.HTTPClientOption{config.WithUserAgent(ua), config.WithSecretManager(bearer.SecretManager{Source: cfg.Token}),
		config.WithIdleConnTimeout(90 * time.Second)}
	if cfg.DialContext != nil {
		opts = append(opts, config.WithDialContextFunc(cfg.DialContext))
	}
	hc, err := config.NewClientFromConfig(hcfg, "argocd", opts...)
	if err != nil {
		return nil, fmt.Errorf("ca file: %w", err)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &Client{base: base, token: cfg.Token, http: hc, timeout: timeout, requests: requests}, nil
}

// tokenRef names the bearer token for the SecretManager.
const tokenRef = "argocd-token"

// NewRequestCounter is argocd_monitor_api_requests_total{endpoint,code}.
func NewRequestCounter(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argocd_monitor_api_requests_total",
		Help: "Requests to the Argo CD API by endpoint (list, get, sync, terminate, refresh, resource_tree, events, revision_metadata) and code (HTTP status, timeout or error).",
	}, []string{"endpoint", "code"})
	if reg != nil {
		reg.MustRegister(c)
	}
	return c
}

// ParseAPIURL accepts the server's base URL with or without /api/v1 and
// returns it ending in /api/v1.
func ParseAPIURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("api url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("api url %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("api url %q: no host", raw)
	}
	if u.User != nil {
		return nil, errors.New("api url: credentials in the URL are not supported, use a token")
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, "/api/v1")
	u.Path = p + "/api/v1"
	u.RawQuery, u.Fragment, u.RawPath = "", "", ""
	return u, nil
}

// BaseURL is the API root the client calls (ends in /api/v1).
func (c *Client) BaseURL() string { return c.base.String() }

// query is the List (and Watch) query selecting the applications.
func (opts ListOptions) query() url.Values {
	q := url.Values{}
	if opts.Selector != "" {
		q.Set("selector", opts.Selector)
	}
	for _, p := range opts.Projects {
		q.Add("projects", p)
	}
	if len(opts.Fields) > 0 {
		q.Set("fields", strings.Join(opts.Fields, ","))
	}
	return q
}

// List returns the applications matching opts, decoding the body as a stream.
func (c *Client) List(ctx context.Context, opts ListOptions) ([]App, error) {
	q := opts.query()
	var apps []App
	err := c.do(ctx, "list", http.MethodGet, "applications", q, nil, func(body io.Reader) error {
		var err error
		apps, err = DecodeList(body)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list applications: %w", err)
	}
	return apps, nil
}

// Get returns one whole application. appNamespace and project may be empty;
// naming the project makes a missing app a 404 instead of a 403.
func (c *Client) Get(ctx context.Context, name, appNamespace, project string) (App, error) {
	q := url.Values{}
	if appNamespace != "" {
		q.Set("appNamespace", appNamespace)
	}
	if project != "" {
		q.Set("project", project)
	}
	var app App
	err := c.do(ctx, "get", http.MethodGet, "applications/"+url.PathEscape(name), q, nil, func(body io.Reader) error {
		var err error
		app, err = DecodeApp(body)
		return err
	})
	if err != nil {
		return App{}, fmt.Errorf("get application %s: %w", name, err)
	}
	return app, nil
}

// SyncRequest names the app to sync. Project is always sent (a missing app
// is then a 404, and Argo CD checks the app belongs to it).
type SyncRequest struct {
	Name         string
	AppNamespace string
	Project      string
	Prune        bool
}

// Sync asks Argo CD to sync an application to its target revision, with no
// retryStrategy: the caller owns the retries. Errors: ErrOperationInProgress,
// ErrAppDeleting (both inside an *APIError), IsForbidden for RBAC or a sync
// window, IsRetryable for 5xx and timeouts.
func (c *Client) Sync(ctx context.Context, req SyncRequest) error {
	if req.Name == "" {
		return errors.New("sync: no application name")
	}
	body, err := json.Marshal(struct {
		Project      string `json:"project"`
		Prune        bool   `json:"prune"`
		AppNamespace string `json:"appNamespace,omitempty"`
	}{req.Project, req.Prune, req.AppNamespace})
	if err != nil {
		return err
	}
	err = c.do(ctx, "sync", http.MethodPost, "applications/"+url.PathEscape(req.Name)+"/sync", nil, body, func(body io.Reader) error {
		// The answer is the updated Application; we only need it to be complete.
		_, err := io.Copy(io.Discard, body)
		return err
	})
	if err != nil {
		return fmt.Errorf("sync application %s: %w", req.Name, err)
	}
	return nil
}

// AppRef names one application for the calls beyond Sync. Project is always
// sent: a missing app is then a 404, and Argo CD checks the app belongs to it.
type AppRef struct {
	Name         string
	AppNamespace string
	Project      string
}

func (r AppRef) query() url.Values {
	q := url.Values{}
	if r.AppNamespace != "" {
		q.Set("appNamespace", r.AppNamespace)
	}
	if r.Project != "" {
		q.Set("project", r.Project)
	}
	return q
}

// TerminateOperation ends the app's running operation (`DELETE
// .../operation`; needs `applications, sync`). The operation then ends
// Failed, "Operation terminated". Argo CD answers 400 when none runs, and
// 415 unless the request says Content-Type: application/json, body or not:
// an empty body is sent so send sets the header.
func (c *Client) TerminateOperation(ctx context.Context, ref AppRef) error {
	if ref.Name == "" {
		return errors.New("terminate operation: no application name")
	}
	err := c.do(ctx, "terminate", http.MethodDelete, "applications/"+url.PathEscape(ref.Name)+"/operation", ref.query(), []byte{}, func(body io.Reader) error {
		_, err := io.Copy(io.Discard, body)
		return err
	})
	if err != nil {
		return fmt.Errorf("terminate operation of application %s: %w", ref.Name, err)
	}
	return nil
}

// HardRefresh asks Argo CD to regenerate the app's manifests from git and compare again (`GET
// .../applications/{name}?refresh=hard`; needs only `applications, get`) and returns the app as
// answered: compared already, so its ReconciledAt is the refresh's.
func (c *Client) HardRefresh(ctx context.Context, ref AppRef) (App, error) {
	q := ref.query()
	q.Set("refresh", "hard")
	var app App
	err := c.do(ctx, "refresh", http.MethodGet, "applications/"+url.PathEscape(ref.Name), q, nil, func(body io.Reader) error {
		var err error
		app, err = DecodeApp(body)
		return err
	})
	if err != nil {
		return App{}, fmt.Errorf("hard refresh of application %s: %w", ref.Name, err)
	}
	return app, nil
}

// Rollback redeploys the app at one of its status.history entries (`POST
// .../applications/{name}/rollback`; needs only `applications, sync`). Argo CD refuses it for
// an app with auto-sync and while an operation runs. The body always carries id: id 0 is the
// first history entry, and Argo CD v3.5 answers 500 to a body without it.
func (c *Client) Rollback(ctx context.Context, ref AppRef, id int64) error {
	if ref.Name == "" {
		return errors.New("rollback: no application name")
	}
	body, err := json.Marshal(RollbackRequest{ID: id, AppNamespace: ref.AppNamespace, Project: ref.Project})
	if err != nil {
		return err
	}
	err = c.do(ctx, "rollback", http.MethodPost, "applications/"+url.PathEscape(ref.Name)+"/rollback", nil, body, func(body io.Reader) error {
		_, err := io.Copy(io.Discard, body)
		return err
	})
	if err != nil {
		return fmt.Errorf("rollback application %s to history id %d: %w", ref.Name, id, err)
	}
	return nil
}

// Manifests returns the app's rendered manifests at revision (`GET
// .../applications/{name}/manifests?revision=...`; needs `applications, get`), one JSON document
// per resource, sorted so that two answers compare as lists.
func (c *Client) Manifests(ctx context.Context, ref AppRef, revision string) ([]string, error) {
	q := ref.query()
	if revision != "" {
		q.Set("revision", revision)
	}
	var out struct {
		Manifests []string `json:"manifests"`
	}
	err := c.do(ctx, "manifests", http.MethodGet, "applications/"+url.PathEscape(ref.Name)+"/manifests", q, nil, func(body io.Reader) error {
		return json.NewDecoder(io.LimitReader(body, maxManifestsBody)).Decode(&out)
	})
	if err != nil {
		return nil, fmt.Errorf("manifests of application %s at %s: %w", ref.Name, revision, err)
	}
	slices.Sort(out.Manifests)
	return out.Manifests, nil
}

// maxManifestsBody bounds a manifests answer (a large app renders a few MB).
const maxManifestsBody = 64 << 20

// RollbackRequest is the body of POST .../rollback. ID has no omitempty on purpose.
type RollbackRequest struct {
	ID           int64  `json:"id"`
	Prune        bool   `json:"prune,omitempty"`
	DryRun       bool   `json:"dryRun,omitempty"`
	AppNamespace string `json:"appNamespace,omitempty"`
	Project      string `json:"project,omitempty"`
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// do runs one request with the per-request timeout, counts it, turns non-2xx
// answers into *APIError and hands a 2xx body to read. Errors never contain
// the token, and name the path rather than the full URL.
func (c *Client) do(ctx context.Context, endpoint, method, path string, q url.Values, body []byte, read func(io.Reader) error) (err error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	status := 0
	defer func() {
		if c.requests != nil && !errors.Is(err, context.Canceled) {
			c.requests.WithLabelValues(endpoint, codeLabel(status, err)).Inc()
		}
	}()

	resp, rbody, err := c.send(ctx, method, path, q, body, "application/json")
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			status = ae.StatusCode
		}
		return err
	}
	defer rbody.Close()
	if err := read(rbody); err != nil {
		// A body cut short by the deadline is a timeout, not bad JSON.
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err // counted as code "error": the answer was unusable
	}
	status = resp.StatusCode
	return nil
}

// send makes one request and returns a 2xx answer with its body (to close),
// gunzipped when the server compressed it; any other answer is read
// (bounded) into an *APIError. Only JSON answers are asked compressed: a
// compressing proxy may hold a stream's events back.
func (c *Client) send(ctx context.Context, method, path string, q url.Values, body []byte, accept string) (*http.Response, io.ReadCloser, error) {
	target := c.base.String() + "/" + path // path segments are escaped by the caller
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", accept)
	if accept == "application/json" {
		// The transport leaves compression to us; a 10k-app List shrinks ~10x.
		req.Header.Set("Accept-Encoding", "gzip")
	}
	if body != nil { // also an empty one: Argo CD answers 415 to a DELETE without it
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, scrubURL(err)
	}
	rbody := resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			resp.Body.Close()
			return nil, nil, fmt.Errorf("%w: gzip: %w", ErrMalformedResponse, err)
		}
		rbody = gzipBody{zr, resp.Body}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer rbody.Close()
		b, _ := io.ReadAll(io.LimitReader(rbody, maxErrorBody))
		token := c.token.Value() // only to redact it from the message
		return nil, nil, errorFromBody(resp.StatusCode, b, token)
	}
	return resp, rbody, nil
}

// gzipBody closes the decompressor and the body under it.
type gzipBody struct {
	*gzip.Reader
	body io.Closer
}

func (g gzipBody) Close() error {
	g.Reader.Close()
	return g.body.Close()
}

// scrubURL drops the URL from a transport error (*url.Error): it may carry
// query strings, and the cause is what matters.
func scrubURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
