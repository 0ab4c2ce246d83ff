#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Container runtime benchmark (make bench): latency of the runtime's
# operations through the gannet-runtime CLI (one process per operation, as
# the suite does; the agent calls the library directly and saves the
# process start) against bare runc in the same run:
#   create+start  gannet-runtime run (overlay, config, shim, runc create+start)
#                 vs runc run --detach of a prepared bundle sharing the image
#                 rootfs read-only (no overlay, no shim, no logs)
#   status        gannet-runtime status (fast path) vs runc state
#   exec          gannet-runtime exec vs runc exec
#   remove        gannet-runtime rm (running container) vs runc delete --force
# and the memory of N running containers' shims (total and per container).
#
#   N=50 tests/bench/bench-runtime.sh
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
BIN=$PWD/$BUILD/bin/gannet-runtime
N=${N:-50}
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
command -v runc >/dev/null || { echo "runc not installed"; exit 77; }
[ -x "$BIN" ] || { echo "missing $BIN (make all)" >&2; exit 1; }

T=$(mktemp -d /tmp/gnt-rtbench-$$-XXXX)
S=$T/node
CG=gannet-bench-rt-$$
NS=gnt-rtb-$$
RR=$T/runc-base
R() { "$BIN" --state "$S" --cgroup-parent "$CG/node" "$@"; }
cleanup() {
	set +e
	for id in $(R list 2>/dev/null); do R rm "$id" >/dev/null 2>&1; done
	for id in $(runc --root "$RR" list -q 2>/dev/null); do runc --root "$RR" delete -f "$id"; done
	grep " $T/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
	ip netns del "$NS" 2>/dev/null
	for d in $(find /sys/fs/cgroup -maxdepth 5 -type d -name "$CG" 2>/dev/null); do
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap "exit 130" INT TERM HUP
ip netns add "$NS"
NSP=/run/netns/$NS

now() { date +%s%N; }
# pct FILE P: P-th percentile (ms, one decimal) of the ns values in FILE
pct() { sort -n "$1" | awk -v p="$2" '{v[NR]=$1} END{i=int((NR*p+99)/100); if(i<1)i=1; printf "%.1f", v[i]/1e6}'; }

R image list >/dev/null
IMG=$(readlink -f "$S/images/busybox_3Alatest")/rootfs

# Baseline bundle: same process/namespaces, rootfs = the image read-only.
B=$T/bundle
mkdir -p "$B"
R config --netns "$NSP" busybox -- sleep 600 |
	jq --arg r "$IMG" '.root.path=$r | .root.readonly=true | .linux.cgroupsPath=null' >"$B/config.json"

declare -a gids bids
: >"$T/g.start"; : >"$T/b.start"
for i in $(seq 1 "$N"); do
	t0=$(now); id=$(R run --netns "$NSP" busybox -- sleep 600); t1=$(now)
	echo $((t1 - t0)) >>"$T/g.start"; gids+=("$id")
	t0=$(now); runc --root "$RR" run --detach --bundle "$B" "base$i" </dev/null >/dev/null 2>&1; t1=$(now)
	echo $((t1 - t0)) >>"$T/b.start"; bids+=("base$i")
done

# Memory of the N running containers' shims (what gannet adds per container).
# RSS counts shared library pages in every shim; PSS splits them and
# Private_* is what each shim alone costs.
shim_kb=0 shim_pss=0 shim_priv=0
for id in "${gids[@]}"; do
	p=$(cat "$S/containers/$id/shim.pid")
	read -r rss pss priv < <(awk '/^Rss:/{r=$2} /^Pss:/{p=$2} /^Private_(Clean|Dirty):/{v+=$2}
		END{print r+0, p+0, v+0}' /proc/"$p"/smaps_rollup 2>/dev/null)
	shim_kb=$((shim_kb + ${rss:-0})); shim_pss=$((shim_pss + ${pss:-0})); shim_priv=$((shim_priv + ${priv:-0}))
done
running=$(R list -v | grep -c '"state":"running"')

: >"$T/g.status"; : >"$T/b.status"; : >"$T/g.exec"; : >"$T/b.exec"
for i in $(seq 0 19); do
	id=${gids[$((i % N))]}
	t0=$(now); R status "$id" >/dev/null; t1=$(now); echo $((t1 - t0)) >>"$T/g.status"
	t0=$(now); runc --root "$RR" state "${bids[$((i % N))]}" >/dev/null; t1=$(now); echo $((t1 - t0)) >>"$T/b.status"
	t0=$(now); R exec "$id" -- true; t1=$(now); echo $((t1 - t0)) >>"$T/g.exec"
	t0=$(now); runc --root "$RR" exec "${bids[$((i % N))]}" true; t1=$(now); echo $((t1 - t0)) >>"$T/b.exec"
done

: >"$T/g.rm"; : >"$T/b.rm"
for i in $(seq 0 $((N - 1))); do
	t0=$(now); R rm "${gids[$i]}"; t1=$(now); echo $((t1 - t0)) >>"$T/g.rm"
	t0=$(now); runc --root "$RR" delete --force "${bids[$i]}"; t1=$(now); echo $((t1 - t0)) >>"$T/b.rm"
done

row() {
	local name=$1 g=$2 b=$3
	local gp50 gp99 bp50 bp99
	gp50=$(pct "$g" 50); gp99=$(pct "$g" 99); bp50=$(pct "$b" 50); bp99=$(pct "$b" 99)
	printf '%-14s %9s %9s %9s %9s %7s\n' "$name" "$gp50" "$gp99" "$bp50" "$bp99" \
		"$(awk -v a="$gp50" -v b="$bp50" 'BEGIN{printf "%.2f", (b > 0) ? a / b : 0}')"
}
echo "container runtime, N=$N busybox containers ($running running at once), $(nproc) cores"
printf '%-14s %9s %9s %9s %9s %7s\n' operation "gnt p50" "gnt p99" "runc p50" "runc p99" ratio
row create+start "$T/g.start" "$T/b.start"
row status "$T/g.status" "$T/b.status"
row exec "$T/g.exec" "$T/b.exec"
row remove "$T/g.rm" "$T/b.rm"
echo "(ms; ratio = gannet p50 / bare runc p50)"
echo "shim memory for $N containers: RSS $((shim_kb / 1024)) MiB ($((shim_kb / N)) KiB each)," \
	"PSS $((shim_pss / 1024)) MiB ($((shim_pss / N)) KiB each), private $((shim_priv / N)) KiB each"
