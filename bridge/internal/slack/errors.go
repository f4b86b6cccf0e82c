// Package slack delivers rendered messages to Slack: through an incoming webhook, through the Web
// API with a bot token (chat.postMessage, chat.update on the original message, thread replies),
// or to the console for the demo. It classifies every failure as retryable or final, honours
// Retry-After, paces posts per channel and bounds everything by a deadline.
package slack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/slack-go/slack"
)

// Results of a Slack request: the fixed label set of slack_requests_total.
const (
	ResultOK           = "ok"
	ResultRateLimited  = "ratelimited"
	ResultServerError  = "server_error"
	ResultClientError  = "client_error"
	ResultTimeout      = "timeout"
	ResultNetworkError = "network_error"
)

// Results lists every result value.
var Results = []string{ResultOK, ResultRateLimited, ResultServerError, ResultClientError, ResultTimeout, ResultNetworkError}

// Error is a classified Slack failure. Its text holds Slack's error code or the HTTP status,
// never a URL or token.
type Error struct {
	Result     string
	Reason     string
	RetryAfter time.Duration
}

func (e *Error) Error() string { return "slack " + e.Result + ": " + e.Reason }

// Permanent reports whether retrying can never help (answered 422 to Alertmanager).
func (e *Error) Permanent() bool { return e.Result == ResultClientError }

// transientAPIErrors are Web API error codes worth retrying; every other code is final.
var transientAPIErrors = map[string]bool{
	"ratelimited": true, "internal_error": true, "fatal_error": true, "service_unavailable": true,
	"request_timeout": true, "team_added_to_org": true,
}

// Classify maps an error from slack-go or the HTTP client to an *Error (nil for nil).
func Classify(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var api slack.SlackErrorResponse
	var ne net.Error
	switch {
	case errors.As(err, &rl):
		return &Error{Result: ResultRateLimited, Reason: "HTTP 429", RetryAfter: rl.RetryAfter}
	case errors.As(err, &sc):
		switch {
		case sc.Code == http.StatusTooManyRequests:
			return &Error{Result: ResultRateLimited, Reason: sc.Status}
		case sc.Code >= 500:
			return &Error{Result: ResultServerError, Reason: sc.Status}
		default:
			return &Error{Result: ResultClientError, Reason: sc.Status}
		}
	case errors.As(err, &api):
		if api.Err == "ratelimited" {
			return &Error{Result: ResultRateLimited, Reason: api.Err}
		}
		if transientAPIErrors[api.Err] {
			return &Error{Result: ResultServerError, Reason: api.Err}
		}
		return &Error{Result: ResultClientError, Reason: api.Err}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return &Error{Result: ResultTimeout, Reason: "request timed out"}
	case errors.Is(err, context.Canceled):
		return &Error{Result: ResultTimeout, Reason: "request canceled"}
	}
	return &Error{Result: ResultNetworkError, Reason: redact(err)}
}

// redact drops the URL (a webhook URL is a secret) from HTTP client errors.
func redact(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Sprintf("%s: %v", ue.Op, ue.Err)
	}
	return err.Error()
}

// gone reports a chat.update failure after which posting a new message is the right move.
func gone(err error) bool {
	e := Classify(err)
	if e == nil || e.Result != ResultClientError {
		return false
	}
	switch e.Reason {
	case "message_not_found", "cant_update_message", "edit_window_closed", "msg_too_long_to_update":
		return true
	}
	return false
}
