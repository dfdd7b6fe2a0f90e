# coupontrail — the README's two commands are `make run` and `make test`.
SHELL := /bin/bash
BIN   := bin/coupontrail
GO    ?= go
PKGS  := ./...
ENV   := set -a && . .data/env && set +a

.PHONY: all build run test test-go vet fmt bench services clean demo-stop

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./app

services:
	@scripts/services.sh

# Run the app with its dev store and demo data; prints the URL to open.
run: services build
	@$(ENV) && scripts/run.sh

# Vet and run every test against real PostgreSQL and Redis.
test: services
	@$(ENV) && $(GO) vet $(PKGS) && $(GO) test -race -count=1 $(PKGS)

fmt:
	gofmt -l -w app webhooks jobs web migrations bench

vet:
	$(GO) vet $(PKGS)

# Benchmarks and load harnesses; prints a table and writes bench/results.json.
bench: services build
	@$(ENV) && scripts/bench.sh

clean:
	rm -rf bin
