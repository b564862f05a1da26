"""What one role's schemathesis run reached, read from its NDJSON event report.

Usage: python3 fuzz/coverage.py ROLE REPORT.ndjson

Prints "ROLE: N of M operations answered 2xx at least once" and exits 1 when the role went
blind: an operation whose every answer to a request carrying the role's token was 401 (the
token stopped working, as when the administrator disabled himself early in the run and 43
operations were then tried only against 401). Requests schemathesis sends without the header
(its `ignored_auth` check) are not counted.
"""

import collections
import json
import sys


def statuses(report):
    """Operation label -> Counter of the statuses answered to requests carrying the token."""
    seen = collections.defaultdict(collections.Counter)
    operations = set()
    total = 0
    with open(report, encoding="utf-8") as events:
        for line in events:
            event = json.loads(line)
            if "LoadingFinished" in event:
                total = event["LoadingFinished"]["statistic"]["operations"]["selected"]
            finished = event.get("ScenarioFinished")
            if not finished:
                continue
            recorder = finished["recorder"]
            # A stateful scenario chains several operations: each interaction is named by the
            # case it answered (method and path template).
            for case_id, interaction in recorder.get("interactions", {}).items():
                if "Authorization" not in interaction["request"]["headers"]:
                    continue
                case = recorder["cases"][case_id]["value"]
                response = interaction.get("response")
                seen[f"{case['method']} {case['path']}"][response["status_code"] if response else None] += 1
            if recorder["label"] != "Stateful tests":
                operations.add(recorder["label"])
    # The `unsupported_method` check sends methods the document does not have (405): they are
    # no operation.
    return {op: counts for op, counts in seen.items() if op in operations}, total


def main():
    role, report = sys.argv[1], sys.argv[2]
    seen, total = statuses(report)
    ok = sorted(op for op, counts in seen.items() if any(s is not None and 200 <= s < 300 for s in counts))
    blind = sorted(op for op, counts in seen.items() if counts and set(counts) == {401})
    print(f"{role}: {len(ok)} of {total} operations answered 2xx at least once ({len(seen)} tried)")
    if blind:
        print(f"{role}: {len(blind)} operations answered only 401 with the role's token:", file=sys.stderr)
        for op in blind:
            print(f"  - {op}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
