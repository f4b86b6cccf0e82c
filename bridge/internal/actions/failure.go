package actions

import "errors"

// failure is why an action failed, in two parts: say, a sentence in the bridge's words that
// Slack shows (the clicker's ephemeral message and the channel's audit reply; outside text in
// it escaped), and cause, which only the log gets: Alertmanager's and the exporter's internal
// URLs, dial errors and API errors never reach the channel.
type failure struct {
	say   string
	cause error
}

func (f *failure) Error() string {
	if f.cause == nil {
		return f.say
	}
	return f.say + ": " + f.cause.Error()
}

func (f *failure) Unwrap() error { return f.cause }

// fail is a failure: say goes to Slack, cause (may be nil) to the log.
func fail(say string, cause error) error { return &failure{say: say, cause: cause} }

// say is what Slack may show of err: a failure's sentence, else a fixed one.
func say(err error) string {
	var f *failure
	if errors.As(err, &f) {
		return f.say
	}
	return "the bridge hit an unexpected error (its log says which)"
}
