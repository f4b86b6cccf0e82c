// Package imagetest runs the container image `make image` built (argocd-monitor:dev, podman's
// local storage): the exporter as the image's own user with a read-only root file system against
// the Argo CD simulator, the bridge by command override, --version, the OCI labels, the size.
// The tests carry the build tag `image` and run with `make test-image` (after `make image`).
package imagetest
