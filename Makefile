# argocd-monitor. `make test` is what CI runs (.ci/run); `make demo` runs the whole stack locally.
SHELL := /bin/bash
GO    ?= go
BIN   ?= bin
# The heavy upstream tools (promtool, prometheus, kustomize; alertmanager in its own module
# because Prometheus pins a newer Alertmanager library than the newest one that builds as a tool)
# live outside go.work so the product modules' dependency graphs stay small.
TOOLS    := GOWORK=off $(GO) -C tools
AM_TOOLS := GOWORK=off $(GO) -C tools/alertmanager
PKGS     := ./exporter/... ./bridge/...

.PHONY: all build test lint unit tools helm test-tools test-alerts e2e e2e-ha chaos chaos-smoke real-bins e2e-real image test-image demo bench bench-fleet generate fuzz clean

all: build

## build: both binaries into bin/, with the same script the Dockerfile runs.
build:
	./scripts/build.sh $(BIN)

## test: everything CI checks; starts with build, the exact commands of the Dockerfile's build stage.
test: build lint unit test-tools test-alerts e2e e2e-ha chaos-smoke e2e-real test-image

## lint: golangci-lint (pinned in tools/golangci-lint, config .golangci.yml) over the product and
# tools modules, go vet, gofmt, and promlint over the exporter's metrics.
GOLANGCI_LINT := tools/.cache/bin/golangci-lint
$(GOLANGCI_LINT): tools/golangci-lint/go.mod tools/golangci-lint/go.sum
	GOWORK=off $(GO) -C tools/golangci-lint build -o $(CURDIR)/$@ github.com/golangci/golangci-lint/v2/cmd/golangci-lint

lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run $(PKGS)
	cd tools && GOWORK=off ../$(GOLANGCI_LINT) run ./...
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l exporter bridge $$(find tools -name .cache -prune -o -name '*.go' -print)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) test -count=1 -run 'TestExpositionPromlint' ./exporter/cmd/argocd-exporter

## unit: the product modules' tests (race detector on).
unit:
	$(GO) test -race -count=1 $(PKGS)

## tools: build the pinned upstream tools once (cached by Go's build cache afterwards).
tools:
	$(TOOLS) build tool
	$(AM_TOOLS) build tool

## helm: the pinned Helm v4 CLI, built from tools/helm into tools/.cache/bin (skipped when cached).
helm:
	$(TOOLS) run ./cmd/helm-build

## test-tools: generators, generated-file freshness, dashboards, deploy checks and the Helm chart
# (lint, template, comparison with kustomize) of the tools module.
test-tools: tools helm
	$(TOOLS) vet ./...
	$(TOOLS) test -count=1 ./...

