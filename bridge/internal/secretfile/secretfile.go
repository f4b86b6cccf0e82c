// Package secretfile reads a secret (token, webhook URL) from a mounted file and reads it again
// when the file changes, so a rotated Kubernetes Secret (swapped behind a symlink by the
// kubelet) takes effect without a restart. A re-read that fails keeps the last good value. The
// value never appears in logs or errors.
package secretfile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/prometheus/common/config"
)

// File is one secret file. Safe for concurrent use.
type File struct {
	path   string
	check  func(string) error
	logger *slog.Logger

	mu    sync.Mutex
	value string
	seen  os.FileInfo // the file as last read (or tried)
}

// Read reads path now (an error if it is unreadable, empty, or check rejects its trimmed
// content) and returns the File that Value re-reads on change. check may be nil; its error
// must not quote the value. Failed re-reads are logged to logger (nil: not logged).
func Read(path string, check func(string) error, logger *slog.Logger) (*File, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &File{path: path, check: check, logger: logger}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if f.value, err = f.read(); err != nil {
		return nil, err
	}
	f.seen = fi
	return f, nil
}

// Value returns the secret, read again first if the file changed since the last read.
func (f *File) Value() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, err := os.Stat(f.path)
	if err != nil || sameFile(f.seen, fi) {
		return f.value // gone for a moment (mid-rotation) or unchanged: keep the last good value
	}
	f.seen = fi
	v, err := f.read()
	if err != nil {
		f.logger.Warn("secret file changed but cannot be used, keeping the last good value", "file", f.path, "err", err)
		return f.value
	}
	f.value = v
	return v
}

func (f *File) read() (string, error) {
	b, err := os.ReadFile(f.path)
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s is empty", f.path)
	}
	if f.check != nil {
		if err := f.check(v); err != nil {
			return "", fmt.Errorf("%s: %w", f.path, err)
		}
	}
	return v, nil
}

func sameFile(a, b os.FileInfo) bool {
	return a != nil && os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

// errNotURL is the check error of URL for content that is not an http(s) URL.
var errNotURL = errors.New("does not hold an http(s) URL")

// URL is a check for files holding a URL (Slack webhook URLs).
func URL(v string) error {
	if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
		return errNotURL
	}
	return nil
}

// BearerClient returns an HTTP client (prometheus/common/config, as the rest of the ecosystem
// builds them) that sends the file's secret as a Bearer token. The token goes through a
// SecretManager rather than Authorization.CredentialsFile: the library's file secret fails the
// request when a re-read fails (mid-rotation), while File keeps the last good value.
func (f *File) BearerClient(name string, opts ...config.HTTPClientOption) (*http.Client, error) {
	hc := config.HTTPClientConfig{
		Authorization:   &config.Authorization{Type: "Bearer", CredentialsRef: "token"},
		FollowRedirects: true, EnableHTTP2: true,
	}
	return config.NewClientFromConfig(hc, name, append(opts, config.WithSecretManager(manager{f}))...)
}

// manager serves the File to prometheus/common/config.
type manager struct{ f *File }

func (m manager) Fetch(context.Context, string) (string, error) { return m.f.Value(), nil }
