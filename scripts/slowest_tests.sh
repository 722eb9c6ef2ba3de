#!/usr/bin/env bash
# Prints the N slowest tests of the last CTest run from its cost file (name, runs, seconds).
set -euo pipefail
costs=${1:?usage: slowest_tests.sh CTestCostData.txt [N]}
count=${2:-10}
[ -f "$costs" ] || { echo "slowest_tests: no $costs (no test ran)"; exit 0; }
echo "the $count slowest tests (seconds):"
# The cost file ends with a '---' line and the failed tests; only the lines before it time tests.
# The last stage reads all its input (head would stop early, and under pipefail sort's SIGPIPE
# would fail make test after every test passed).
awk '/^---/ {exit} NF == 3 {printf "%8.1f  %s\n", $3, $1}' "$costs" | sort -rn | awk -v n="$count" 'NR <= n'
