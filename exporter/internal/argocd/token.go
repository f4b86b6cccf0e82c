package argocd

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// TokenSource yields the bearer token for each request.
type TokenSource interface {
	Token() (string, error)
}

// StaticToken is a token given once (flag or env).
type StaticToken string

// Token returns the token itself.
func (t StaticToken) Token() (string, error) { return string(t), nil }

// FileToken reads the token from a file and re-reads it whenever the file's
// modification time or size changes, so a rotated Kubernetes Secret (mounted
// as a file) takes effect without a restart. One stat per request is cheap
// next to an HTTP round trip.
type FileToken struct {
	path string

	mu      sync.Mutex
	token   string
	modTime time.Time
	size    int64
}

// NewFileToken reads path once, failing when it is unreadable or empty.
func NewFileToken(path string) (*FileToken, error) {
	f := &FileToken{path: path}
	if _, err := f.Token(); err != nil {
		return nil, err
	}
	return f, nil
}

// Token returns the file's current token. When a re-read fails (the file is
// briefly missing while Kubernetes swaps the symlink) the last good token is
// kept, so one unlucky poll does not fail.
func (f *FileToken) Token() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, err := os.Stat(f.path)
	if err != nil {
		if f.token != "" {
			return f.token, nil
		}
		return "", fmt.Errorf("token file: %w", err)
	}
	if f.token != "" && fi.ModTime().Equal(f.modTime) && fi.Size() == f.size {
		return f.token, nil
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		if f.token != "" {
			return f.token, nil
		}
		return "", fmt.Errorf("token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		if f.token != "" {
			return f.token, nil
		}
		return "", errors.New("token file: file is empty")
	}
	f.token, f.modTime, f.size = tok, fi.ModTime(), fi.Size()
	return tok, nil
}
