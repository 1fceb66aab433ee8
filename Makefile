# Afisha — one binary. `make run` and `make test` are the two commands.
CARGO ?= cargo
ARGS ?=

.PHONY: run test test-postgres lint fmt build release frontend frontend-check openapi e2e ui-audit bench demo clean fuzz crash-test hardening

## Build and start the server with working defaults (http://127.0.0.1:8080).
run:
	@echo "==> Building the release binary (a first build compiles ~440 crates: a few minutes on 2 cores; later runs take seconds)"
	$(CARGO) build --release
	@echo "==> Starting: target/release/afisha serve $(ARGS) (the first start prints the /setup link for the first administrator)"
	./target/release/afisha serve $(ARGS)

## Every test: unit and HTTP integration tests (browser tests: make e2e).
test:
	@command -v cargo-nextest >/dev/null 2>&1 || $(CARGO) install cargo-nextest --locked
	MOTO_SERVER="$$(scripts/install-test-deps.sh)" \
	LITESTREAM_BIN="$$(scripts/install-test-deps.sh litestream)" \
	$(CARGO) nextest run --no-fail-fast

## The same tests against a real PostgreSQL (a throwaway cluster from
## Debian's postgresql package: scripts/test-postgres.sh).
test-postgres:
	@command -v cargo-nextest >/dev/null 2>&1 || $(CARGO) install cargo-nextest --locked
	MOTO_SERVER="$$(scripts/install-test-deps.sh)" scripts/test-postgres.sh --no-fail-fast

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt

build:
	$(CARGO) build

release:
	$(CARGO) build --release

## Rebuild the embedded web UI from the lockfile.
frontend:
	cd frontend && npm ci && npm run build

## Fails when the committed frontend-dist/ or the typed client generated from
## frontend/openapi.json differs from a fresh build.
frontend-check: frontend
	git diff --exit-code --stat -- frontend-dist frontend/src/api-schema.d.ts

## Rewrite frontend/openapi.json (the web UI's typed client is generated from
## it) after a change of the API; tests/openapi_snapshot.rs fails while it is
## stale.
openapi: build
	./target/debug/afisha openapi > frontend/openapi.json

## Browser tests (Chromium via playwright-core) against the debug binary.
## The identity-provider journey runs tests/oidc's provider: install-test-deps
## puts its node_modules in place.
e2e: build
	scripts/install-test-deps.sh >/dev/null
	cd frontend && npm ci && AFISHA_BIN=$(CURDIR)/target/debug/afisha npm run e2e

## The web UI's accessibility and weight figures (axe-core on every page
## at 1280 and 360 px, gzipped first-load JS+CSS); prints, does not fail.
ui-audit: build
	cd frontend && npm ci && AFISHA_BIN=$(CURDIR)/target/debug/afisha npm run --silent audit

## Throughput/latency/memory against the release binary; writes BENCHMARKS.md.
## SQLite, then PostgreSQL with one and two instances when Debian's
## postgresql binaries are installed (BENCH_BACKENDS=sqlite picks one).
bench: release
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk)
	python3 scripts/bench.py

clean:
	$(CARGO) clean

## A throwaway data dir with sample users, events and covers, served on :8080.
demo:
	$(CARGO) run --release -- demo $(ARGS)

## Hardening: schema fuzzing (schemathesis) and kill -9 crash safety.
## Full local run: make hardening; CI runs a reduced one.
fuzz: build
	scripts/fuzz.sh

crash-test: build
	python3 scripts/crash_test.py

hardening: fuzz crash-test