## test-alerts: promtool check + unit tests of the alert rules, each test file also in the shape
# of --metrics.state-sets=current (alerts/tests/current/, generated).
# promtool runs inside tools/ (go -C), so it gets absolute paths.
test-alerts: tools
	$(TOOLS) tool promtool check rules $(CURDIR)/alerts/argocd-monitor.rules.yaml
	$(TOOLS) tool promtool test rules $(CURDIR)/alerts/tests/*.yaml $(CURDIR)/alerts/tests/current/*.yaml

## e2e: real Prometheus, Alertmanager, exporter, bridge and Argo CD simulator on 127.0.0.1.
# The e2e test files carry the build tag `e2e`, so test-tools' `go test ./...` compiles the
# package without them (reported as "no test files"), and only this target runs them.
e2e: tools
	$(TOOLS) vet -tags e2e ./e2e/...
	$(TOOLS) test -tags e2e -count=1 -timeout 10m ./e2e/...

## real-bins: etcd, redis and git from Debian when missing; kube-apiserver and Argo CD built from
# Go modules into tools/.cache/bin (skipped when the cached binaries match the pins). Run before
# e2e-ha and e2e-real so that their test timeouts cover the tests, never a cold build.
real-bins:
	$(TOOLS) run ./cmd/realargocd-build

## e2e-ha: two exporters and two bridges against a real kube-apiserver (etcd from Debian, the
# API server built once from tools/kube-apiserver and cached): leader killed mid-streak, bridges
# behind a round robin with two clustered Alertmanagers (issue 14).
e2e-ha: tools real-bins
	$(TOOLS) vet -tags e2e_ha ./e2e/ha/...
	$(TOOLS) test -tags e2e_ha -count=1 -timeout 30m ./e2e/ha/...

## chaos: the chaos soak (docs/reliability.md), random seed, not part of `make test`: e2e-ha's chain (two
# exporters electing a leader on the real kube-apiserver, two bridges behind a round robin, two
# clustered Alertmanagers, Prometheus with the shipped rules, the fake Slack in bot mode) and the
# simulator with 1,000 apps and scripted churn, under a seeded fault schedule; invariants checked
# at the end. SOAK sets its length (default 10m); SEED=<printed seed> replays a schedule.
SOAK ?= 10m
chaos: tools real-bins
	$(TOOLS) vet -tags e2e_chaos ./e2e/ha/...
	SOAK=$(SOAK) $(TOOLS) test -tags e2e_chaos -run '^TestChaos$$' -count=1 -v -timeout 4h ./e2e/ha/...

## chaos-smoke: the chaos soak for 2 minutes (every fault kind once), part of `make test` after
# e2e-ha, with a fixed seed (SMOKE_SEED) so that CI replays the same schedule and churn every time;
# SEED=<seed> make chaos-smoke runs another. real-bins builds kube-apiserver before the test, whose
# own builds (our binaries, about a minute cold) fit in its timeout.
SMOKE_SEED ?= 8312004917331583366
chaos-smoke: tools real-bins
	$(TOOLS) vet -tags e2e_chaos ./e2e/ha/...
	SEED=$(or $(SEED),$(SMOKE_SEED)) SOAK=2m $(TOOLS) test -tags e2e_chaos -run '^TestChaos$$' -count=1 -v -timeout 30m ./e2e/ha/...

## e2e-real: the exporter and the alert chain against a real Argo CD on a real kube-apiserver.
# etcd, redis and git come from Debian; kube-apiserver and Argo CD are built from Go modules and
# cached in tools/.cache/bin (the first build takes long, see docs/testing.md). Also runs the
# simulator's conformance test, the deploy manifests' server-side dry run, and (e2ereal/chart,
# the API server alone) the Helm chart's dry run, install, upgrade and uninstall.
e2e-real: tools real-bins helm
	$(TOOLS) vet -tags e2ereal ./e2ereal/...
	$(TOOLS) test -tags e2ereal -count=1 -timeout 20m ./e2ereal/...

## image: the Dockerfile as shipped, built with podman (Debian's podman and runc, installed when
# missing) into podman's local storage as argocd-monitor:dev, on local stand-ins for the two base
# images (docs/image.md).
image:
	$(TOOLS) run ./cmd/image-build

## test-image: runs the image `make image` built: exporter against the simulator as uid 65532 on a
# read-only root, the bridge by command override, --version, OCI labels, size.
test-image: image
	$(TOOLS) vet -tags image ./imagetest/...
	$(TOOLS) test -tags image -count=1 -timeout 10m ./imagetest/...

## demo: the whole stack locally, with the story told in the terminal.
# Ctrl-C stops every process; logs, configs and data stay in .demo/ (docs/demo.md).
demo: tools
	$(TOOLS) run ./cmd/demo

## bench: the benchmarks named in the issues, with -benchmem.
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	$(TOOLS) test -run '^$$' -bench . -benchmem ./internal/dashboards

## bench-fleet: the alert chain's latency at fleet scale (issue 22), not part of `make test`
# (`make e2e` vets it): 1,000 simulated apps, 10% changing state per minute, through the real
# Prometheus, Alertmanager, exporter, bridge and fake Slack; p50/p95/max of the time from a change
# to its Slack message minus `for` and group_wait (docs/bridge.md#fleet-latency).
# FLEET_BENCH_DURATION (default 5m) and FLEET_BENCH_SEED (default 1) set the run.
bench-fleet: tools
	$(TOOLS) vet -tags e2e ./e2e/
	$(TOOLS) test -tags e2e -run '^$$' -bench '^BenchmarkFleetLatency$$' -benchtime 1x -count=1 -timeout 30m ./e2e/

## fuzz: every fuzz target of the product and tools modules, FUZZTIME each (default 10s).
FUZZTIME ?= 10s
fuzz:
	@set -e; \
	run() { for pkg in $$("$$@" list ./...); do \
	  for f in $$("$$@" test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; "$$@" test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done; }; \
	(cd exporter && run $(GO)); (cd bridge && run $(GO)); GOWORK=off run $(GO) -C tools

## generate: regenerate every generated file: rules, PrometheusRule, dashboards, rendered manifests (golden test files: go test -update).
generate:
	$(TOOLS) run ./cmd/generate -params alerts/params.yaml
	$(TOOLS) run ./cmd/deploy-render

clean:
	rm -rf $(BIN)
