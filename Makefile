# Trickle: lazy migration of legacy users into a new user store.
# `make help` lists the targets.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

BIN := $(CURDIR)/.bin
# Every Go module of the workspace, from go.work.
MODULES := $(shell go list -m -f '{{.Dir}}' 2>/dev/null)
GO_TEST_FLAGS ?= -race -count=1 -timeout 10m

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: tools
tools: $(BIN)/buf ## Install buf and the protoc plugins pinned in proto/tools/go.mod into .bin/.

$(BIN)/buf: proto/tools/go.mod proto/tools/go.sum
	cd proto/tools && GOWORK=off GOBIN=$(BIN) go install tool
	@touch $@

.PHONY: generate
generate: tools ## Regenerate Go code and OpenAPI from the protos (committed under proto/gen).
	rm -rf proto/gen/trickle proto/gen/openapiv2
	$(BIN)/buf generate

.PHONY: check-generate
check-generate: generate ## Fail when the committed generated code differs from a fresh generate.
	@if ! git diff --quiet -- proto/gen || [ -n "$$(git ls-files --others --exclude-standard proto/gen)" ]; then \
		git status --short proto/gen; \
		echo "generated code is stale: run 'make generate' and commit proto/gen"; exit 1; fi

.PHONY: fmt
fmt: ## Format all Go code.
	gofmt -w $(MODULES)

.PHONY: check-fmt
check-fmt: ## Fail when gofmt would change a file.
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: vet
vet: ## go vet every module.
	go vet $(addsuffix /...,$(MODULES))

.PHONY: lint
lint: tools check-fmt vet ## buf lint, buf breaking against main, gofmt and go vet.
	$(BIN)/buf lint
	@if git rev-parse --verify -q main:buf.yaml >/dev/null; then \
		echo "buf breaking against main"; $(BIN)/buf breaking --against '.git#branch=main'; \
	else echo "main has no protos yet: buf breaking skipped"; fi

.PHONY: certs
certs: ## Write development mTLS certificates (CA, connector server, auth client) to .data/certs.
	go run ./deploy/cmd/devcerts -out .data/certs

RUN_ARGS ?=
.PHONY: run
run: ## Local demo with only Go: auth service, embedded FerretDB, demo connector over SQLite (RUN_ARGS=-reset to start afresh).
	go build -o $(BIN)/trickle-local ./services/auth/cmd/trickle-local
	$(BIN)/trickle-local --data $(CURDIR)/.data $(RUN_ARGS)

.PHONY: services
services: ## Install (if missing) and start PostgreSQL, MariaDB, Redis on loopback; install nginx for the webauth tests.
	deploy/testenv/services.sh
	deploy/testenv/nginx.sh >/dev/null

.PHONY: bench-tools
bench-tools: $(BIN)/ghz ## Install the load tools pinned in bench/tools/go.mod (ghz, hey) into .bin/.

$(BIN)/ghz: bench/tools/go.mod bench/tools/go.sum
	cd bench/tools && GOWORK=off GOBIN=$(BIN) go install tool
	@touch $@

.PHONY: bench
bench: bench-tools services ## Benchmarks (~5 min): hash floor, logins over gRPC/REST, migrations, storm, peak RSS; writes bench/results/.
	go run ./bench/cmd/trickle-bench -ghz $(BIN)/ghz -hey $(BIN)/hey $(BENCH_ARGS)

.PHONY: test
test: check-fmt vet check-generate services ## Everything CI runs: format, vet, generated code, all tests with -race.
	go test $(GO_TEST_FLAGS) $(addsuffix /...,$(MODULES))

.PHONY: test-short
test-short: ## Unit and integration tests only, without -race.
	go test -count=1 $(addsuffix /...,$(MODULES))

FUZZTIME ?= 30s
.PHONY: fuzz
fuzz: ## Run every fuzz target (func Fuzz* in any module) for FUZZTIME each (default 30s), one after another.
	@files=$$(for mod in $(MODULES); do grep -rl --include='*_test.go' '^func Fuzz' "$$mod" || true; done | sort -u); \
	for file in $$files; do \
		dir=$$(dirname "$$file"); \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$file"); do \
			echo "== $${dir#$(CURDIR)/} $$target ($(FUZZTIME))"; \
			(cd "$$dir" && go test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) .) || exit 1; \
		done; \
	done
