#!/usr/bin/env bash
# make bench: the permission-filtered lists over HTTP on a generated region.
# BENCH_DOSSIERS (10000), BENCH_SEED (1), BENCH_STORES ("sqlite postgres"), BENCH_SECONDS (10),
# BENCH_CONNECTIONS ("16 64"), BENCH_POSTGRES_ADMIN (the local server's Unix socket when it has
# one, postgres://postgres@%2Fvar%2Frun%2Fpostgresql/postgres, else postgres://postgres@127.0.0.1:5432/postgres),
# BENCH_PG_PREFIX (concerto_bench: the generated databases' names), BENCH_PG_LOG (the PostgreSQL
# server's log file: found by itself when the server logs to a file it can read), BENCH_ONLY (a
# bash regex: only the scenarios whose name matches, e.g. BENCH_ONLY='terminology|PATCH'; `rowcost`
# names the cost per row shown, bench/rowcost.py, which `make bench-rowcost` runs alone).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_DOSSIERS:-10000}
SEED=${BENCH_SEED:-1}
STORES=${BENCH_STORES:-sqlite postgres}
SECONDS_EACH=${BENCH_SECONDS:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-16 64}
# PostgreSQL on this host is reached as an operator who runs both on one host would: through its
# Unix socket, the server and pgbench alike. Over 127.0.0.1 libpq negotiates TLS by default
# (`sslmode=prefer`), and TCP and TLS cost both processes CPU on every round trip: at 1M the tab
# answered 727-771 requests/s over TLS against 767-984 over the socket (ninth round).
if [ -S /var/run/postgresql/.s.PGSQL.5432 ]; then
  PG_ADMIN=${BENCH_POSTGRES_ADMIN:-postgres://postgres@%2Fvar%2Frun%2Fpostgresql/postgres}
else
  PG_ADMIN=${BENCH_POSTGRES_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
fi
PORT=${BENCH_PORT:-18080}
PG_PREFIX=${BENCH_PG_PREFIX:-concerto_bench}
CACHE=target/bench
# Bump when `concerto generate` changes what it writes: cached regions are keyed by it.
GENERATOR=8
OUT=${BENCH_OUT:-$CACHE/results-$N.md}
# BENCH_BIN: another build of the server to measure (e.g. an older commit) on the same region.
BIN=${BENCH_BIN:-target/release/concerto}
mkdir -p "$CACHE"

command -v wrk >/dev/null || { echo "== installing wrk"; apt-get install -y wrk >/dev/null; }
# The generator (`concerto generate`) is in the builds with the `region` feature only.
if [ -z "${BENCH_BIN:-}" ]; then cargo build --release --bin concerto --features region; fi

base="http://127.0.0.1:$PORT/api/v1"
# A scenario's path under the JSON API, or a full URL (the FHIR base).
fhir_base="http://127.0.0.1:$PORT/fhir/R4"
json() { python3 -c "import json,sys; d=json.load(open('$1')); print($2)"; }

{
  echo "## $N dossiers, seed $SEED — $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)${BENCH_BIN:+, server $BENCH_BIN}"
  echo
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GB; server, store and wrk on the same machine; ${SECONDS_EACH}s per scenario; PostgreSQL at \`${PG_ADMIN%/*}\`."
  echo
} >"$OUT"

for store in $STORES; do
  if [ "$store" = sqlite ]; then
    url="$CACHE/region-$N-$SEED-v$GENERATOR.db"
    accounts="$CACHE/region-$store-$N-$SEED-v$GENERATOR.json"
  else
    name="${PG_PREFIX}_${N}_${SEED}_v$GENERATOR"
    url="${PG_ADMIN%/*}/$name"
    accounts="$CACHE/region-$name.json"
  fi
  if [ ! -s "$accounts" ]; then
    echo "== generating $N dossiers on $store"
    if [ "$store" = sqlite ]; then rm -f "$url" "$url"-wal "$url"-shm "$url".read-trail*; else
      psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $name" && psql "$PG_ADMIN" -qc "CREATE DATABASE $name"; fi
    start=$(date +%s.%N)
    DATABASE_URL="$url" CONCERTO_JWT_SECRET=bench-secret-bench-secret-bench-secret "$BIN" generate --dossiers "$N" --seed "$SEED" --accounts-out "$accounts.tmp"
    mv "$accounts.tmp" "$accounts"
    echo "generated in $(echo "$(date +%s.%N) - $start" | bc) s" >"$accounts.time"
    # A platform administrator for the activity report (the region's year).
    echo "$(json "$accounts" "d['password']")" | DATABASE_URL="$url" CONCERTO_JWT_SECRET=bench-secret-bench-secret-bench-secret "$BIN" create-admin --username benchadmin >/dev/null
    [ "$store" = postgres ] && psql "$url" -qc "VACUUM ANALYZE" || true
  fi
  # The shipped code lists and a national-size CIM-10 list for the pickers (bench/codes.py: 60,000
  # codes); loaded again unchanged, a list writes nothing.
  [ -s "$CACHE/codes-60000.csv" ] || python3 bench/codes.py 60000 >"$CACHE/codes-60000.csv"
  DATABASE_URL="$url" "$BIN" terminology load --list-version bench-60000 terminology/*.csv "$CACHE/codes-60000.csv" | tail -2
  # Login throttling at its ceiling: the login scenario is one user logging in again and again.
  start_server() {
    DATABASE_URL="$url" CONCERTO_JWT_SECRET=bench-secret-bench-secret-bench-secret CONCERTO_BIND="127.0.0.1:$PORT" RUST_LOG=warn \
      CONCERTO_LOGIN_MAX_PER_ACCOUNT=1000 CONCERTO_LOGIN_MAX_PER_ADDRESS=100000 \
      CONCERTO_TOKEN_TTL_SECONDS=86400 CONCERTO_SESSION_IDLE_SECONDS=86400 CONCERTO_SESSION_MAX_SECONDS=604800 "$BIN" serve &
    server=$!
    for _ in $(seq 900); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
  }
  # PostgreSQL: pgbench runs each read's own statements, as the server sends them for one request
  # of that read, captured from the server's log (`log_statement = 'all'` on this database only,
  # for a server started just for the capture; see bench/pg_statements.py).
  pglog=""
  if [ "$store" = postgres ] && command -v pgbench >/dev/null; then
    pglog=${BENCH_PG_LOG:-$(psql "$PG_ADMIN" -Atc "SELECT current_setting('data_directory') || '/' || pg_current_logfile()" 2>/dev/null || true)}
    [ -r "$pglog" ] || pglog=$(ls -t /var/log/postgresql/postgresql-*.log 2>/dev/null | head -1)
    [ -r "$pglog" ] || { echo "== no readable PostgreSQL log (BENCH_PG_LOG): no pgbench"; pglog=""; }
  fi
  scripts="$CACHE/pgbench-$store-$N"
  rm -rf "$scripts"
  if [ -n "$pglog" ]; then psql "$PG_ADMIN" -qc "ALTER DATABASE $name SET log_statement = 'all'"; fi
  trap 'kill $server 2>/dev/null || true; [ -n "$pglog" ] && psql "$PG_ADMIN" -qc "ALTER DATABASE $name RESET log_statement"' EXIT
  start_server
  password=$(json "$accounts" "d['password']")
  login() { curl -sf -X POST "$base/auth/login" -H 'Content-Type: application/json' -d "{\"username\":\"$1\",\"password\":\"$password\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'; }
  sec=$(login sec0); chair=$(login "$(json "$accounts" "d['accounts'][2]['username']")")
  # The heavy secretary (issue 30): 5 physicians, one the animateur of a weekly board.
  heavy=$(login "$(json "$accounts" "d['heavy']['secretary']")"); heavy_session=$(json "$accounts" "d['heavy']['current_session_id']")
  session=$(json "$accounts" "d['current_session_id']"); dossier=$(json "$accounts" "d['dossier_id']")
  # A validated dossier of the animateur's RCP (its generated fiche is complete), for the CDA
  # (the generator writes no `reports` row, so its JSON report answers 404: not measured).
  rcp=$(curl -sf "$base/dossiers/$dossier" -H "Authorization: Bearer $chair" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rcp_id"])')
  validated=$(curl -sf "$base/dossiers?rcp_id=$rcp&status=validated&limit=1" -H "Authorization: Bearer $chair" | python3 -c 'import json,sys; i=json.load(sys.stdin)["items"]; print(i[0]["id"] if i else "")')
  # A deep page of the tab: follow the cursor 20 pages of 50.
  cursor=""
  for _ in $(seq 20); do
    next=$(curl -sf "$base/me/dossiers?tab=rcp_passages&limit=50${cursor:+&cursor=$cursor}" -H "Authorization: Bearer $sec" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("next_cursor") or "")')
    [ -z "$next" ] && break; cursor=$next
  done
  if [ -n "$pglog" ]; then
    offset=$(stat -c %s "$pglog")
    mark() { psql "$url" -qAtc "SELECT 'concerto-bench-capture:$1'" >/dev/null; }
    capture() { mark "$1"; curl -sf -o /dev/null "$base$3" -H "Authorization: Bearer $2"; }
    capture me "$sec" "/me"
    capture agenda "$sec" "/agenda"
    capture rcp_passages "$sec" "/me/dossiers?tab=rcp_passages&limit=50"
    [ -n "$cursor" ] && capture rcp_passages_deep "$sec" "/me/dossiers?tab=rcp_passages&limit=50&cursor=$cursor"
    capture dossier "$chair" "/dossiers/$dossier"
    capture run "$chair" "/sessions/$session/run"
    capture agenda_heavy "$heavy" "/agenda"
    capture rcp_passages_heavy "$heavy" "/me/dossiers?tab=rcp_passages&limit=50"
    capture run_heavy "$heavy" "/sessions/$heavy_session/run"
    capture reports_to_send "$sec" "/me/reports-to-send"
    capture search "$sec" "/dossiers?patient=patient1"
    capture search_physician "$chair" "/dossiers?patient=patient1"
    mark end
    pids=$(psql "$url" -Atc "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = ''")
    python3 bench/pg_statements.py "$pglog" "$offset" "$pids" "$scripts"
    kill $server; wait $server 2>/dev/null || true
    psql "$PG_ADMIN" -qc "ALTER DATABASE $name RESET log_statement"
    start_server
  fi
  wal_before=$(stat -c %s "$url-wal" 2>/dev/null || echo 0)
  trail_before=$(stat -c %s "$url.read-trail-wal" 2>/dev/null || echo 0)
  {
    echo "### $store ($(cat "$accounts.time" 2>/dev/null || true))"
    echo
    if [ -d "$scripts" ]; then
      echo "| scenario | connections | requests/s | p50 ms | p99 ms | errors | server CPU µs/req | store CPU µs/req | pgbench tps (its statements) | HTTP / pgbench |"
      echo "|---|---|---|---|---|---|---|---|---|---|"
    else
      echo "| scenario | connections | requests/s | p50 ms | p99 ms | errors | server CPU µs/req | store CPU µs/req |"
      echo "|---|---|---|---|---|---|---|---|"
    fi
  } >>"$OUT"
  scripts_exist=""; [ -d "$scripts" ] && scripts_exist=1
  # CPU seconds of the server and of the store's backends (PostgreSQL), from /proc.
  store_url=""; [ "$store" = postgres ] && store_url=$url
  cpu() { python3 bench/rowcost.py cpu --server-pid "$server" ${store_url:+--pg-url "$store_url"}; }
  wanted() { [ -z "${BENCH_ONLY:-}" ] || [[ "$1" =~ $BENCH_ONLY ]]; }
  scenario() { # name token path [method body]; $script: the pgbench script of this read
    local name=$1 token=$2 path=$3 method=${4:-} body=${5:-} tps ratio
    wanted "$name" || return 0
    for c in ${conns:-$CONNECTIONS}; do
      # Not `url`: pgbench below connects to the store's `$url`.
      local target=$base$path
      [[ $path == http* ]] && target=$path
      local before after
      before=$(cpu)
      r=$(BENCH_TOKEN=$token BENCH_METHOD=$method BENCH_BODY=$body BENCH_ACCEPT=${accept:-} wrk -t"$(( c < 2 ? 1 : 2 ))" -c"$c" -d"${SECONDS_EACH}s" --latency -s bench/report.lua "$target" | tail -1)
      after=$(cpu)
      # CPU per request: the server's, and PostgreSQL's backends' (SQLite's is the server's).
      row=$(echo "$r" | python3 -c "import json,sys; d=json.load(sys.stdin); b='$before'.split(); a='$after'.split(); n=max(d['requests'], 1); s=(float(a[0])-float(b[0]))/n*1e6; t=(float(a[1])-float(b[1]))/n*1e6; st=f'{t:.0f}' if '$store' == 'postgres' else '–'; print(f'| $name | $c | {d[\"rps\"]:.0f} | {d[\"p50_ms\"]:.1f} | {d[\"p99_ms\"]:.1f} | {d[\"errors\"]} | {s:.0f} | {st} |')")
      if [ -n "${script:-}" ] && [ -s "$scripts/$script.sql" ]; then
        # The same connections and duration against the database alone: the store's ceiling for
        # exactly these statements (literal values, kept prepared as the server keeps them).
        if tps=$(pgbench -n -M prepared -c "$c" -j 2 -T "$SECONDS_EACH" -f "$scripts/$script.sql" "$url" 2>"$scripts/$script.err" | grep -oP '^tps = \K[0-9.]+'); then
          ratio=$(echo "$r" | python3 -c "import json,sys; print(f'{json.load(sys.stdin)[\"rps\"] / $tps:.0%}')")
          row="$row $(printf '%.0f' "$tps") | $ratio |"
        else
          row="$row pgbench failed (\`$scripts/$script.err\`) | |"
        fi
      elif [ -d "$scripts" ]; then
        row="$row | |"
      fi
      echo "$row" >>"$OUT"
      tail -1 "$OUT"
    done
  }
  script=me scenario "/me (secretary)" "$sec" "/me"
  script=agenda scenario "agenda (secretary of 5)" "$sec" "/agenda"
  script=rcp_passages scenario "rcp_passages first page" "$sec" "/me/dossiers?tab=rcp_passages&limit=50"
  if [ -n "$cursor" ]; then
    script=rcp_passages_deep scenario "rcp_passages deep page" "$sec" "/me/dossiers?tab=rcp_passages&limit=50&cursor=$cursor"
  else
    echo "| rcp_passages deep page | - | (her tab holds one page at this size) | | | | | |${scripts_exist:+ | |}" >>"$OUT"
  fi
  script=dossier scenario "GET /dossiers/ID (animateur)" "$chair" "/dossiers/$dossier"
  script=run scenario "session run (animateur)" "$chair" "/sessions/$session/run"
  # The heavy secretary's day: an agenda of about 35 sessions and 110 dossiers, her tab, and the
  # run of her animateur's board.
  script=agenda_heavy scenario "agenda (heavy secretary)" "$heavy" "/agenda"
  script=rcp_passages_heavy scenario "tab rcp_passages first page (heavy secretary)" "$heavy" "/me/dossiers?tab=rcp_passages&limit=50"
  script=run_heavy scenario "session run (heavy secretary, her animateur board)" "$heavy" "/sessions/$heavy_session/run"
  # Cost per row shown: one connection, pages of about 10, 50 and 115 dossiers (bench/rowcost.py).
  if wanted rowcost; then
    {
      echo
      echo "#### Cost per row shown ($store, heavy secretary, one connection)"
      echo
      python3 bench/rowcost.py measure --base "$base" --server-pid "$server" --accounts "$accounts" ${store_url:+--pg-url "$store_url"}
      echo
    } >>"$OUT"
  fi
  # The secretary's day and the board's report.
  script=reports_to_send scenario "reports to send (secretary of 5)" "$sec" "/me/reports-to-send"
  script=search scenario "dossier search (secretary, name prefix)" "$sec" "/dossiers?patient=patient1"
  # A physician who sees his RCP whole and treats many patients. The registrations below add
  # their dossiers to his RCP in the cached region, run after run, requested by another member:
  # requested by him, as before the eighth round, they grew the own-requests walk of this read
  # with every bench a cached region had seen (regenerate such a region to compare).
  script=search_physician scenario "dossier search (animateur, name prefix)" "$chair" "/dossiers?patient=patient1"
  # The FRCP CDA document of a validated dossier (read, audited, rendered), at one connection:
  # the issue's target is the rendering of a full fiche under 5 ms p99.
  if [ -n "$validated" ]; then
    accept=application/hl7-cda+xml conns=1 scenario "report as FRCP CDA (animateur)" "$chair" "/dossiers/$validated/report"
  fi
  # FHIR (issue 28): a patient's reports and a Provenance read, beside their JSON equivalents:
  # the secretary's validated dossiers of one patient (`GET /dossiers?patient=<INS or prefix>&status=validated`
  # is the JSON search of a patient's reports; the read of the dossier the JSON side of a
  # Provenance read, which checks the same visibility and reads its audit events).
  found=$(curl -sf "$base/dossiers?patient=patient1&status=validated&limit=1" -H "Authorization: Bearer $sec")
  fhir_patient=$(echo "$found" | python3 -c 'import json,sys; i=json.load(sys.stdin)["items"]; print(i[0]["patient_id"] if i else "")')
  fhir_dossier=$(echo "$found" | python3 -c 'import json,sys; i=json.load(sys.stdin)["items"]; print(i[0]["id"] if i else "")')
  if [ -n "$fhir_patient" ]; then
    scenario "reports of a patient, JSON (secretary, validated dossiers by patient)" "$sec" "/dossiers?patient=patient1&status=validated"
    scenario "reports of a patient, FHIR DocumentReference?patient (secretary)" "$sec" "$fhir_base/DocumentReference?patient=$fhir_patient"
    scenario "GET /dossiers/ID (secretary)" "$sec" "/dossiers/$fhir_dossier"
    scenario "FHIR Provenance?target=DocumentReference/ID (secretary)" "$sec" "$fhir_base/Provenance?target=DocumentReference/$fhir_dossier"
  else
    echo "| FHIR scenarios | - | (the secretary finds no validated dossier of patient1*) | | | | | |${scripts_exist:+ | |}" >>"$OUT"
  fi
  admin=$(login benchadmin)
  # The activity report's first calls after a restart (issue 30: read from counters, the first
  # call must be as quick as the others): a fresh server, one curl per breakdown.
  if wanted "activity report"; then
    kill $server 2>/dev/null || true; wait $server 2>/dev/null || true
    start_server
    admin=$(login benchadmin)
    firsts=""
    for by in rcp month requester specialty tumour_site proposal_type; do
      firsts="$firsts $by $(curl -s -o /dev/null -w '%{time_total}' "$base/reports/activity?by=$by" -H "Authorization: Bearer $admin")s"
    done
    echo "| activity report, first call of each breakdown after a restart:$firsts | 1 | | | | |${scripts_exist:+ | |}" >>"$OUT"
    tail -1 "$OUT"
  fi
  # A coordinator's yearly report, not a list twenty people open at once: its latency is what
  # counts, measured at wrk's minimum of 2 connections, every breakdown; then over 20 years
  # (whole months: the period's first day and the first day after it).
  this_month=$(date -u +%Y-%m-01)
  twenty_years="from=$(date -u -d "$this_month - 239 months" +%Y-%m-01)&to=$(date -u -d "$this_month + 1 month" +%Y-%m-01)"
  for by in rcp month requester specialty tumour_site proposal_type; do
    conns=2 scenario "activity report (region, a year, by $by)" "$admin" "/reports/activity?by=$by"
  done
  for by in rcp month requester specialty tumour_site proposal_type; do
    conns=2 scenario "activity report (region, 20 years, by $by)" "$admin" "/reports/activity?by=$by&$twenty_years"
  done
  # Peak RSS of the reads, before the logins (argon2 takes 19 MiB per hash in flight).
  rss=$(awk '/VmHWM/{print $2/1024 " MB"}' /proc/$server/status)
  # Registrations: a new session of the animateur's RCP for each store and connection count, so
  # that a cached region never refuses a patient as already registered.
  if [ "$store" = sqlite ]; then
    python3 -c "import sqlite3; print('\\n'.join(r[0] for r in sqlite3.connect('$url').execute('SELECT id FROM patients LIMIT 20000')))" >"$CACHE/patients.txt"
  else
    psql "$url" -tAc "SELECT id FROM patients LIMIT 20000" >"$CACHE/patients.txt"
  fi
  rcp=$(json "$accounts" "d['rcp_id']"); chair_id=$(curl -sf "$base/me" -H "Authorization: Bearer $chair" | python3 -c 'import json,sys; print(json.load(sys.stdin)["professional"]["id"])')
  # The requester of the registrations: another member of his RCP, whom no read above is about.
  member_sql="SELECT professional_id FROM rcp_members WHERE rcp_id = '$rcp' AND professional_id <> '$chair_id' ORDER BY professional_id LIMIT 1"
  if [ "$store" = sqlite ]; then
    requester=$(python3 -c "import sqlite3; print(sqlite3.connect('$url').execute(\"$member_sql\").fetchone()[0])")
  else
    requester=$(psql "$url" -tAc "$member_sql")
  fi
  for c in $CONNECTIONS; do
    wanted "registration" || break
    # Four fresh sessions: a small region's patients, each registered once per session.
    fresh=""
    for _ in 1 2 3 4; do
      when=$(date -u -d "+$((RANDOM % 300 + 30)) days" '+%Y-%m-%dT%H:%M:%S.%NZ')
      fresh="$fresh $(curl -sf -X POST "$base/rcps/$rcp/sessions" -H "Authorization: Bearer $chair" -H 'Content-Type: application/json' -d "{\"starts_at\":\"$when\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
    done
    r=$(BENCH_TOKEN=$chair BENCH_PATIENTS="$CACHE/patients.txt" BENCH_SESSIONS="$fresh" BENCH_REQUESTER=$requester BENCH_THREADS=2 wrk -t2 -c"$c" -d"${SECONDS_EACH}s" --latency -s bench/register.lua "$base/sessions/${fresh##* }/dossiers" | tail -1)
    echo "$r" | python3 -c "import json,sys; d=json.load(sys.stdin); print(f'| registration (animateur) | $c | {d[\"rps\"]:.0f} | {d[\"p50_ms\"]:.1f} | {d[\"p99_ms\"]:.1f} | {d[\"errors\"]} | | |')" >>"$OUT"
    [ -d "$scripts" ] && sed -i '$ s/$/ | |/' "$OUT"
    tail -1 "$OUT"
  done
  # The fiche RCP: a plain PATCH (the free text) against a full fiche's (every part, codes checked
  # against the lists), by the requester of the dossiers registered above (a dossier's medical
  # content is its requester's), each request with its dossier's current ETag (bench/patch.lua);
  # then the read of a dossier holding a full fiche.
  fiche_sql="SELECT d.id || ':' || d.version FROM dossiers d JOIN rcp_sessions s ON s.id = d.session_id WHERE d.requester_id = '$requester' AND s.status = 'planned' AND d.status = 'registered' ORDER BY d.id LIMIT 64"
  user_sql="SELECT username FROM accounts WHERE professional_id = '$requester'"
  sql() { # one column of a query's rows, space-separated
    if [ "$store" = sqlite ]; then python3 -c "import sqlite3; print(' '.join(str(r[0]) for r in sqlite3.connect('$url').execute(\"$1\")))"
    else psql "$url" -tAc "$1" | xargs; fi
  }
  requester_user=$(sql "$user_sql")
  author=$(login "$requester_user")
  plain='{"clinical_summary":"Adénocarcinome du côlon sigmoïde, bilan d extension négatif."}'
  full=$(python3 -c "import json; print(json.dumps({'fiche': json.load(open('bench/fiche.json'))}))")
  targets=""
  for kind in plain full; do
    wanted "PATCH /dossiers/ID, $kind" || continue
    body=$plain; [ $kind = full ] && body=$full
    targets=$(sql "$fiche_sql") # each dossier's version now
    r=$(BENCH_TOKEN=$author BENCH_BODY=$body BENCH_DOSSIERS="$targets" BENCH_THREADS=2 wrk -t2 -c16 -d"${SECONDS_EACH}s" --latency -s bench/patch.lua "$base/dossiers" | tail -1)
    echo "$r" | python3 -c "import json,sys; d=json.load(sys.stdin); print(f'| PATCH /dossiers/ID, $kind (requester) | 16 | {d[\"rps\"]:.0f} | {d[\"p50_ms\"]:.1f} | {d[\"p99_ms\"]:.1f} | {d[\"errors\"]} | | |')" >>"$OUT"
    [ -d "$scripts" ] && sed -i '$ s/$/ | |/' "$OUT"
    tail -1 "$OUT"
  done
  patched=${targets%%:*}
  [ -n "$patched" ] && conns=16 scenario "GET /dossiers/ID, full fiche (requester)" "$author" "/dossiers/$patched"
  # The pickers on 60,000 codes: a code prefix, a rare word, a common word, three common words.
  for q in k2 prostate tumeur "tumeur+maligne+sans"; do
    conns=16 scenario "terminology search q=$q (60,000 codes)" "$sec" "/terminology/cim10?q=$q&limit=20"
  done
  scenario "login" "" "/auth/login" POST "{\"username\":\"sec0\",\"password\":\"$password\"}"
  rss_all=$(awk '/VmHWM/{print $2/1024 " MB"}' /proc/$server/status)
  wal_after=$(stat -c %s "$url-wal" 2>/dev/null || echo 0)
  trail_after=$(stat -c %s "$url.read-trail-wal" 2>/dev/null || echo 0)
  kill $server; wait $server 2>/dev/null || true
  {
    echo
    echo "Server peak RSS: $rss after the reads, $rss_all after registrations and logins."
    [ "$store" = sqlite ] && echo "SQLite WAL: $((wal_before / 1024)) KiB before the scenarios, $((wal_after / 1024)) KiB after (writes); the read trail's WAL: $((trail_before / 1024)) KiB before, $((trail_after / 1024)) KiB after (an event per read)."
    echo
  } >>"$OUT"
done
echo "== results in $OUT"
