#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# NetworkPolicy change-to-enforcement latency on a 3-node namespace cluster
# (gannet-apiserver with controllers, 3 API-mode agents, the 9 pods of the
# policy suites: tests/tools/netcheck.sh). The policy applied is a default
# deny ingress for namespace x, whose pods x/a x/b x/c sit on nodes 1 2 3,
# so every node has to program it. Enforcement is observed in the
# datapath: on each node a `netcheck monitor` in a pod of namespace y
# connects to the x pod of the same node every 2 ms (20 ms timeout, over
# 128 server ports in turn) and timestamps (CLOCK_REALTIME) the first
# attempt of the run of 3 unanswered ones that marks the switch to
# "denied" (and the first connected attempt when back to "allowed").
#
# BENCH_APPLIES (default 100) changes of each kind:
#   gannetctl  `gannetctl apply -f deny.yaml` (what a user runs); reverted
#              by deleting the policy (curl DELETE)
#   curl       the same policy by one curl POST (a lighter client)
#   nslabel    x admits namespaces labelled team=blue; y's label is removed
#              (curl PATCH: y's pods change identity on every node) and
#              put back
# Per change: t0 just before the write, t1 when the writing client exited
# (the API write alone: the baseline), t2 when the last of the 3 nodes
# denies. Printed: p50 / p99 / max of t1-t0, t2-t0 (change -> enforced),
# t2-t1 (propagation after the write) and revert -> reverted, and the ratio
# to the API write (target: apply -> enforced p99 < 100 ms).
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}" || exit 1
export GANNET_ROOT=$PWD
. tests/lib/cluster.sh
export APISERVER_CONTROLLERS=1
. tests/lib/kubelet.sh
. tests/tools/netcheck.sh
kl_require
np_require
N=${BENCH_APPLIES:-100}
TIMEOUT_S=${BENCH_TIMEOUT:-5}

export CL_VERBOSE=0
# the monitors spread their attempts over 128 server ports: at ~400
# connections a second to one port the kernel recycles the source ports
# (whole 5-tuples) within a minute, and a recycled tuple of an earlier
# allowed connection must not be what the benchmark measures
export NP_EXTRA_TCP=8000-8127
kl_up 3 >&2
np_model_up >/dev/null || cl_die "pods did not start"

# monitors: y pod on node n -> x pod on node n (ingress checked on node n)
declare -A MON_OUT=()
for xp in x/a x/b x/c; do
	n=${NP_NODE[$xp]}
	for yp in y/a y/b y/c; do [ "${NP_NODE[$yp]}" = "$n" ] && break; done
	MON_OUT[$n]=$CL_DIR/monitor-node$n.out
	nsenter --net="${NP_NETNS[$yp]}" -- "$NC" monitor -i 2 -w 20 -n 3 -P 128 "${NP_IP[$xp]}:8000/tcp" \
		>"${MON_OUT[$n]}" 2>&1 &
	CL_BG_PIDS+=($!)
	echo "# monitor node$n: $yp -> $xp" >&2
done

now_ns() { local t=$EPOCHREALTIME; echo "${t/./}000"; }
# last_state N: "TS STATE" of node N's monitor
last_state() { tail -n 1 "${MON_OUT[$1]}" 2>/dev/null; }
# wait_state STATE AFTER_NS: prints the latest of the 3 nodes' switch times
# to STATE (each after AFTER_NS), or fails after TIMEOUT_S
wait_state() {
	local want=$1 after=$2 end=$((SECONDS + TIMEOUT_S)) n l ts st max pending
	while :; do
		max=0 pending=0
		for n in 1 2 3; do
			l=$(last_state "$n")
			ts=${l% *} st=${l#* }
			if [ "$st" = "$want" ] && [ "${ts:-0}" -gt "$after" ] 2>/dev/null; then
				((ts > max)) && max=$ts
			else
				pending=1
			fi
		done
		((pending == 0)) && { echo "$max"; return 0; }
		((SECONDS >= end)) && return 1
		sleep 0.005
	done
}

cat >"$CL_DIR/deny.yaml" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bench-deny, namespace: x}
spec:
  podSelector: {}
EOF
DENY_JSON='{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"bench-deny","namespace":"x"},"spec":{"podSelector":{}}}'

# the changes measured: *_on makes the 3 monitors see "denied", *_off
# reverts it
gctl_on()  { gctl apply -f "$CL_DIR/deny.yaml" >/dev/null; }
gctl_off() { acurl -X DELETE "$NPAPI/x/networkpolicies/bench-deny" >/dev/null; }
curl_on()  { acurl -X POST -H 'Content-Type: application/json' -d "$DENY_JSON" "$NPAPI/x/networkpolicies" >/dev/null; }
curl_off() { gctl_off; }
# x admits namespaces labelled team=blue (y); removing y's label changes
# the identity of y's pods, which every node must re-resolve
nslabel_on()  { np_label_ns y '{"team":null}'; }
nslabel_off() { np_label_ns y '{"team":"blue"}'; }

