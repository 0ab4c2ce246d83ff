#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every test suite under tests/suites/ (executable NN-name.sh files,
# in order). A suite exits 0 = passed, 77 = skipped (a kernel feature or tool
# is missing; says why), anything else = failed. Prints a summary line
# "N passed, N failed, N skipped" and exits non-zero if any suite failed.
#
#   tests/run.sh            all suites
#   tests/run.sh unit       only suites whose name contains "unit"
#   BUILD=build-san tests/run.sh   use the sanitizer build
set -u
cd "$(dirname "$0")/.."
export GANNET_ROOT=$PWD
export BUILD=${BUILD:-build}
filter=${1:-}
pass=0 fail=0 skip=0 failed=()
mkdir -p tests/out
for s in tests/suites/*.sh; do
	[ -x "$s" ] || continue
	name=$(basename "$s" .sh)
	[ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
	log=tests/out/$name.log
	start=$(date +%s)
	printf '=== %-40s ' "$name"
	"$s" >"$log" 2>&1 </dev/null
	rc=$?
	dur=$(( $(date +%s) - start ))
	case $rc in
	0)  pass=$((pass+1)); echo "PASS (${dur}s)";;
	77) skip=$((skip+1)); echo "SKIP (${dur}s): $(tail -n1 "$log")";;
	*)  fail=$((fail+1)); failed+=("$name"); echo "FAIL rc=$rc (${dur}s)"
	    echo "--- last lines of $log:"; tail -n 40 "$log" | sed 's/^/    /';;
	esac
done
echo
[ ${#failed[@]} -gt 0 ] && echo "failed suites: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
