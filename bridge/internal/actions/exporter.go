package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// Remediator asks the exporter to resume an app's auto-sync remediation.
type Remediator interface {
	// Resume clears the app's pause and attempt count and schedules one attempt now; by names
	// who asked (for the exporter's log). It returns the exporter's one-line answer, escaped for
	// mrkdwn; its errors are failures (the channel sees fixed words, the log the cause).
	Resume(ctx context.Context, namespace, name, by string) (string, error)
	// Terminate ends the app's running operation (a sync stuck on a hook); the same contract.
	Terminate(ctx context.Context, namespace, name, by string) (string, error)
	// Rollback rolls the app back to its last healthy revision and holds it; the same contract.
	Rollback(ctx context.Context, namespace, name, by string) (string, error)
}

// Exporter is a Remediator on the exporter's app API.
type Exporter struct {
	base   string
	client *http.Client
}

// NewExporter talks to the exporter at base (e.g. http://argocd-exporter:9797); client sends
// the write token (bearer.NewClient, which follows no redirect with it).
func NewExporter(base string, client *http.Client) (*Exporter, error) {
	if err := secret.URL(base); err != nil {
		return nil, fmt.Errorf("exporter URL: %w", err) // never the URL: it may hold credentials
	}
	return &Exporter{base: strings.TrimRight(strings.TrimSpace(base), "/"), client: client}, nil
}

// Resume calls the exporter.
func (e *Exporter) Resume(ctx context.Context, namespace, name, by string) (string, error) {
	return e.post(ctx, apiv1.ActionResume, "remediation resumed", namespace, name, by)
}

// Terminate calls the exporter.
func (e *Exporter) Terminate(ctx context.Context, namespace, name, by string) (string, error) {
	return e.post(ctx, apiv1.ActionTerminate, "operation terminated", namespace, name, by)
}

// Rollback calls the exporter.
func (e *Exporter) Rollback(ctx context.Context, namespace, name, by string) (string, error) {
	return e.post(ctx, apiv1.ActionRollback, "rolled back", namespace, name, by)
}

// post asks the exporter's write API for one action on one app.
func (e *Exporter) post(ctx context.Context, action, done, namespace, name, by string) (string, error) {
	body, _ := json.Marshal(apiv1.ActionRequest{RequestedBy: by})
	u := e.base + apiv1.RemediationPath(namespace, name, action)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("exporter request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		// The URL and the dial error are for the log, not the channel.
		if errors.Is(err, context.DeadlineExceeded) {
			return "", fail("the exporter did not answer in time", err)
		}
		return "", fail("the exporter is unreachable, it did not get the "+action, err)
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
		return "", fail(fmt.Sprintf("the exporter did not accept the %s (HTTP %d): %s", action, resp.StatusCode, render.EscapeTruncate(why, 200)), nil)
	}
	if out.Message == "" {
		out.Message = done
	}
	return render.EscapeTruncate(out.Message, 300), nil
}
