package interact

import (
	"context"
	"log/slog"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode connects to Slack with the app-level token in api (slack.OptionAppLevelToken)
// and handles interactive envelopes until ctx ends; slack-go's client reconnects by itself
// (Slack also asks for it with "disconnect" envelopes). Every envelope is acknowledged first.
func (r *Receiver) RunSocketMode(ctx context.Context, api *slack.Client) error {
	client := socketmode.New(api, socketmode.OptionLog(slogPrinter{r.cfg.Logger}))
	errc := make(chan error, 1)
	go func() { errc <- client.RunContext(ctx) }()
	for {
		select {
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case evt := <-client.Events:
			r.socketEvent(ctx, client, evt)
		}
	}
}

func (r *Receiver) socketEvent(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		r.cfg.Logger.Info("slack socket mode connected")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
		r.cfg.Logger.Warn("slack socket mode connection failed, retrying", "event", evt.Type)
	case socketmode.EventTypeInteractive:
		if evt.Request == nil {
			return
		}
		if err := client.AckCtx(ctx, evt.Request.EnvelopeID, nil); err != nil {
			r.cfg.Logger.Warn("socket mode ack failed", "err", err)
		}
		result := r.accept(ctx, ViaSocket, evt.Request.Payload)
		r.cfg.Received.WithLabelValues(ViaSocket, result).Inc()
	case socketmode.EventTypeEventsAPI, socketmode.EventTypeSlashCommand:
		// Not subscribed to, but acknowledged so Slack does not retry.
		if evt.Request != nil {
			_ = client.AckCtx(ctx, evt.Request.EnvelopeID, nil)
		}
	}
}

// slogPrinter routes slack-go's socket mode log lines to slog at debug level.
type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Output(_ int, s string) error {
	p.l.Debug("socket mode", "msg", s)
	return nil
}
