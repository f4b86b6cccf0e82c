package deploycheck

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestPinnedKustomizeBinaryAgrees runs the pinned kustomize tool of this module
// (`go tool kustomize build`, what docs/deploy.md tells people to run) and expects the in-process
// build byte for byte: the kustomize API version here is the one the binary was built with.
func TestPinnedKustomizeBinaryAgrees(t *testing.T) {
	for _, o := range Overlays {
		t.Run(o, func(t *testing.T) {
			dir, err := filepath.Abs(filepath.Join(root, OverlayDir(o)))
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("go", "tool", "kustomize", "build", dir)
			cmd.Dir = filepath.Join(root, "tools")
			cmd.Env = append(os.Environ(), "GOWORK=off")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			got, err := cmd.Output()
			if err != nil {
				t.Fatalf("go tool kustomize build: %v\n%s", err, stderr.String())
			}
			want, err := Build(filesys.MakeFsOnDisk(), dir)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("go tool kustomize build %s differs from the in-process build", OverlayDir(o))
			}
		})
	}
}
