#!/usr/bin/env bash
# Builds argocd-exporter and slack-bridge exactly as the Dockerfile does: static, trimmed, with
# version information. Usage: scripts/build.sh OUTDIR
set -euo pipefail
out=${1:-bin}
cd "$(dirname "$0")/.."
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
revision=${REVISION:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
branch=${BRANCH:-$(git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)}
pkg=github.com/prometheus/common/version
ldflags="-s -w -X $pkg.Version=$version -X $pkg.Revision=$revision -X $pkg.Branch=$branch -X $pkg.BuildUser=argocd-monitor -X $pkg.BuildDate=${BUILD_DATE:-unknown}"
mkdir -p "$out"
export CGO_ENABLED=0
go build -trimpath -ldflags "$ldflags" -o "$out/argocd-exporter" ./exporter/cmd/argocd-exporter
go build -trimpath -ldflags "$ldflags" -o "$out/slack-bridge" ./bridge/cmd/slack-bridge
