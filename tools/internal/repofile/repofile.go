// Package repofile resolves paths against the repository root and writes generated files there.
// The generators run as `go -C tools ...`, so the working directory is tools/; paths given
// relative to the repository root must still land in the right place.
package repofile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Resolver turns repository-relative paths into absolute ones.
type Resolver struct{ Root string }

// NewResolver uses root when set, else the nearest directory at or above the working directory
// that holds go.work.
func NewResolver(root string) (Resolver, error) {
	if root != "" {
		abs, err := filepath.Abs(root)
		if err != nil {
			return Resolver{}, fmt.Errorf("root: %w", err)
		}
		return Resolver{Root: abs}, nil
	}
	found, err := FindRootFromWD()
	if err != nil {
		return Resolver{}, err
	}
	return Resolver{Root: found}, nil
}

// FindRoot walks up from dir to the directory holding go.work.
func FindRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("repository root not found: no go.work above " + dir + " (pass -root)")
		}
	}
}

// Abs resolves p against the root unless it is absolute or empty.
func (r Resolver) Abs(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(r.Root, p)
}

// Rel names p relative to the root when it lies inside it (for headers of generated files).
func (r Resolver) Rel(p string) string {
	rel, err := filepath.Rel(r.Root, r.Abs(p))
	if err != nil || rel == ".." || filepath.IsAbs(rel) || len(rel) > 2 && rel[:3] == "../" {
		return filepath.Base(p)
	}
	return filepath.ToSlash(rel)
}

// Write creates p's directory and writes b to it through a temporary file and a rename, so a
// failed run never leaves a half-written file.
func (r Resolver) Write(p string, b []byte) error {
	dst := r.Abs(p)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".gen-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

// FindRootFromWD finds the repository root above the working directory (tests run in their
// package's directory).
func FindRootFromWD() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return FindRoot(wd)
}
