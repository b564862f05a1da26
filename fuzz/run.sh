#!/usr/bin/env bash
# `make fuzz`: schemathesis against a fresh demo world, as the four roles.
#
# Each role gets a world of its own: the demo is loaded into a throwaway SQLite file, served on a
# free loopback port, the role logs in, and every schemathesis check runs with every phase
# (examples, coverage, fuzzing, stateful through the document's links) against the committed
# openapi.yaml; the server is stopped before the next role (and on any exit). What one role's
# run changes (an account disabled, a profile removed) cannot blind the next one.
#
# A role that goes blind fails the run: its token must still work after its run (`GET /me`
# answers 200), and no operation may have answered only 401 to it (fuzz/coverage.py). Each role
# prints how many operations answered 2xx at least once.
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

PYTHON=$(dirname "$ST")/python3
[ -x "$PYTHON" ] || PYTHON=python3

WORK=$(mktemp -d "${TMPDIR:-/tmp}/concerto-fuzz.XXXXXX")
SERVER_PID=
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}
cleanup() {
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export RUST_LOG=${RUST_LOG:-warn}
# The token is taken before the role's run, which can be long.
export CONCERTO_TOKEN_TTL_SECONDS=86400

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
        stop_server
    done
    echo "fuzz: the server did not start:" >&2
    cat "$WORK/server.log" >&2
    return 1
}
token() {
    curl -fsS -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
        -d "{\"username\": \"$1\", \"password\": \"$PASSWORD\"}" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

status=0
summary=()
for role in $ROLES; do
    # A fresh world for this role: its own store, server and token.
    export DATABASE_URL="$WORK/$role/fuzz.db"
    mkdir -p "$WORK/$role"
    "$BIN" demo >/dev/null
    start_server
    TOKEN=$(token "$role")
    echo "== schemathesis as $role (max examples $MAX_EXAMPLES, seed $SEED)"
    if ! "$ST" --no-color --config-file fuzz/schemathesis.toml run "$SCHEMA" --url "$BASE" \
        --header "Authorization: Bearer $TOKEN" \
        --checks all \
        --phases examples,coverage,fuzzing,stateful \
        --max-examples "$MAX_EXAMPLES" \
        --seed "$SEED" \
        --workers 1 \
        --suppress-health-check all \
        --generation-database none \
        --report ndjson --report-ndjson-path "$WORK/$role/events.ndjson" "$@"; then
        status=1
        echo "fuzz: schemathesis found failures as $role (server log: last lines below)" >&2
        tail -n 20 "$WORK/server.log" >&2
    fi
    me=$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/api/v1/me" -H "Authorization: Bearer $TOKEN" || true)
    if [ "$me" != 200 ]; then
        status=1
        echo "fuzz: $role's token stopped working during the run (GET /me answers $me): the run went blind" >&2
    fi
    if [ -f "$WORK/$role/events.ndjson" ]; then
        if ! line=$("$PYTHON" fuzz/coverage.py "$role" "$WORK/$role/events.ndjson"); then
            status=1
        fi
        summary+=("$line")
    fi
    stop_server
done
echo "== operations that answered 2xx at least once, per role"
printf '%s\n' "${summary[@]}"
exit "$status"
