package lifecycle

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
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
