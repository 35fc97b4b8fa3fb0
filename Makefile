# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/consultd
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run test build lint bench bench-go test-deps clean

run: build
	./scripts/with-dev-env.sh $(BIN) seed-demo
	./scripts/with-dev-env.sh $(BIN) serve

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/consultd

test: test-deps
	$(GO) vet ./...
	./scripts/with-dev-env.sh ./scripts/with-stripe-mock.sh $(GO) test -race -count=1 -timeout 15m ./...

# Installs what the test suite drives besides PostgreSQL (browsers, parsers).
test-deps:
	./scripts/test-deps.sh

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) run honnef.co/go/tools/cmd/staticcheck@latest ./...

# The side-by-side load run; writes bench/RESULTS.md. BENCH_DURATION=3s for a quick look.
bench: build
	./scripts/bench-deps.sh
	PATH="$$PATH:/usr/sbin" ./scripts/with-dev-env.sh $(GO) run ./cmd/bench

# Go micro-benchmarks (slots, inbox), as the suite's smoke runs of them.
bench-go: test-deps
	./scripts/with-dev-env.sh ./scripts/with-stripe-mock.sh $(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin .dev
