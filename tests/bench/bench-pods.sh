#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Pod start latency and agent memory (make bench): one node namespace whose
# gannet-agent runs in API mode against a live gannet-apiserver
# (tests/lib/kubelet.sh). NPODS (default 100) busybox pods are created one
# after another with spec.nodeName set; latency = from just before the
# create request to the first watch event showing phase Running with a pod
# IP (the client's view, as kubectl wait would see it). The agent's resident
# memory is read at 0, RSS_AT (50) and NPODS pods.
# Baseline in the same run: the same work done directly, without API or
# agent loop: `ip netns add` + gannet-cni ADD (as a runtime invokes it) +
# `gannet-runtime run` of the same container, RAW times; the ratio shows
# what the kubelet path (watch, worker, status update, watch back) costs.
# Targets: p99 pod start < 1 s, agent < 30 MB resident with 50 pods.
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}" || exit 1
export GANNET_ROOT=$PWD
export BUILD=${BUILD:-build}
NPODS=${NPODS:-100}
RSS_AT=${RSS_AT:-50}
RAW=${RAW:-20}
. tests/lib/cluster.sh
. tests/lib/kubelet.sh
kl_require
CL_VERBOSE=0 KL_SYNC_MS=1000 kl_up 1 >/dev/null 2>&1 || { echo "cluster did not come up" >&2; exit 1; }
wait_for 10 ajq /api/v1/nodes/node1 '.status.addresses != null' >/dev/null 2>&1

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$(agent_pid 1)/status"; }
pct() {   # pct FILE P -> P-th percentile (nearest rank) of the numbers in FILE
	sort -n "$1" | awk -v p="$2" '{v[NR]=$1} END {r=int((p*NR+99)/100); if (r<1) r=1; print v[r]}'
}
stats() { printf '%8.1f %8.1f %8.1f %8.1f' "$(pct "$1" 50)" "$(pct "$1" 90)" "$(pct "$1" 99)" "$(sort -n "$1" | tail -1)"; }

# ---- baseline: the same steps by hand, no API -------------------------------
RT=("$CL_BIN/gannet-runtime" --state "$CL_DIR/raw" --cgroup-parent "$CG/raw")
cluster_on_exit 'for id in $("${RT[@]}" list 2>/dev/null); do "${RT[@]}" rm "$id" >/dev/null 2>&1; done'
: >"$CL_DIR/raw.ms"
for ((i = 0; i < RAW; i++)); do
	t0=$EPOCHREALTIME
	ns=$CL_RUN-raw$i
	ip netns add "$ns"
	cni_exec 1 ADD "raw$i" "/run/netns/$ns" >/dev/null || { echo "raw CNI ADD failed" >&2; exit 1; }
	in_node 1 "${RT[@]}" run --id "raw$i" --netns "/run/netns/$ns" busybox -- sleep 3600 >/dev/null ||
		{ echo "raw run failed" >&2; exit 1; }
	t1=$EPOCHREALTIME
	echo "($t1 - $t0) * 1000" | bc -l >>"$CL_DIR/raw.ms"
done
for ((i = 0; i < RAW; i++)); do
	"${RT[@]}" rm "raw$i" >/dev/null 2>&1
	cni_exec 1 DEL "raw$i" "/run/netns/$CL_RUN-raw$i" >/dev/null
	ip netns del "$CL_RUN-raw$i"
done

# ---- kubelet path ---------------------------------------------------------------
rss0=$(rss_kb)
EV=$CL_DIR/events.log
ACURL_TIMEOUT=3600 acurl -N "$P?watch=true" 2>/dev/null |
	while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$EV" &
watcher=$!
cluster_on_exit "kill $watcher"
sleep 0.5
: >"$CL_DIR/create.ts"
for ((i = 1; i <= NPODS; i++)); do
	printf 'b%d %s\n' "$i" "$EPOCHREALTIME" >>"$CL_DIR/create.ts"
	mkpod "b$i" 1 "[{\"name\":\"c\",$BB,\"command\":[\"sleep\",\"3600\"]}]"
	# next pod once this one is Running with an IP (sequential starts)
	for ((t = 0; t < 300; t++)); do
		grep -F "\"b$i\"" "$EV" | grep -q '"podIP"' && break
		sleep 0.02
	done
	[ "$i" = "$RSS_AT" ] && rss_mid=$(rss_kb)
done
sleep 1
rss_end=$(rss_kb)
# first Running-with-IP event per pod
cut -d' ' -f2- "$EV" | paste -d' ' <(cut -d' ' -f1 "$EV") - |
	while read -r ts json; do
		jq -r --arg ts "$ts" 'select(.object.status.phase=="Running" and (.object.status.podIP//"")!="") | "\(.object.metadata.name) \($ts)"' <<<"$json"
	done | awk '!seen[$1]++' >"$CL_DIR/running.ts"
join <(sort "$CL_DIR/create.ts") <(sort "$CL_DIR/running.ts") |
	awk '{printf "%.3f\n", ($3 - $2) * 1000}' >"$CL_DIR/kubelet.ms"
n_ok=$(wc -l <"$CL_DIR/kubelet.ms")
kill "$watcher" 2>/dev/null

# ---- teardown time (informational) -------------------------------------------
t0=$EPOCHREALTIME
acurl -X DELETE "$P" >/dev/null 2>&1
for ((t = 0; t < 600; t++)); do
	[ -z "$(runc --root "$CL_DIR/node1/state/runtime/runc" list -q 2>/dev/null)" ] && break
	sleep 0.1
done
del_s=$(echo "$EPOCHREALTIME - $t0" | bc -l)

raw50=$(pct "$CL_DIR/raw.ms" 50)
k50=$(pct "$CL_DIR/kubelet.ms" 50)
k99=$(pct "$CL_DIR/kubelet.ms" 99)
printf '%-44s %6s %8s %8s %8s %8s\n' "pod start, 1 node (ms)" n p50 p90 p99 max
printf '%-44s %6s %s\n' "raw: netns + CNI ADD + runtime run" "$RAW" "$(stats "$CL_DIR/raw.ms")"
printf '%-44s %6s %s\n' "kubelet: API create -> Running+IP (watch)" "$n_ok" "$(stats "$CL_DIR/kubelet.ms")"
printf '%-44s %6s %8.2f\n' "kubelet/raw p50" - "$(echo "$k50 / $raw50" | bc -l)"
printf '%-44s %6s %8s   (target < 1000 ms: %s)\n' "p99" - "$k99" \
	"$([ "$(echo "$k99 < 1000" | bc)" = 1 ] && echo met || echo MISSED)"
printf '%-44s %6s %8s\n' "agent RSS (MB)" pods MB
printf '%-44s %6s %8.1f\n' "  idle" 0 "$(echo "$rss0 / 1024" | bc -l)"
printf '%-44s %6s %8.1f   (target < 30 MB: %s)\n' "  running" "$RSS_AT" "$(echo "${rss_mid:-0} / 1024" | bc -l)" \
	"$([ "${rss_mid:-999999}" -lt 30720 ] && echo met || echo MISSED)"
printf '%-44s %6s %8.1f\n' "  running" "$NPODS" "$(echo "$rss_end / 1024" | bc -l)"
printf '%-44s %6s %8.1f s\n' "delete all (API delete -> no containers)" "$NPODS" "$del_s"
[ "$n_ok" = "$NPODS" ] || { echo "only $n_ok of $NPODS pods reached Running" >&2; exit 1; }
