package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
)

// Remediator asks the exporter to resume an app's auto-sync remediation.
type Remediator interface {
	// Resume clears the app's pause and attempt count and schedules one attempt now; by names
	// who asked (for the exporter's log). It returns the exporter's one-line answer.
	Resume(ctx context.Context, namespace, name, by string) (string, error)
}

// Exporter is a Remediator on the exporter's app API.
type Exporter struct {
	base   string
	client *http.Client
}

// NewExporter talks to the exporter at base (e.g. http://argocd-exporter:9797); client sends
// the write token (an Authorization header from the HTTP client config).
func NewExporter(base string, client *http.Client) (*Exporter, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("exporter URL %q: want http(s)://host[:port]", base)
	}
	return &Exporter{base: strings.TrimRight(base, "/"), client: client}, nil
}

// Resume calls the exporter.
func (e *Exporter) Resume(ctx context.Context, namespace, name, by string) (string, error) {
	body, _ := json.Marshal(apiv1.ActionRequest{RequestedBy: by})
	u := e.base + apiv1.RemediationPath(namespace, name, apiv1.ActionResume)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("exporter request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return "", errors.New("the exporter did not answer in time")
		}
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL is known to the reader; keep the cause
		}
		return "", fmt.Errorf("the exporter is unreachable: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var out apiv1.ActionResponse
	_ = json.Unmarshal(b, &out)
	if resp.StatusCode/100 != 2 {
		why := out.Error
		switch {
		case why != "":
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			why = "the bridge's exporter token was not accepted"
		case resp.StatusCode == http.StatusNotFound:
			why = "no remediation endpoint or unknown app (is the exporter's write API on?)"
		default:
			why = http.StatusText(resp.StatusCode)
		}
		return "", fmt.Errorf("the exporter refused (HTTP %d): %s", resp.StatusCode, truncate(why, 200))
	}
	if out.Message == "" {
		out.Message = "remediation resumed"
	}
	return truncate(out.Message, 300), nil
}
