package argocd

// TEMPORARY: the sync contract agreed with the exporter branch, so the
// remediation package compiles before the real client lands on main.
// Delete this file when merging main.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// SyncRequest asks Argo CD to sync one application.
type SyncRequest struct {
	Name, AppNamespace, Project string
	Prune                       bool
}

// Client is a placeholder for the exporter's Argo CD client.
type Client struct{}

// Sync is a placeholder; the real one POSTs /api/v1/applications/{name}/sync.
func (c *Client) Sync(ctx context.Context, req SyncRequest) error {
	return errors.New("argocd: sync not implemented on this branch")
}

// ErrOperationInProgress is Argo CD's 400 "another operation is already in progress".
var ErrOperationInProgress = errors.New("another operation is already in progress")

// ErrAppDeleting is Argo CD's 400 "application is deleting".
var ErrAppDeleting = errors.New("application is deleting")

// APIError is a non-2xx answer from Argo CD.
type APIError struct {
	StatusCode int
	Message    string
}

func (e *APIError) Error() string { return fmt.Sprintf("argocd: %d: %s", e.StatusCode, e.Message) }

// IsForbidden reports a 403 (RBAC or sync window).
func IsForbidden(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden
}
