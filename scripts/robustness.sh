#!/usr/bin/env bash
# zoo's robustness suite: every hostile-input test (corrupt, truncated and oversized files,
# hostile pickles, bad flags and specs: suites named Hostile*) and the run killed at every
# file operation of its checkpoints (CheckpointKills). Prints one line per suite (cases,
# failures, what it covers) and "N passed, M failed". Usage: scripts/robustness.sh [build/bin]
set -euo pipefail
bin=${1:-build/bin}
filter='Hostile*:CheckpointKills*'
report=$(mktemp -d)
trap 'rm -rf "$report"' EXIT
status=0
for suite in zoo_unit_tests zoo_integration_tests; do
  [ -x "$bin/$suite" ] || { echo "robustness: $bin/$suite is missing: build first (make build)"; exit 2; }
  "$bin/$suite" --gtest_filter="$filter" --gtest_output="json:$report/$suite.json" > "$report/$suite.log" 2>&1 || status=1
done
/usr/bin/python3 - "$report" <<'PY'
import json, pathlib, sys
passed = failed = 0
print(f"{'suite':<28}{'cases':>6}{'failed':>8}  cases")
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    for suite in json.loads(path.read_text())["testsuites"]:
        bad = [t["name"] for t in suite["testsuite"] if t.get("failures")]
        passed += suite["tests"] - len(bad)
        failed += len(bad)
        names = ", ".join(t["name"] + (f" (killed at each of {t['file_operations']} file operations)"
                                       if "file_operations" in t else "") for t in suite["testsuite"])
        print(f"{suite['name']:<28}{suite['tests']:>6}{len(bad):>8}  {names}")
        for name in bad:
            print(f"  FAILED {suite['name']}.{name}")
print(f"{passed} passed, {failed} failed")
PY
[ $status -eq 0 ] || { echo "robustness: failures; the logs:"; cat "$report"/*.log | grep -E "Failure|error|FAILED" | head -40; }
exit $status
