# Concerto: `make run` to see it, `make test` to check everything.
SHELL := /bin/bash
CARGO ?= cargo
DEMO_DB ?= concerto-demo.db
# nextest runs test binaries in parallel processes; plain cargo test works too.
TEST_RUNNER := $(shell $(CARGO) nextest --version >/dev/null 2>&1 && echo "nextest run" || echo test)

.PHONY: run demo serve test fmt-check clippy test-sqlite test-postgres openapi proptest bench clean-demo

## Build, load the demo world into a fresh SQLite database, print its accounts, and serve.
run: clean-demo
	$(CARGO) build --bin concerto
	DATABASE_URL=$(DEMO_DB) ./target/debug/concerto demo
	DATABASE_URL=$(DEMO_DB) ./target/debug/concerto serve

clean-demo:
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm $(DEMO_DB).jwt-secret

## Serve the default database (concerto.db) without seeding anything.
serve:
	$(CARGO) run --bin concerto -- serve

## Every check: formatting, lints, then the whole suite on SQLite, and on PostgreSQL when
## TEST_POSTGRES_URL is set. The OpenAPI drift check is a test of the suite.
test: fmt-check clippy test-sqlite test-postgres

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-sqlite:
	env -u TEST_POSTGRES_URL $(CARGO) $(TEST_RUNNER) --workspace

test-postgres:
	@if [ -n "$$TEST_POSTGRES_URL" ]; then \
		echo "== HTTP suite on PostgreSQL ($$TEST_POSTGRES_URL)"; \
		$(CARGO) $(TEST_RUNNER) -p concerto-api --test http; \
	else \
		echo "== TEST_POSTGRES_URL not set: PostgreSQL suite skipped (.ci/run sets it)"; \
	fi

## The model-based property test of the delegation rules, with many more worlds than `make test`
## (PROPTEST_CASES=<n> to choose; both stores when TEST_POSTGRES_URL is set).
PROPTEST_CASES ?= 3000
proptest:
	env -u TEST_POSTGRES_URL PROPTEST_CASES=$(PROPTEST_CASES) $(CARGO) $(TEST_RUNNER) -p concerto-api --test http model
	@if [ -n "$$TEST_POSTGRES_URL" ]; then PROPTEST_CASES=$(PROPTEST_CASES) $(CARGO) $(TEST_RUNNER) -p concerto-api --test http model; fi

## The lists over HTTP on a generated region (never part of `make test`): release build, region
## generated once and cached in target/bench (keyed by size and seed), server started, wrk
## installed if missing, each scenario at 16 and 64 connections. BENCH_DOSSIERS=1000000,
## BENCH_SEED, BENCH_STORES="sqlite postgres", BENCH_SECONDS, BENCH_CONNECTIONS; results in
## target/bench/results-<n>.md (copied by hand into bench/RESULTS.md).
bench:
	bash bench/run.sh

## Regenerate the committed OpenAPI document from the code.
openapi:
	$(CARGO) run -q --bin concerto -- openapi > openapi.yaml