# stats US-VALUES...: "p50 p99 max p90" in ms (nearest rank)
stats() {
	printf '%s\n' "$@" | sort -n | awk 'NF {v[++n] = $1} END {
		if (n == 0) { print "- - - -"; exit }
		i50 = int(n * 0.50 + 0.999999); i90 = int(n * 0.90 + 0.999999)
		i99 = int(n * 0.99 + 0.999999)
		printf "%.1f %.1f %.1f %.1f\n", v[i50] / 1000, v[i99] / 1000, v[n] / 1000, v[i90] / 1000 }'
}
row() {   # row LABEL VALUES...
	local label=$1 n=$(($# - 1)) s
	shift
	s=$(stats "$@")
	set -- $s
	printf '| %-52s | %4d | %7s | %7s | %7s | %7s |\n' "$label" "$n" "$1" "$4" "$2" "$3"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }

# measure KIND: N cycles of KIND_on / KIND_off; fills W (write), E (change
# -> enforced), P (write done -> enforced), D (revert -> reverted), in us
measure() {
	local kind=$1 k t0 t1 t2 t3 t4
	W=() E=() P=() D=()
	for ((k = 0; k < N; k++)); do
		t0=$(now_ns)
		"${kind}_on" || cl_die "$kind: change failed"
		t1=$(now_ns)
		if ! t2=$(wait_state denied "$t0"); then
			FAILS=$((FAILS + 1))
			echo "# $kind $k: not enforced on every node within ${TIMEOUT_S}s" >&2
			"${kind}_off"
			wait_state allowed "$t0" >/dev/null
			continue
		fi
		W+=($(((t1 - t0) / 1000)))
		E+=($(((t2 - t0) / 1000)))
		P+=($(((t2 - t1) / 1000)))
		t3=$(now_ns)
		"${kind}_off" || cl_die "$kind: revert failed"
		if t4=$(wait_state allowed "$t3"); then
			D+=($(((t4 - t3) / 1000)))
		else
			FAILS=$((FAILS + 1))
			echo "# $kind $k: revert not in force within ${TIMEOUT_S}s" >&2
		fi
	done
}

# every monitor must first see "allowed"
wait_state allowed 0 >/dev/null || cl_die "monitors never saw the pods reachable: $(cat "${MON_OUT[@]}")"
FAILS=0
echo "NetworkPolicy change -> enforcement on all 3 nodes (observed in the datapath), $N changes of each kind"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
echo "| measurement                                          |    n | p50 ms  | p90 ms  | p99 ms  | max ms  |"
echo "|------------------------------------------------------|------|---------|---------|---------|---------|"

measure gctl
row "API write alone (gannetctl apply) [baseline]" "${W[@]}"
row "gannetctl apply -> enforced on all 3 nodes" "${E[@]}"
row "  after the write returned (propagation)" "${P[@]}"
row "delete (curl) -> unenforced on all 3 nodes" "${D[@]}"
read -r w50 w99 _ <<<"$(stats "${W[@]}")"
read -r e50 e99 _ <<<"$(stats "${E[@]}")"

measure curl
row "API write alone (curl POST) [baseline]" "${W[@]}"
row "curl POST -> enforced on all 3 nodes" "${E[@]}"
row "  after the write returned (propagation)" "${P[@]}"
read -r _ c99 _ <<<"$(stats "${E[@]}")"

np_apply <<'EOF' || cl_die "allow-blue"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-blue, namespace: x}
spec:
  podSelector: {}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: blue}}}]}]
EOF
sleep 1
measure nslabel
row "namespace label removed (curl PATCH) [API write]" "${W[@]}"
row "  -> peers' identity change enforced on all 3 nodes" "${E[@]}"
row "label restored -> allowed again on all 3 nodes" "${D[@]}"

echo "ratio gannetctl apply->enforced / API write alone: p50 $(ratio "$e50" "$w50"), p99 $(ratio "$e99" "$w99")"
echo "target apply->enforced p99 < 100 ms: gannetctl $e99 ms ($(awk -v a="$e99" 'BEGIN {print (a != "-" && a + 0 < 100) ? "met" : "NOT met"}')), curl POST $c99 ms ($(awk -v a="$c99" 'BEGIN {print (a != "-" && a + 0 < 100) ? "met" : "NOT met"}'))"
echo "changes not enforced within ${TIMEOUT_S}s: $FAILS; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
