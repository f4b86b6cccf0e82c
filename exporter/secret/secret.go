// Package secret owns how argocd-monitor holds a secret (a token, a signing secret, a webhook
// URL): read from a mounted file and read again when the file changes, so a rotated Kubernetes
// Secret (swapped behind a symlink by the kubelet) takes effect without a restart, or given once
// through an environment variable. A re-read that fails keeps the last good value; values are
// trimmed and never appear in logs or errors.
//
// Source is the one interface every consumer of a secret takes, in both modules: the exporter
// (Argo CD token, read and write API tokens) and the Slack bridge, which imports this package
// (bot and app tokens, signing secret, webhook URLs, its webhook token, the exporter tokens it
// sends).
package secret

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
)

// Source yields the current value of a secret. Value is called for each use (each request), so
// a file's new content applies at once; it is never "" for the Sources of this package.
type Source interface {
	Value() string
}

// Static is a secret given once (an environment variable).
type Static string

// Value returns the secret itself.
func (s Static) Value() string { return string(s) }

// Func adapts a function to Source (tests, values another component owns).
type Func func() string

// Value calls f.
func (f Func) Value() string { return f() }

// File is one secret file. Safe for concurrent use.
type File struct {
	path   string
	check  func(string) error
	logger *slog.Logger

	mu    sync.Mutex
	value string
	seen  os.FileInfo // the file as last read (or tried)
}

// ReadFile reads path now (an error if it is unreadable, empty, or check rejects its trimmed
// content) and returns the File that Value re-reads on change. check may be nil; its error must
// not quote the value. Failed re-reads are logged to logger (nil: not logged), naming the file,
// never the value.
func ReadFile(path string, check func(string) error, logger *slog.Logger) (*File, error) {
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

// Value returns the secret, read again first if the file changed since the last read. One stat
// per call is cheap next to the request the secret is for.
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

// Open is the secret from file when file is set (re-read when it changes), else value (an
// environment variable), trimmed; nil when both are empty. check, when not nil, applies to
// either (at start, and to each re-read of the file); its error must not quote the value.
func Open(file, value string, check func(string) error, logger *slog.Logger) (Source, error) {
	if file != "" {
		f, err := ReadFile(file, check, logger)
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	v := strings.TrimSpace(value)
	if v == "" {
		return nil, nil
	}
	if check != nil {
		if err := check(v); err != nil {
			return nil, err
		}
	}
	return Static(v), nil
}

// Errors of URL, in words that never quote the URL (it may be a secret, or hold one).
var (
	ErrNotHTTPURL     = errors.New("not an http(s) URL with a host")
	ErrURLCredentials = errors.New("the URL carries credentials (user:password@); give them another way")
)

// URL is the check for a URL argocd-monitor calls, secret (a Slack webhook URL) or not (an
// Alertmanager, exporter or Slack API base URL): http or https, a host, no user information.
func URL(v string) error {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ErrNotHTTPURL
	}
	if u.User != nil {
		return ErrURLCredentials
	}
	return nil
}
