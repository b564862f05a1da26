#!/usr/bin/env python3
"""Turns what PostgreSQL logged (`log_statement = 'all'`) during one request per scenario into
one pgbench script per scenario: the statements the server sent, in order, bind values written
in as literals, so that pgbench runs exactly what the code sends today (nothing hand-written to
drift from it).

Usage: pg_statements.py LOG OFFSET SERVER_PIDS OUT_DIR
  LOG          the server's log file, read from byte OFFSET (its size before the capture)
  SERVER_PIDS  comma-separated backend pids of the server's pooled connections
  OUT_DIR      where <scenario>.sql is written, for each marker seen

The bench marks each scenario by running `SELECT 'concerto-bench-capture:<scenario>'` from psql
just before its request; what the server's backends log until the next marker is that request.
Expects the log line prefix to carry `[%p]` (Debian's default `%m [%p] %q%u@%d `).
"""

import os
import re
import sys

PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[(\d+)\] ")
MESSAGE = re.compile(r"(LOG|DETAIL):  (.*)", re.S)
MARKER = re.compile(r"SELECT 'concerto-bench-capture:([A-Za-z0-9_-]+)'")
EXECUTE = re.compile(r"execute [^:]*: (.*)", re.S)
PARAMETER = re.compile(r"\$(\d+) = ('(?:[^']|'')*'|NULL)")
PLACEHOLDER = re.compile(r"\$(\d+)")
INSERT = re.compile(r'INSERT INTO\s+"?(\w+)"?\s*\(([^)]*)\)\s*VALUES\s*\(([^)]*)\)', re.I | re.S)


def entries(path, offset):
    """(pid, level, message) of each log entry, continuation lines included."""
    with open(path, encoding="utf-8", errors="replace") as f:
        f.seek(offset)
        current = None
        for line in f:
            m = PREFIX.match(line)
            if m:
                if current:
                    yield current
                body = MESSAGE.search(line[m.end():])
                current = [int(m.group(1)), body.group(1), body.group(2)] if body else None
            elif current:
                current[2] += line
        if current:
            yield current


def fresh_ids(sql, params):
    """A read's audit event (or any row it inserts) gets a new id on each pgbench transaction:
    the logged one would collide with itself from the second transaction on."""
    m = INSERT.search(sql)
    if not m:
        return params
    columns = [c.strip().strip('"') for c in m.group(2).split(",")]
    values = [v.strip() for v in m.group(3).split(",")]
    params = dict(params)
    for column, value in zip(columns, values):
        p = PLACEHOLDER.fullmatch(value)
        if column == "id" and p:
            params[p.group(1)] = "gen_random_uuid()::text"
    return params


def main():
    log, offset, pids, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    server = {int(p) for p in pids.split(",") if p}
    scripts, scenario, last = {}, None, {}
    for pid, level, message in entries(log, offset):
        message = message.rstrip("\n")
        if level == "LOG" and message.startswith("statement: "):
            sql = message[len("statement: "):]
            marker = MARKER.search(sql)
            if marker:
                scenario = marker.group(1)
                scripts[scenario] = []
            elif pid in server and scenario:
                scripts[scenario].append([sql, {}])
                last[pid] = scripts[scenario][-1]
        elif level == "LOG" and pid in server and scenario:
            execute = EXECUTE.match(message)
            if execute:
                scripts[scenario].append([execute.group(1), {}])
                last[pid] = scripts[scenario][-1]
        elif level == "DETAIL" and pid in last and message.startswith("parameters: "):
            last[pid][1] = dict(PARAMETER.findall(message))
    os.makedirs(out, exist_ok=True)
    for name, statements in scripts.items():
        lines = []
        for sql, params in statements:
            # Connection set-up (time zone, encoding) belongs to no request.
            if re.match(r"\s*SET\b", sql, re.I):
                continue
            params = fresh_ids(sql, params)
            missing = [n for n in PLACEHOLDER.findall(sql) if n not in params]
            if missing:
                sys.exit(f"{name}: no logged value for ${missing[0]} in {sql}")
            literal = PLACEHOLDER.sub(lambda p: params[p.group(1)], sql)
            lines.append(literal.strip() + ";")
        if not lines:
            continue
        with open(os.path.join(out, f"{name}.sql"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        print(f"{name}: {len(lines)} statements")


if __name__ == "__main__":
    main()
