#!/usr/bin/env bash
# Builds argocd-exporter and slack-bridge: static (CGO off), trimmed paths, version information in
# prometheus/common/version (shown by --version and argocd_monitor_*build_info). The Dockerfile's
# build stage runs exactly this script, and so does `make build` (and thereby `make test`), so a
# change that breaks the image build breaks CI although no Docker engine runs there.
#
# Usage: scripts/build.sh [OUTDIR]          (default bin/)
# Env:   VERSION, REVISION, BRANCH, BUILD_DATE override what git and date report (the Dockerfile
#        passes them as build args, since .git is not in the build context); GOOS/GOARCH
#        cross-compile as usual.
set -euo pipefail
out=${1:-bin}
cd "$(dirname "$0")/.."
git_or() { git "${@:2}" 2>/dev/null || echo "$1"; }
version=${VERSION:-$(git_or dev describe --tags --always --dirty)}
revision=${REVISION:-$(git_or unknown rev-parse HEAD)}
branch=${BRANCH:-$(git_or unknown rev-parse --abbrev-ref HEAD)}
# RFC 3339 in UTC; SOURCE_DATE_EPOCH (reproducible builds) wins over the clock.
build_date=${BUILD_DATE:-$(date -u ${SOURCE_DATE_EPOCH:+-d "@$SOURCE_DATE_EPOCH"} +%Y-%m-%dT%H:%M:%SZ)}
pkg=github.com/prometheus/common/version
ldflags="-s -w -X $pkg.Version=$version -X $pkg.Revision=$revision -X $pkg.Branch=$branch"
ldflags+=" -X $pkg.BuildUser=argocd-monitor -X $pkg.BuildDate=$build_date"
mkdir -p "$out"
export CGO_ENABLED=0
# -buildvcs=false: the version is stamped above; VCS stamping fails without .git (the image build).
flags=(-trimpath -buildvcs=false -ldflags "$ldflags")
go build "${flags[@]}" -o "$out/argocd-exporter" ./exporter/cmd/argocd-exporter
go build "${flags[@]}" -o "$out/slack-bridge" ./bridge/cmd/slack-bridge
