// Package appapi is the exporter's read API: GET /api/v1/apps/{namespace}/{name}
// tells why an app is in trouble (health and sync detail, the last operation,
// failing resources and their warning events, the commit, the remediation
// story). It asks Argo CD on demand, never on the poll path, behind a per-app
// cache, singleflight and a per-request budget, and answers a Bearer token only.
package appapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
	"github.com/argocd-monitor/argocd-monitor/exporter/bearer"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/remediate"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// Pattern is the route the handler serves.
const Pattern = apiv1.AppPattern

// Stories is the remediation engine's read-only view; *remediate.Engine implements it.
type Stories interface {
	Story(namespace, name string) (remediate.Story, bool)
}

// Config is what New needs. Zero durations and counts take the defaults.
type Config struct {
	// Token is the token callers must present (re-read when its file changes).
	Token secret.Source
	// CacheTTL is how long a complete answer is served from memory (default
	// 15s); an answer with errors is kept a fifth of that.
	CacheTTL time.Duration
	// Budget bounds the Argo CD calls behind one answer (default 2s).
	Budget time.Duration
	// Concurrency bounds calls to Argo CD in flight across all answers (default 4).
	Concurrency int
	// Project, when set, names a known app's project; unknown apps get a 404
	// without a call to Argo CD. known=true with project "" means "ask anyway".
	Project func(namespace, name string) (project string, known bool)
	Now     func() time.Time
	Logger  *slog.Logger
}

// API serves the read API.
type API struct {
	cfg      Config
	fetcher  *fetcher
	stories  Stories
	group    singleflight.Group
	requests *prometheus.CounterVec

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	answer  *apiv1.App
	expires time.Time
}

// maxCacheEntries bounds memory if callers ask about many apps.
const maxCacheEntries = 20000

// NewRequestCounter is argocd_monitor_app_api_requests_total{code}.
func NewRequestCounter() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argocd_monitor_app_api_requests_total",
		Help: "Requests to the exporter's read API (/api/v1/apps/...) by HTTP answer code.",
	}, []string{"code"})
	for _, code := range []string{"200", "400", "401", "404", "500"} {
		c.WithLabelValues(code)
	}
	return c
}

// New builds the API. stories may be nil (no remediation story).
func New(cfg Config, src Source, stories Stories, requests *prometheus.CounterVec) (*API, error) {
	if cfg.Token == nil {
		return nil, errors.New("no token source")
	}
	if cfg.CacheTTL < 0 || cfg.Budget < 0 || cfg.Concurrency < 0 {
		return nil, errors.New("cache TTL, budget and concurrency must not be negative")
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = 15 * time.Second
	}
	if cfg.Budget == 0 {
		cfg.Budget = 2 * time.Second
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 4
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if requests == nil {
		requests = NewRequestCounter()
	}
	return &API{
		cfg:      cfg,
		fetcher:  &fetcher{src: src, sem: make(chan struct{}, cfg.Concurrency), budget: cfg.Budget, now: cfg.Now},
		stories:  stories,
		requests: requests,
		cache:    map[string]cached{},
	}, nil
}

// dns1123 is what Kubernetes allows in namespace and Application names.
var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	code := a.serve(w, r)
	a.requests.WithLabelValues(strconv.Itoa(code)).Inc()
}

func (a *API) serve(w http.ResponseWriter, r *http.Request) int {
	if bearer.Check(r, a.cfg.Token) != bearer.Valid {
		bearer.Challenge(w, "argocd-exporter")
		return writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
	}
	ns, name := r.PathValue("namespace"), r.PathValue("name")
	if !dns1123.MatchString(ns) || !dns1123.MatchString(name) {
		return writeError(w, http.StatusBadRequest, "namespace and name must be Kubernetes names")
	}
	project := ""
	if a.cfg.Project != nil {
		p, known := a.cfg.Project(ns, name)
		if !known {
			return writeError(w, http.StatusNotFound, "no such application")
		}
		project = p
	}
	ans, err := a.answer(r.Context(), ns, name, project)
	switch {
	case errors.Is(err, errNotFound):
		return writeError(w, http.StatusNotFound, "no such application")
	case err != nil:
		// The caller went away or its deadline passed first.
		return writeError(w, http.StatusServiceUnavailable, "no answer in time")
	}
	out := *ans
	if a.stories != nil {
		if st, ok := a.stories.Story(ns, name); ok {
			out.Remediation = remediation(st)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := json.NewEncoder(w).Encode(&out); err != nil {
		a.cfg.Logger.Debug("write app api answer", "err", err)
	}
	return http.StatusOK
}

// answer serves from the cache, else makes one fetch per app however many
// callers ask at once. A caller whose context ends stops waiting; the fetch
// goes on for the others and the cache.
func (a *API) answer(ctx context.Context, ns, name, project string) (*apiv1.App, error) {
	key := ns + "/" + name
	now := a.cfg.Now()
	a.mu.Lock()
	c, ok := a.cache[key]
	a.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.answer, nil
	}
	ch := a.group.DoChan(key, func() (any, error) {
		ans, err := a.fetcher.fetch(context.WithoutCancel(ctx), ns, name, project)
		if err != nil {
			return nil, err
		}
		ttl := a.cfg.CacheTTL
		if len(ans.Errors) > 0 {
			ttl /= 5
		}
		a.store(key, cached{answer: ans, expires: a.cfg.Now().Add(ttl)})
		return ans, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*apiv1.App), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (a *API) store(key string, c cached) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.cache) >= maxCacheEntries {
		now := a.cfg.Now()
		for k, v := range a.cache {
			if !now.Before(v.expires) {
				delete(a.cache, k)
			}
		}
		if len(a.cache) >= maxCacheEntries {
			clear(a.cache)
		}
	}
	a.cache[key] = c
}

func writeError(w http.ResponseWriter, code int, msg string) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(apiv1.ErrorResponse{Error: msg})
	return code
}
