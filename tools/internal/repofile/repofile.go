// Package repofile finds the repository root (the directory holding go.work) for the tools that
// read repository files from wherever they run: the demo, the end-to-end test, package tests.
package repofile

import (
	"errors"
	"os"
	"path/filepath"
)

// FindRoot walks up from dir to the directory holding go.work.
func FindRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("repository root not found: no go.work above " + dir)
		}
	}
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
