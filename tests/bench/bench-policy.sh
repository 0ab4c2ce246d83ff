#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# NetworkPolicy per-packet cost: Gannet's BPF policy path vs iptables rules
# shaped like kube-router's NetworkPolicy implementation, with 0, 100, 1,000
# and 10,000 NetworkPolicy objects, all in the same run.
#  - "N policies" = N NetworkPolicy objects (plus the one allowing the
#    measured flow) turned into per-endpoint entries by the policies/
#    engine over a 50-namespace, 2000-pod cluster; the destination pod X is
#    selected by the policies of its namespace that match it (about 2% of
#    all policies), see tests/bench/policy_dp_bench.c.
#  - Gannet (policy_dp_bench, libgannet-dataplane, pins under
#    /sys/fs/bpf/gannet-test-*, nothing attached): pod program ns per packet
#    by BPF_PROG_RUN (median of single-packet runs) for the first packet of
#    a new allowed flow (conntrack miss + allow-set lookups + conntrack
#    inserts), an established flow's packet (conntrack hit) and a new
#    denied flow; the "unpoliced" row is the same path with no policy.
#  - iptables (throwaway netns, ipset source sets): OUTPUT -> KUBE-ROUTER-
#    OUTPUT (one -d podIP jump per policed pod, pod order) -> KUBE-POD-FW-X
#    (conntrack ESTABLISHED accept, then a jump to every selecting policy's
#    KUBE-NWPLCY chain, which marks on ipset src + port) -> reject unless
#    marked. Cost of a new flow's first packet = the sender's ns per packet
#    (fresh UDP socket each) minus the same with conntrack on and no rules.
#  - Live frames (gannet-pktgen, 64-byte UDP over 64 flows, 1 sender CPU):
#    pod -> pod on one node (tests/bpf/netns-lib.sh topology, tc underlay)
#    delivered pps without policy and with the destination's ingress
#    enforced (the allowing entry + 1000 others): the steady state of
#    allowed flows (policy conntrack hits).
# Env: POL_COUNTS (default "0 100 1000 10000"), POL_RUNS (BPF_PROG_RUN
# samples per figure, 5000), IPT_MAX (largest count tried with iptables,
# 10000), PPS_DUR (seconds per pps run, 2; 0 = skip), PPS_REPS (3).
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
PB=$PWD/$BUILD/tests/policy_dp_bench
LK=$PWD/$BUILD/gen/tests/policy_lookup.bpf.o
COUNTS=${POL_COUNTS:-0 100 1000 10000}
RUNS=${POL_RUNS:-5000}
IPT_MAX=${IPT_MAX:-10000}

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
mountpoint -q /sys/fs/bpf || skip "bpffs not mounted"
[ -x "$PB" ] || { echo "build first: $PB" >&2; exit 1; }
for t in python3 nsenter jq bc; do command -v $t >/dev/null || skip "$t missing"; done
IPT=1
for t in iptables-restore ipset; do command -v $t >/dev/null || IPT=0; done

