#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Link set-up cost (make bench): the netlink calls the agent makes per pod
# (dataplane/link.c as pods.c calls it: CNI ADD wiring, CHECK, DEL), timed
# by tests/bench/link_bench.c inside a node namespace over N pod
# namespaces, against one plain netlink request in the caller's own
# namespace (the floor of a call) in the same run. Everything happens in
# namespaces this script creates and deletes.
#
#   N=200 tests/bench/bench-link.sh
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}" || exit 1
BUILD=${BUILD:-build}
BIN=${LINK_BENCH_BIN:-$PWD/$BUILD/tests/bench/link_bench}
N=${N:-100}
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
[ -x "$BIN" ] || { echo "missing $BIN (make all)" >&2; exit 1; }

P=gnt-lkb-$$-
cleanup() {
	for ((i = 0; i < N; i++)); do ip netns del "${P}p$i" 2>/dev/null; done
	ip netns del "${P}node" 2>/dev/null
}
trap cleanup EXIT
ip netns add "${P}node" || exit 1
ip -n "${P}node" link set lo up
for ((i = 0; i < N; i++)); do
	ip netns add "${P}p$i" || exit 1
done
nsenter --net="/run/netns/${P}node" "$BIN" "${P}p" "$N"
