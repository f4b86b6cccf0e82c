package lifecycle

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestBindNamesTheAddress(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	free := "127.0.0.1:0"
	_, err = Bind(Listen{Addresses: []string{free, taken.Addr().String()}})
	var be *BindError
	if !errors.As(err, &be) || be.Addr != taken.Addr().String() {
		t.Fatalf("Bind = %v, want a BindError naming %s", err, taken.Addr())
	}
	if _, err := Bind(Listen{}); !errors.As(err, &be) || be.Addr != "" {
		t.Errorf("Bind without addresses = %v, want a BindError", err)
	}
	t.Setenv("LISTEN_FDS", "")
	if _, err := Bind(Listen{SystemdSocket: true}); !errors.As(err, &be) {
		t.Errorf("Bind with systemd sockets but none passed = %v, want a BindError", err)
	}
}

func TestBindChecksTheWebConfigFirst(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(bad, []byte("tls_server_config:\n  cert_file: /nonexistent\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var we *WebConfigError
	if _, err := Bind(Listen{Addresses: []string{"127.0.0.1:0"}, WebConfigFile: bad}); !errors.As(err, &we) || we.File != bad {
		t.Fatalf("Bind = %v, want a WebConfigError naming %s", err, bad)
	}
}

// A request in flight when the context ends is answered; readiness is told first.
func TestServeDrainsInFlight(t *testing.T) {
	ls, err := Bind(Listen{Addresses: []string{"127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "done")
	})}
	ctx, cancel := context.WithCancel(context.Background())
	draining := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Serve{Server: srv, Listeners: ls, Listen: Listen{Addresses: []string{ls[0].Addr().String()}},
			Drain: time.Minute, Draining: func() { close(draining) }}.Run(ctx)
	}()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ls[0].Addr().String() + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	<-entered
	cancel()
	<-draining
	close(release)
	if body := <-got; body != "done" {
		t.Errorf("in-flight request got %q, want its answer", body)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// Run's order: an actor's error ends the server and the other actors; the stop hooks run after
// all of them returned; background goroutines outlive the stop hooks; nothing is left running.
func TestRunOrder(t *testing.T) {
	var events []string
	var mu sync.Mutex
	note := func(e string) { mu.Lock(); events = append(events, e); mu.Unlock() }
	boom := errors.New("boom")
	bgDone := make(chan struct{})
	err := Run(context.Background(), Options{
		Listen: Listen{Addresses: []string{"127.0.0.1:0"}},
		Server: &http.Server{Handler: http.NotFoundHandler()},
		Drain:  time.Minute,
		Bound:  func() { note("bound") },
		Actors: []func(context.Context) error{
			func(context.Context) error { return boom },
			func(ctx context.Context) error { <-ctx.Done(); note("actor stopped"); return nil },
		},
		Background: []func(context.Context){func(ctx context.Context) {
			<-ctx.Done()
			note("background stopped")
			close(bgDone)
		}},
		Draining: func() { note("draining") },
		Stop:     []func(){func() { note("stop 1") }, func() { note("stop 2") }},
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want the actor's error", err)
	}
	select {
	case <-bgDone:
	default:
		t.Fatal("Run returned before its background goroutine ended")
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"bound", "stop 1", "stop 2", "background stopped"}
	got := slices.DeleteFunc(slices.Clone(events), func(e string) bool { return e == "draining" || e == "actor stopped" })
	if !slices.Equal(got, want) || !slices.Contains(events, "draining") || slices.Index(events, "actor stopped") > slices.Index(events, "stop 1") {
		t.Errorf("events = %v, want draining and the actor's stop before %v", events, want)
	}
}

// A port that cannot be bound fails Run before any actor or background goroutine starts.
func TestRunBindsFirst(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	started := false
	err = Run(context.Background(), Options{
		Listen:     Listen{Addresses: []string{taken.Addr().String()}},
		Server:     &http.Server{},
		Actors:     []func(context.Context) error{func(context.Context) error { started = true; return nil }},
		Background: []func(context.Context){func(context.Context) { started = true }},
		Bound:      func() { started = true },
	})
	var be *BindError
	if !errors.As(err, &be) || started {
		t.Fatalf("Run = %v (started %v), want a BindError and nothing started", err, started)
	}
}

func TestFlagsExplain(t *testing.T) {
	f := Flags{ListenAddress: "--web.listen-address", SystemdSocket: "--web.systemd-socket", WebConfigFile: "--web.config.file"}
	cause := errors.New("cause")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&BindError{Addr: ":9797", Err: cause}, "--web.listen-address :9797: cause"},
		{&BindError{Err: cause}, "--web.systemd-socket: cause"},
		{&WebConfigError{File: "web.yml", Err: cause}, "--web.config.file: cause"},
		{cause, "cause"},
	} {
		got := f.Explain(tc.err)
		if got.Error() != tc.want || !errors.Is(got, cause) {
			t.Errorf("Explain(%v) = %v, want %q wrapping the cause", tc.err, got, tc.want)
		}
	}
	if f.Explain(nil) != nil {
		t.Error("Explain(nil) != nil")
	}
}
