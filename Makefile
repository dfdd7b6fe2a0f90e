# coupontrail — the README's two commands are `make run` and `make test`.
SHELL := /bin/bash
BIN   := bin/coupontrail
GO    ?= go
PKGS  := ./...
ENV   := set -a && . .data/env && set +a

.PHONY: all build run test test-go vet fmt bench services clean demo-stop web web-test e2e

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./app

services:
	@scripts/services.sh

# Run the app with its dev store and demo data; prints the URL to open.
run: services build
	@$(ENV) && scripts/run.sh

# Vet and run every test against real PostgreSQL and Redis, then the admin
# UI's component tests and its end-to-end run in a real browser.
test: test-go web-test e2e

test-go: services
	@$(ENV) && $(GO) vet $(PKGS) && $(GO) test -race -count=1 -timeout 30m $(PKGS)

fmt:
	gofmt -l -w app webhooks jobs web migrations bench

vet:
	$(GO) vet $(PKGS)

# Benchmarks and load harnesses; prints a table and writes bench/results.json.
bench: services build
	@$(ENV) && scripts/bench.sh

# The admin UI: web/dist is committed and embedded by web/web.go, so a clone
# without node still builds. Run this after changing web/src and commit dist.
web:
	cd web && npm ci --no-audit --no-fund && npm run build

# Vitest component tests of the admin UI (jsdom).
web-test:
	cd web && npm ci --no-audit --no-fund && npm test

# The admin UI end to end in Debian's chromium against the real binary and
# the dev store (screenshots in web/e2e/screenshots/).
e2e: services
	@scripts/e2e.sh

clean:
	rm -rf bin
