#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every executable tests/bench/bench-*.sh (make bench). Benchmarks are
# not pass/fail tests: each prints its own table of figures and ratios
# against a baseline measured in the same run. Exits non-zero only if a
# benchmark could not run at all (crashed, not "missed a target").
#
#   tests/bench/run.sh              all benchmarks
#   tests/bench/run.sh datapath     only those whose name contains "datapath"
set -u
cd "$(dirname "$0")/../.."
export GANNET_ROOT=$PWD
export BUILD=${BUILD:-build}
filter=${1:-}
rc_all=0
mkdir -p tests/out
for b in tests/bench/bench-*.sh; do
	[ -x "$b" ] || continue
	name=$(basename "$b" .sh)
	[ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
	echo "=== $name"
	"$b" </dev/null 2>tests/out/$name.err | tee tests/out/$name.out
	rc=${PIPESTATUS[0]}
	case $rc in
	0) ;;
	77) echo "    skipped (see above)";;
	*) echo "    FAILED rc=$rc; stderr:"; tail -n 30 tests/out/$name.err | sed 's/^/    /'; rc_all=1;;
	esac
done
exit $rc_all
