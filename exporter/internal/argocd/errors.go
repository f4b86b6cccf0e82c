package argocd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Sentinel errors for the Sync answers a caller reacts to differently.
// They are wrapped by an *APIError, so both errors.Is and errors.As work.
var (
	// ErrOperationInProgress: 400 "another operation is already in progress".
	// Benign: a sync is pending or running; wait and look again.
	ErrOperationInProgress = errors.New("another operation is already in progress")
	// ErrAppDeleting: 400 "application is deleting".
	ErrAppDeleting = errors.New("application is deleting")
	// ErrMalformedResponse: the body could not be decoded (truncated or not JSON).
	ErrMalformedResponse = errors.New("malformed response")
)

// APIError is a non-2xx answer from the Argo CD API. Message is the server's
// message (bounded in length, token redacted), never the request URL.
type APIError struct {
	StatusCode int
	Message    string
	kind       error // ErrOperationInProgress, ErrAppDeleting or nil
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("argocd api: %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	return fmt.Sprintf("argocd api: %d %s", e.StatusCode, e.Message)
}

// Unwrap exposes the sentinel for errors.Is.
func (e *APIError) Unwrap() error { return e.kind }

// IsForbidden reports a 403: RBAC denies the call, or a sync window blocks it.
func IsForbidden(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusForbidden
}

// IsUnauthorized reports a 401: the token is missing, expired or wrong.
func IsUnauthorized(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusUnauthorized
}

// IsNotFound reports a 404 (only answered when the request named the project).
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound
}

// IsRetryable reports whether the same request may succeed later without any
// change on our side: 5xx, 429, timeouts and transport failures. 4xx answers
// (including ErrOperationInProgress, which callers handle by waiting) are final
// for this attempt.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode >= 500 || ae.StatusCode == http.StatusTooManyRequests
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	// Timeouts, refused connections, resets, truncated bodies.
	return true
}

// IsTimeout reports a request that ran out of time.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Cause turns an error from this package into a short sentence a person can
// act on; it is what the poller logs when the API goes down. It names the
// settings in this package's words (docs/exporter.md maps them to flags).
func Cause(err error) string {
	var ae *APIError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ae) && ae.StatusCode == http.StatusUnauthorized:
		return "token expired or wrong (401): generate a new one with `argocd account generate-token --account argocd-monitor` and update the token file"
	case errors.As(err, &ae) && ae.StatusCode == http.StatusForbidden:
		return "permission denied (403): the account needs `applications, get` in argocd-rbac-cm (e.g. `p, role:monitor, applications, get, */*, allow`)"
	case errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound:
		return "not found (404): check that the API URL points at the Argo CD server's /api/v1"
	case errors.As(err, &ae) && ae.StatusCode >= 500:
		return fmt.Sprintf("Argo CD server error (%d): check the argocd-server pod and its logs", ae.StatusCode)
	case errors.As(err, &ae):
		return fmt.Sprintf("unexpected answer (%d)", ae.StatusCode)
	case IsTimeout(err):
		return "timeout: Argo CD did not answer within the request timeout; raise it or check the server's load"
	case errors.Is(err, ErrMalformedResponse):
		return "malformed or truncated JSON from Argo CD: is the API URL the Argo CD API (not the UI or a proxy)?"
	default:
		return "cannot reach Argo CD: check the API URL, DNS, TLS (the CA file) and network policies"
	}
}

// codeLabel is the bounded `code` label value of api_requests_total.
func codeLabel(status int, err error) string {
	switch {
	case status != 0:
		return fmt.Sprint(status)
	case IsTimeout(err):
		return "timeout"
	default:
		return "error"
	}
}

// errorFromBody builds an *APIError from an Argo CD error body
// ({"error":..,"code":..,"message":..}); anything else keeps a short prefix.
func errorFromBody(status int, body []byte, token string) *APIError {
	var eb struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	msg := ""
	if json.Unmarshal(body, &eb) == nil {
		msg = eb.Message
		if msg == "" {
			msg = eb.Error
		}
	} else {
		msg = strings.TrimSpace(string(body))
	}
	if token != "" {
		msg = strings.ReplaceAll(msg, token, "[REDACTED]")
	}
	const maxMsg = 300
	if len(msg) > maxMsg {
		msg = strings.ToValidUTF8(msg[:maxMsg], "") + "..." // the cut may split a rune
	}
	e := &APIError{StatusCode: status, Message: msg}
	if status == http.StatusBadRequest || status == http.StatusConflict {
		switch {
		case strings.Contains(msg, "another operation is already in progress"):
			e.kind = ErrOperationInProgress
		case strings.Contains(msg, "application is deleting"):
			e.kind = ErrAppDeleting
		}
	}
	return e
}
