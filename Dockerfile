# syntax=docker/dockerfile:1
# argocd-monitor image: argocd-exporter (the default entrypoint) and slack-bridge, both static
# Go binaries on distroless (CA certificates, /etc/passwd with nonroot, no shell).
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t registry.example.com/argocd-monitor:TAG .
# Run the bridge by overriding the command: docker run IMAGE ... or, in Kubernetes,
# command: ["/usr/local/bin/slack-bridge"].

# The two base images are build arguments so that a machine that cannot pull them can build with
# stand-ins of its own (make image does, see docs/image.md); the defaults are what ships.
# GOLANG_IMAGE: same Go minor as go.work. RUNTIME_IMAGE: CA certificates, /etc/passwd with
# nonroot (uid/gid 65532), no shell.
ARG GOLANG_IMAGE=golang:1.26
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

# The build runs on the builder's platform and cross-compiles.
FROM --platform=$BUILDPLATFORM ${GOLANG_IMAGE} AS build
WORKDIR /src
ENV GOTOOLCHAIN=local GOFLAGS=-mod=readonly

# Module downloads first, in their own layer, keyed on the go.mod/go.sum files only.
COPY go.work ./
COPY exporter/go.mod exporter/go.sum ./exporter/
COPY bridge/go.mod bridge/go.sum ./bridge/
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
# One name per ARG: buildah (podman build) reads only the first of several.
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG REVISION=unknown
ARG BRANCH=unknown
ARG CREATED=unknown
# The same script `make build` and therefore `make test` run.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    VERSION=$VERSION REVISION=$REVISION BRANCH=$BRANCH BUILD_DATE=$CREATED \
    scripts/build.sh /out

FROM ${RUNTIME_IMAGE}
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="argocd-monitor" \
      org.opencontainers.image.description="Prometheus exporter and auto-sync remediation for Argo CD applications, with an Alertmanager-to-Slack bridge" \
      org.opencontainers.image.source="https://github.com/argocd-monitor/argocd-monitor" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$REVISION" \
      org.opencontainers.image.created="$CREATED"
COPY --from=build /out/argocd-exporter /out/slack-bridge /usr/local/bin/
# distroless "nonroot": uid/gid 65532, the user the Kubernetes manifests require.
USER 65532:65532
# 9797 exporter, 9798 bridge.
EXPOSE 9797 9798
ENTRYPOINT ["/usr/local/bin/argocd-exporter"]
