package argocdsim

import (
	"context"
	"net"
	"net/http"
	"sync"
)

// Pipe serves a simulator over in-memory connections (net.Pipe). Tests on
// testing/synctest's clock use it: a goroutine waiting on a loopback socket
// would keep the bubble's time from moving, one waiting on a pipe does not.
type Pipe struct {
	l   *pipeListener
	srv *http.Server
}

// PipeURL is the API URL a client of a Pipe uses; only its dialer matters.
const PipeURL = "http://argocd-sim.invalid"

// ServePipe starts serving s in memory; Close it when done.
func (s *Sim) ServePipe() *Pipe {
	p := &Pipe{l: &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}, srv: &http.Server{Handler: s.Handler()}}
	go func() { _ = p.srv.Serve(p.l) }()
	return p
}

// DialContext connects to the simulator, whatever the address.
func (p *Pipe) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case p.l.conns <- server:
		return client, nil
	case <-p.l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops the server and its connections.
func (p *Pipe) Close() error { return p.srv.Close() }

type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "argocd-sim" }
