#!/usr/bin/env python3
"""Cost per row shown (issue 30, item 3): server and store CPU per request of the agenda, the
tab and the session run at pages of about 10, 50 and 115 dossiers, one connection, requests one
after another; then CPU = fixed + per_row x rows fitted by least squares for each list.

CPU is read from /proc, not timed: utime + stime of the server process (`/proc/PID/stat`,
threads included, reaped ones too) and, on PostgreSQL, of the backends of the server's pooled
connections (the store); on SQLite the store runs inside the server. Each page size is measured
in several interleaved rounds and the median round kept, so a burst of another process's work
on the machine does not land on one page size alone.

Usage:
  rowcost.py measure --base URL --server-pid PID --accounts FILE [--pg-url URL] [--requests N] [--rounds R]
      appends a Markdown table to stdout
  rowcost.py cpu --server-pid PID [--pg-url URL]
      prints `server_seconds store_seconds` (for the bench's CPU per request under wrk)

The caller is the heavy secretary of the generated region (`concerto generate`, accounts file
key `heavy`): her agenda paged by sessions (`limit`), her `rcp_passages` tab with `limit`, and
the runs of her animateur's three sessions far ahead (10, 50 and 115 dossiers).
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse

TICK = os.sysconf("SC_CLK_TCK")
TARGETS = (10, 50, 115)


def proc_seconds(pid):
    """utime + stime of a process and its threads, reaped ones included, in seconds."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # Fields 14 and 15 of the file, counted after the command name's closing parenthesis.
    return (int(fields[11]) + int(fields[12])) / TICK


def backends(pg_url):
    """The pids of the other sessions on the server's database: its pooled connections."""
    if not pg_url:
        return []
    out = subprocess.run(
        ["psql", pg_url, "-Atc", "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [int(p) for p in out.split()]


class Cpu:
    """CPU seconds of the server and of the store's backends, read before and after some work."""

    def __init__(self, server_pid, pg_url):
        self.server_pid, self.pg_url = server_pid, pg_url
        self.pids = backends(pg_url)

    def read(self):
        return proc_seconds(self.server_pid), sum(proc_seconds(p) for p in self.pids)


class Client:
    """One keep-alive connection, requests one after another."""

    def __init__(self, base):
        url = urllib.parse.urlsplit(base)
        self.prefix = url.path.rstrip("/")
        self.conn = http.client.HTTPConnection(url.hostname, url.port)
        self.token = None

    def request(self, method, path, body=None):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body)
        self.conn.request(method, self.prefix + path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            sys.exit(f"{method} {path}: {response.status} {data[:300]!r}")
        return json.loads(data)

    def get(self, path):
        return self.request("GET", path)


def agenda_rows(answer):
    return sum(len(s["dossiers"]) for s in answer["items"])


def pages(client, heavy):
    """(list, label, path, dossiers shown) for each list and page size."""
    found = []
    # The agenda paged by sessions: the limits whose pages come nearest to each target.
    by_limit = {}
    for limit in range(1, 60):
        answer = client.get(f"/agenda?limit={limit}")
        by_limit[limit] = agenda_rows(answer)
        if not answer.get("next_cursor"):
            break
    for target in TARGETS:
        limit = min(by_limit, key=lambda l: (abs(by_limit[l] - target), l))
        found.append(("agenda", f"limit={limit}", f"/agenda?limit={limit}", by_limit[limit]))
    for target in TARGETS:
        path = f"/me/dossiers?tab=rcp_passages&limit={target}"
        found.append(("tab", f"limit={target}", path, len(client.get(path)["items"])))
    for session in heavy["row_cost_sessions"]:
        path = f"/sessions/{session['id']}/run"
        found.append(("run", f"{session['dossiers']} dossiers", path, len(client.get(path)["dossiers"])))
    # A page already read twice stays out of the fit; several limits can land on one page.
    seen, unique = set(), []
    for page in found:
        if (page[0], page[3]) not in seen:
            seen.add((page[0], page[3]))
            unique.append(page)
    return unique


def fit(points):
    """Least squares of y = a + b x over (x, y) points: (a, b)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return my, 0.0
    b = sum((x - mx) * (y - my) for x, y in points) / sxx
    return my - b * mx, b


def measure(args):
    with open(args.accounts, encoding="utf-8") as f:
        accounts = json.load(f)
    heavy = accounts.get("heavy")
    if not heavy:
        sys.exit("this region has no heavy secretary: generate it again (GENERATOR >= 7)")
    client = Client(args.base)
    client.token = client.request("POST", "/auth/login", {"username": heavy["secretary"], "password": accounts["password"]})["access_token"]
    todo = pages(client, heavy)
    cpu = Cpu(args.server_pid, args.pg_url)
    # Warm: each page's statements prepared on every pooled connection, its rows in the caches.
    for _ in range(20):
        for _, _, path, _ in todo:
            client.get(path)
    samples = {page: [] for page in todo}
    for _ in range(args.rounds):
        for page in todo:
            before, wall = cpu.read(), time.perf_counter()
            for _ in range(args.requests):
                client.get(page[2])
            after, wall = cpu.read(), time.perf_counter() - wall
            samples[page].append(
                ((after[0] - before[0]) / args.requests * 1e6, (after[1] - before[1]) / args.requests * 1e6, wall / args.requests * 1e3)
            )
    store = "PostgreSQL backends" if args.pg_url else "in the server (SQLite)"
    print(f"| list | page | dossiers shown | server CPU µs/request | store CPU µs/request ({store}) | wall ms/request |")
    print("|---|---|---|---|---|---|")
    medians = {}
    for page in todo:
        rounds = sorted(samples[page], key=lambda s: s[0])
        server, store_cpu, wall = rounds[len(rounds) // 2]
        medians[page] = (server, store_cpu)
        print(f"| {page[0]} | {page[1]} | {page[3]} | {server:.0f} | {store_cpu:.0f} | {wall:.2f} |")
    print()
    print("| list | server: fixed µs | server: µs per dossier | store: fixed µs | store: µs per dossier |")
    print("|---|---|---|---|---|")
    for name in ("agenda", "tab", "run"):
        points = [(page[3], medians[page]) for page in todo if page[0] == name]
        if len(points) < 2:
            continue
        a, b = fit([(x, s) for x, (s, _) in points])
        c, d = fit([(x, t) for x, (_, t) in points])
        print(f"| {name} | {a:.0f} | {b:.1f} | {c:.0f} | {d:.1f} |")
    print()
    print(f"{args.requests} requests per page size and round, {args.rounds} rounds interleaved, the median round; one connection.")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--base", required=True)
    m.add_argument("--server-pid", type=int, required=True)
    m.add_argument("--accounts", required=True)
    m.add_argument("--pg-url")
    m.add_argument("--requests", type=int, default=int(os.environ.get("BENCH_ROWCOST_REQUESTS", "200")))
    m.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROWCOST_ROUNDS", "3")))
    c = sub.add_parser("cpu")
    c.add_argument("--server-pid", type=int, required=True)
    c.add_argument("--pg-url")
    args = parser.parse_args()
    if args.command == "measure":
        measure(args)
    else:
        server, store = Cpu(args.server_pid, args.pg_url).read()
        print(f"{server:.2f} {store:.2f}")


if __name__ == "__main__":
    main()
