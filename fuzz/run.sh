#!/usr/bin/env bash
# `make fuzz`: schemathesis against a fresh demo world, as the four roles.
#
# Starts `concerto serve` on a throwaway SQLite file and a free loopback port, logs in as the
# platform administrator, a center coordinator, a physician and a secretary, and runs every
# schemathesis check with every phase (examples, coverage, fuzzing, stateful through the
# document's links) against the committed openapi.yaml. The server is stopped on any exit.
#
# Usage: fuzz/run.sh BINARY   (environment: FUZZ_MAX_EXAMPLES, FUZZ_ROLES, FUZZ_SEED, FUZZ_SCHEMA, ST)
set -euo pipefail

BIN=${1:?usage: fuzz/run.sh path/to/concerto [extra st run options]}
shift
ST=${ST:-.venv/bin/st}
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-50}
ROLES=${FUZZ_ROLES:-admin coord dr.martin sec.durand}
SEED=${FUZZ_SEED:-20261126}
SCHEMA=${FUZZ_SCHEMA:-openapi.yaml}
PASSWORD=concerto-demo-2026

WORK=$(mktemp -d "${TMPDIR:-/tmp}/concerto-fuzz.XXXXXX")
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export DATABASE_URL="$WORK/fuzz.db"
export RUST_LOG=${RUST_LOG:-warn}
# The tokens are taken once, before the longest run.
export CONCERTO_TOKEN_TTL_SECONDS=86400
"$BIN" demo >/dev/null

# A free port: bind port 0 and keep what the kernel chose. Another process could take it before
# the server binds; the server then fails to start and the retry loop picks another.
start_server() {
    local port
    for _ in 1 2 3 4 5; do
        port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        CONCERTO_BIND="127.0.0.1:$port" "$BIN" serve >"$WORK/server.log" 2>&1 &
        SERVER_PID=$!
        for _ in $(seq 1 100); do
            if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
                BASE="http://127.0.0.1:$port"
                return 0
            fi
            if ! kill -0 "$SERVER_PID" 2>/dev/null; then
                break
            fi
            sleep 0.1
        done
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    done
    echo "fuzz: the server did not start:" >&2
    cat "$WORK/server.log" >&2
    return 1
}
start_server

token() {
    curl -fsS -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
        -d "{\"username\": \"$1\", \"password\": \"$PASSWORD\"}" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

# Every role logs in before any fuzzing: the fuzzer's failed logins may get this address
# throttled (429 `too_many_attempts`), which must not lock the next role out.
declare -A TOKENS
for role in $ROLES; do
    TOKENS[$role]=$(token "$role")
done

status=0
for role in $ROLES; do
    echo "== schemathesis as $role (max examples $MAX_EXAMPLES, seed $SEED)"
    if ! "$ST" --no-color --config-file fuzz/schemathesis.toml run "$SCHEMA" --url "$BASE" \
        --header "Authorization: Bearer ${TOKENS[$role]}" \
        --checks all \
        --phases examples,coverage,fuzzing,stateful \
        --max-examples "$MAX_EXAMPLES" \
        --seed "$SEED" \
        --workers 1 \
        --suppress-health-check all \
        --generation-database none "$@"; then
        status=1
    fi
done
if [ "$status" -ne 0 ]; then
    echo "fuzz: schemathesis found failures (server log: last lines below)" >&2
    tail -n 20 "$WORK/server.log" >&2
fi
exit "$status"
