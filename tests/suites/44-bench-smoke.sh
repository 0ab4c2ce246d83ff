#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Smoke run of the datapath benchmark (1 repetition of 1 s): every path it
# builds (XDP_DROP veth pair, Linux bridge, flannel-style kernel vxlan,
# Gannet same-node and cross-node) must come up and produce a figure. The
# figures themselves are not judged here (a loaded CI machine is no place
# for timing assertions); `make bench` is where they are read.
set -u
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
BENCH_REPS=1 BENCH_DUR=1 BENCH_MD=$out tests/bench/bench-datapath.sh 2>"$err"
rc=$?
cat "$err"
[ $rc -eq 77 ] && exit 77
[ $rc -eq 0 ] || { echo "benchmark failed rc=$rc"; exit 1; }
cat "$out"
fail=0
for row in "XDP_DROP ceiling" "same-node pps" "cross-node pps" "same-node TCP" "cross-node TCP"; do
	line=$(grep -F "| $row" "$out")
	if [ -z "$line" ]; then
		echo "FAIL: no row '$row'"; fail=1
	elif grep -q "n/a" <<<"$line"; then
		echo "FAIL: row '$row' has no figure: $line"; fail=1
	else
		echo "ok: $row"
	fi
done
# Every measurement ran (a frame count of 0 would show as "delivered 0").
if grep -E "pktgen failed|iperf3 failed|delivered 0 pps|not measured" "$err"; then
	echo "FAIL: a measurement did not run"; fail=1
fi
exit $fail
