// Package lifecycle is the process shape both binaries share (the bridge imports it): bind every
// listener before any actor starts (TCP, vsock://:PORT or systemd's sockets), serve HTTP on them
// with exporter-toolkit (TLS and basic auth from the web config file), and on the end of the
// context drain: readiness turns false, no new connections, in-flight requests finish within a
// bound. Errors name what failed in this package's words (*BindError, *WebConfigError); the
// commands map them to their flags.
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
)

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
