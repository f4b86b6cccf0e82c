// Package lifecycle is the process shape both binaries share (the bridge imports it): Run binds
// every listener before anything starts (TCP, vsock://:PORT or systemd's sockets), then runs the
// HTTP server (exporter-toolkit: TLS and basic auth from the web config file) and the process's
// actors under one errgroup, where the first error ends them all; when the context ends it
// drains (readiness turns false, no new connections, in-flight requests finish within a bound),
// runs the stop hooks in order and only then ends the background goroutines. Every goroutine it
// starts has ended when Run returns. Errors name what failed in this package's words
// (*BindError, *WebConfigError); the commands map them to their flags.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/mdlayher/vsock"
	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/sync/errgroup"
)

// Options is one process: where it listens, what it serves, what else runs beside.
type Options struct {
	Listen Listen
	// Listeners, when set, are served instead of binding Listen's addresses (tests bind
	// 127.0.0.1:0 themselves to learn the port); Run closes them.
	Listeners []net.Listener
	// Server is the HTTP server (Handler and timeouts set); Run serves it on the listeners.
	Server *http.Server
	// Drain bounds the graceful shutdown of the HTTP server.
	Drain time.Duration
	// Bound is called once every listener is bound, before anything else starts (the process's
	// "starting" log line: a process that cannot serve logs only why).
	Bound func()
	// Draining is called when the context ends, before the shutdown (readiness turns 503).
	Draining func()
	// Actors run beside the server until their context ends; an error from one ends the
	// process (the others are cancelled) and is Run's error.
	Actors []func(ctx context.Context) error
	// Background goroutines start after the listeners are bound and run until the stop hooks
	// are done (e.g. a leader election whose Lease must outlive the last action).
	Background []func(ctx context.Context)
	// Stop hooks run in order once the server drained and the actors returned.
	Stop   []func()
	Logger *slog.Logger
}

// Run binds, serves and runs the actors until ctx ends or one of them fails, then drains and
// stops. It returns the first error (a *BindError or *WebConfigError when serving could not
// start), or nil after a clean stop.
func Run(ctx context.Context, o Options) error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	listeners := o.Listeners
	if listeners == nil {
		var err error
		if listeners, err = Bind(o.Listen); err != nil {
			return err
		}
	}
	defer Close(listeners)
	if o.Bound != nil {
		o.Bound()
	}

	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var background errgroup.Group
	for _, b := range o.Background {
		background.Go(func() error { b(bgCtx); return nil })
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return Serve{Server: o.Server, Listeners: listeners, Listen: o.Listen, Drain: o.Drain, Draining: o.Draining, Logger: o.Logger}.Run(gctx)
	})
	for _, a := range o.Actors {
		g.Go(func() error { return a(gctx) })
	}
	err := g.Wait()
	for _, stop := range o.Stop {
		stop()
	}
	stopBackground()
	_ = background.Wait()
	return err
}

// Listen says where to serve.
type Listen struct {
	// Addresses are TCP host:port, or vsock://:PORT as exporter-toolkit accepts.
	Addresses []string
	// SystemdSocket takes the listeners systemd passed (socket activation) instead.
	SystemdSocket bool
	// WebConfigFile is exporter-toolkit's web config (TLS, basic auth); "" serves plain HTTP.
	WebConfigFile string
}

// BindError names the address that could not be bound.
type BindError struct {
	Addr string // "" for systemd socket activation
	Err  error
}

func (e *BindError) Error() string {
	if e.Addr == "" {
		return "systemd socket activation: " + e.Err.Error()
	}
	return fmt.Sprintf("listen on %s: %v", e.Addr, e.Err)
}

func (e *BindError) Unwrap() error { return e.Err }

// WebConfigError is a web config file that cannot be read or used.
type WebConfigError struct {
	File string
	Err  error
}

func (e *WebConfigError) Error() string { return fmt.Sprintf("web config %s: %v", e.File, e.Err) }

func (e *WebConfigError) Unwrap() error { return e.Err }

// Bind checks the web config and binds every listener, so a taken port or a broken TLS file ends
// the process before anything runs. On error nothing stays bound.
func Bind(l Listen) ([]net.Listener, error) {
	if l.WebConfigFile != "" {
		if err := web.Validate(l.WebConfigFile); err != nil {
			return nil, &WebConfigError{File: l.WebConfigFile, Err: err}
		}
	}
	if l.SystemdSocket {
		ls, err := activation.Listeners()
		if err != nil {
			return nil, &BindError{Err: err}
		}
		if len(ls) == 0 {
			return nil, &BindError{Err: errors.New("no socket activation file descriptors found")}
		}
		return ls, nil
	}
	if len(l.Addresses) == 0 {
		return nil, &BindError{Err: errors.New("no address given")}
	}
	ls := make([]net.Listener, 0, len(l.Addresses))
	for _, addr := range l.Addresses {
		one, err := bindOne(addr)
		if err != nil {
			Close(ls)
			return nil, &BindError{Addr: addr, Err: err}
		}
		ls = append(ls, one)
	}
	return ls, nil
}

// bindOne binds a TCP address or, like exporter-toolkit, vsock://:PORT.
func bindOne(addr string) (net.Listener, error) {
	if !strings.HasPrefix(addr, "vsock://") {
		return net.Listen("tcp", addr)
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(u.Port(), 10, 32)
	if err != nil {
		return nil, fmt.Errorf("vsock port: %w", err)
	}
	return vsock.Listen(uint32(port), nil)
}

// Close closes listeners, ignoring errors (used on the way out).
func Close(ls []net.Listener) {
	for _, l := range ls {
		_ = l.Close()
	}
}

// Serve is one HTTP server on bound listeners.
type Serve struct {
	Server    *http.Server
	Listeners []net.Listener
	Listen    Listen
	// Drain bounds the graceful shutdown: in-flight requests get this long.
	Drain time.Duration
	// Draining is called once the context ends, before the shutdown (readiness turns 503).
	Draining func()
	Logger   *slog.Logger
}

// Run serves until ctx ends or serving fails, then shuts down gracefully. Serving that fails
// while ctx is live is a *WebConfigError (the listeners are bound: what fails is TLS or users).
func (s Serve) Run(ctx context.Context) error {
	logger := s.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	systemd, config := s.Listen.SystemdSocket, s.Listen.WebConfigFile
	addrs := s.Listen.Addresses
	errc := make(chan error, 1)
	go func() {
		errc <- web.ServeMultiple(s.Listeners, s.Server, &web.FlagConfig{
			WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &config,
		}, logger)
	}()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return &WebConfigError{File: config, Err: err}
	case <-ctx.Done():
	}
	if s.Draining != nil {
		s.Draining()
	}
	logger.Info("draining in-flight requests", "within", s.Drain)
	sctx, cancel := context.WithTimeout(context.Background(), s.Drain)
	defer cancel()
	if err := s.Server.Shutdown(sctx); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Flags are the names a command gives the settings of Listen, for its error messages.
type Flags struct {
	ListenAddress, SystemdSocket, WebConfigFile string
}

// Explain names the flag behind a *BindError or *WebConfigError; other errors pass unchanged.
func (f Flags) Explain(err error) error {
	var be *BindError
	var we *WebConfigError
	switch {
	case errors.As(err, &be) && be.Addr != "":
		return fmt.Errorf("%s %s: %w", f.ListenAddress, be.Addr, be.Err)
	case errors.As(err, &be):
		return fmt.Errorf("%s: %w", f.SystemdSocket, be.Err)
	case errors.As(err, &we):
		return fmt.Errorf("%s: %w", f.WebConfigFile, we.Err)
	}
	return err
}