NS=gnt-polb-$$
PIN=/sys/fs/bpf/gannet-test-polb-$$
TMP=$(mktemp -d)
cleanup() {
	ip netns del $NS 2>/dev/null; ip netns del $NS-sink 2>/dev/null
	[ -n "${SFX:-}" ] && topo_cleanup
	rm -rf "$PIN" "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mkdir -p "$PIN"
ip netns add $NS
ip netns add $NS-sink
nsx() { nsenter --net=/run/netns/$NS "$@"; }
nsx ip link set lo up
# the sender is pod S (10.244.5.52); frames to the pod CIDR leave by a
# veth into a sink netns that drops them (no forwarding there)
nsx ip addr add 10.244.5.52/32 dev lo
ip -n $NS link add eth0 type veth peer name eth0 netns $NS-sink
ip -n $NS link set eth0 up; ip -n $NS-sink link set eth0 up
nsx ip route add 10.244.0.0/16 dev eth0
nsx ip neigh add 10.244.5.2 lladdr 02:00:00:00:00:01 dev eth0 nud permanent

# ns per first packet of a new UDP flow S -> X:80 (fresh socket = fresh
# source port = conntrack miss), mean over $1 packets
new_flow_ns() {
	nsx python3 - "$1" <<'PY'
import socket, sys, time
count = int(sys.argv[1])
socks = []
for _ in range(count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.244.5.52", 0))
    socks.append(s)
t = time.perf_counter()
for s in socks:
    try:
        s.sendto(b"x", ("10.244.5.2", 80))
    except OSError:
        pass
dt = time.perf_counter() - t
print("%.0f" % (dt / count * 1e9))
PY
}
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
nf5() { med "$(new_flow_ns "$1")" "$(new_flow_ns "$1")" "$(new_flow_ns "$1")" "$(new_flow_ns "$1")" "$(new_flow_ns "$1")"; }

printf '%-11s | %-6s %-8s | %-32s | %-21s | %-24s\n' "" "X sel." "X" "Gannet BPF_PROG_RUN ns/packet" "Gannet apply (ms)" "iptables (kube-router)"
printf '%-11s | %6s %8s | %10s %10s %10s | %10s %10s | %10s %12s\n' policies "by" "entries" "new flow" "establ." "denied" "1 set" "64 (batch)" "restore s" "new flow ns (base)"
declare -A G
js=$(nsx "$PB" -r "$PIN" -u -c "$RUNS") || { echo "policy_dp_bench (unpoliced) failed" >&2; exit 1; }
G[u]=$js
printf '%-11s | %6s %8s | %10s %10s %10s | %10s %10s | %10s %12s\n' "unpoliced" - - \
	"$(jq -r .ns_new_flow <<<"$js")" "$(jq -r .ns_established <<<"$js")" "$(jq -r .ns_denied <<<"$js")" - - - -
# baseline for iptables: conntrack on (as on any node running kube-proxy
# or kube-router) but no policy rule; measured again right before each
# ruleset so that the machine's changing load cancels out
base_nf=""
ipt_base() {
	nsx iptables -F; nsx iptables -X; nsx ipset destroy 2>/dev/null
	nsx iptables -A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
	base_nf=$(nf5 "$1")
	nsx iptables -F
}
for n in $COUNTS; do
	out=$TMP/r$n
	mkdir -p "$out"
	lk=(); [ -e "$LK" ] && lk=(-L "$LK")
	js=$(nsx "$PB" -r "$PIN" -n "$n" -c "$RUNS" -o "$out" "${lk[@]}") || { echo "policy_dp_bench $n failed" >&2; exit 1; }
	G[$n]=$js
	ir="-" inf="-"
	if [ $IPT = 1 ] && [ "$n" -le "$IPT_MAX" ]; then
		cnt=3000; [ "$n" -ge 10000 ] && cnt=1000
		ipt_base $cnt
		t0=$(date +%s.%N)
		nsx ipset restore <"$out/ipset" && nsx iptables-restore <"$out/iptables" ||
			{ echo "iptables rules for $n failed to load" >&2; exit 1; }
		t1=$(date +%s.%N)
		ir=$(echo "$t1 - $t0" | bc -l | xargs printf '%.2f')
		v=$(nf5 $cnt)
		inf="$((v - base_nf)) ($base_nf)"
		# the measured flow really is allowed by the rules (marked and
		# accepted, not rejected)
		acc=$(nsx iptables -L KUBE-POD-FW-1000 -v -x -n | awk '/REJECT/ {print $1}')
		[ "${acc:-1}" = 0 ] || echo "warning: $acc packets rejected by the iptables rules" >&2
		nsx iptables -F; nsx iptables -X; nsx ipset destroy
	fi
	rm -rf "$out"
	printf '%-11s | %6s %8s | %10s %10s %10s | %10s %10s | %10s %12s\n' "$n" \
		"$(jq -r .selecting_x <<<"$js")" "$(jq -r .entries_x <<<"$js")" \
		"$(jq -r .ns_new_flow <<<"$js")" "$(jq -r .ns_established <<<"$js")" \
		"$(jq -r .ns_denied <<<"$js")" "$(jq -r .policy_set_ms <<<"$js" | xargs printf '%.1f')" \
		"$(jq -r .batch64_ms <<<"$js" | xargs printf '%.1f')" "$ir" "$inf"
done
if [ -e "$LK" ]; then
	echo
	echo "allow-set lookup alone (BPF_PROG_RUN x200000, best of 5, minus a run without lookup), X's entries:"
	printf '%-11s | %8s | %-23s | %-23s\n' "" "" "allowed (S, tcp/80)" "denied (D, tcp/80)"
	printf '%-11s | %8s | %11s %11s | %11s %11s\n' policies entries "hash ns" "LPM ns" "hash ns" "LPM ns"
	for n in $COUNTS; do
		j=${G[$n]}
		printf '%-11s | %8s | %11s %11s | %11s %11s\n' "$n" "$(jq -r .entries_x <<<"$j")" \
			"$(jq -r .lookup_hash_allow_ns <<<"$j")" "$(jq -r .lookup_lpm_allow_ns <<<"$j")" \
			"$(jq -r .lookup_hash_deny_ns <<<"$j")" "$(jq -r .lookup_lpm_deny_ns <<<"$j")"
	done
	echo "hash = the datapath's encoding (meta + probes per port prefix length); LPM = the 4-lookup trie of docs/policy.md's first proposal"
fi
first=$(echo $COUNTS | awk '{print $1}'); last=$(echo $COUNTS | awk '{print $NF}')
r() { echo "$(jq -r ".$2" <<<"${G[$last]}") / $(jq -r ".$2" <<<"${G[$first]}")" | bc -l | xargs printf '%.3f'; }
echo
echo "Gannet per-packet growth $first -> $last policies: new flow x$(r x ns_new_flow), established x$(r x ns_established), denied x$(r x ns_denied) (target < 1.10)"
echo "policed vs unpoliced: new flow x$(echo "$(jq -r .ns_new_flow <<<"${G[$first]}") / $(jq -r .ns_new_flow <<<"${G[u]}")" | bc -l | xargs printf '%.2f'), established x$(echo "$(jq -r .ns_established <<<"${G[$first]}") / $(jq -r .ns_established <<<"${G[u]}")" | bc -l | xargs printf '%.2f')"
echo "apply: dp_policy_set of X's set (one swap: map build + one kernel RCU grace period), and dp_policy_set_batch of that set for 64 endpoints (one grace period for all)"
echo "notes: X sel. by = policies selecting the destination (the allowing one included); BPF_PROG_RUN figures = median kernel-timed single-packet runs (include the harness's constant timer overhead); iptables new-flow cost = sender ns per first packet minus the same with conntrack on and no policy rule (base, measured just before; medians of 5 runs, noisy on a shared machine), ipset $(ipset -v 2>/dev/null | grep -o 'v[0-9.]*' | head -1); $(nproc) CPUs, kernel $(uname -r), $(iptables -V 2>/dev/null)"

# ---------------------------------------------------------------- live frames
PPS_DUR=${PPS_DUR:-2}
PPS_REPS=${PPS_REPS:-3}
PKTGEN=$PWD/$BUILD/bin/gannet-pktgen
GDP=$PWD/$BUILD/bin/gannet-dp
echo
if [ "$PPS_DUR" = 0 ] || [ ! -x "$PKTGEN" ] || [ ! -x "$GDP" ]; then
	echo "live frames: skipped (PPS_DUR=0 or gannet-pktgen/gannet-dp not built)"
	exit 0
fi
SFX=gpolb$$ PINROOT=/sys/fs/bpf/gannet-test-polbt-$$
. tests/bpf/netns-lib.sh
topo_up tc >/dev/null || { echo "live frames: topology failed" >&2; exit 1; }
# the sender's frames are XDP frames: its peer (the host veth) takes them
# with GRO on
NSX $SFX-n1 ethtool -K gnt1a gro on >/dev/null
pps() {
	"$PKTGEN" run -n $SFX-p1a -i eth0 --dst-ip 10.244.1.3 --sink-netns $SFX-p1b --sink-dev eth0 \
		-d "$PPS_DUR" --cpus 0 --flows 64 --json 2>/dev/null | jq -r .delivered_pps
}
un="" po=""
allow=(--allow 101/udp/9)
for i in $(seq 1000); do allow+=(--allow $((2000 + i))/tcp/$((1000 + i))); done
for r in $(seq "$PPS_REPS"); do
	# alternate so that both see the same load
	NSX $SFX-n1 "$GDP" -r "$PINROOT" -n node1 policy-del --ip 10.244.1.3
	un="$un $(pps)"
	NSX $SFX-n1 "$GDP" -r "$PINROOT" -n node1 policy-set --ip 10.244.1.3 --dir ingress "${allow[@]}"
	po="$po $(pps)"
done
den=$(NSX $SFX-n1 "$GDP" -r "$PINROOT" -n node1 -j stats | jq -r '.drop["policy-denied-ingress"].packets')
u=$(med $un); p=$(med $po)
printf '%-58s %14s\n' "live frames, 64 B UDP, 64 flows, pod -> pod same node" "pps (median)"
printf '%-58s %14.0f\n' "no policy" "$u"
printf '%-58s %14.0f\n' "destination ingress enforced (1001 entries), allowed" "$p"
echo "policed / unpoliced: $(echo "$p / $u" | bc -l | xargs printf '%.2f'); runs: unpoliced [$un ] policed [$po ]; policy drops: ${den:-0} (must be 0)"
