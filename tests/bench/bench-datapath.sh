#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Datapath benchmark: Gannet against the Linux paths other CNIs use, all
# built in namespaces and measured in the same run, so only ratios matter.
#
#   XDP_DROP ceiling     veth pair, XDP drop at the peer (physical reference)
#   same-node pod->pod   Gannet (tc + bpf_redirect_peer) vs Linux bridge + veths
#                        (bridge CNI / flannel's cni0)
#   cross-node pod->pod  Gannet BPF VXLAN vs kernel vxlan device (flannel vxlan:
#                        cni0 bridge, flannel.1 vxlan dev, static fdb/neigh);
#                        Gannet in its default underlay mode (nodes 1-2) and,
#                        for information, in XDP underlay mode (nodes 3-4)
#
# Packets: 64-byte UDP frames generated in the kernel by gannet-pktgen
# (BPF_PROG_RUN live frames out of the source pod's eth0), counted where
# they are *delivered* (tc counting-drop on the destination pod's eth0).
# TCP: iperf3 between the same pods. Each figure is the median of
# BENCH_REPS runs of BENCH_DUR seconds.
#
#   BENCH_REPS=5 BENCH_DUR=3 tests/bench/bench-datapath.sh   (defaults; ~3 min)
#   BENCH_MD=FILE   also write the markdown table to FILE
#   BENCH_XDP=0     skip the extra rows for the XDP underlay mode (nodes 3-4)
set -u
GANNET_ROOT=${GANNET_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../lib/cluster.sh
. "$GANNET_ROOT/tests/lib/cluster.sh"

REPS=${BENCH_REPS:-5}
DUR=${BENCH_DUR:-3}
SIZE=${BENCH_SIZE:-64}
PKTGEN=$CL_BIN/gannet-pktgen

cluster_require_root_tools
cluster_require_feature vxlan
cluster_require_bins gannet-pktgen
command -v iperf3 >/dev/null || cl_skip "iperf3 missing"

log() { echo "[bench] $*" >&2; }

median() { sort -g | awk 'NF {a[++n]=$1} END {if (n == 0) print "nan"; else if (n % 2) print a[(n+1)/2]; else print (a[n/2]+a[n/2+1])/2}'; }

# Results: R[<metric>] holds one value per repetition (space separated).
declare -A R=()

# GRO on a pod's host-side veth gives that veth NAPI, which frames sent with
# XDP (gannet-pktgen) need to be received. It is off by default (and for
# the TCP runs), so it is switched on only around the pps runs.
gro() { # node-ns veth on|off
	[ -n "$2" ] && in_ns "$1" ethtool -K "$2" gro "$3" >/dev/null
	return 0
}

# pps METRIC SRC_NS DST_NS DST_IP SRC_NODE_NS SRC_HOST_VETH [pktgen args]
pps() {
	local m=$1 src=$2 dst=$3 ip=$4 node=$5 hv=$6 out v=nan
	shift 6
	gro "$node" "$hv" on
	if out=$("$PKTGEN" run -n "$src" -i eth0 --dst-ip "$ip" --sink-netns "$dst" \
		--sink-dev eth0 -d "$DUR" -s "$SIZE" --cpus 0 --json "$@"); then
		v=$(jq -r .delivered_pps <<<"$out")
		log "  $m: $(jq -r '"sent \(.sent_pps|floor) delivered \(.delivered_pps|floor) pps"' <<<"$out")"
	else
		log "  $m: pktgen failed"
	fi
	gro "$node" "$hv" off
	R[$m]="${R[$m]:-} $v"
}

# tcp METRIC SRC_NS DST_NS DST_IP: iperf3 receiver Gbit/s
tcp() {
	local m=$1 src=$2 dst=$3 ip=$4 out v=nan pid
	ns_bg "$dst" iperf3 -s -1 -B "$ip" -p 5201 >/dev/null 2>&1
	pid=$CL_LAST_PID
	sleep 0.3
	# Not pinned: on a shared machine a pinned iperf3 cannot move away
	# from a CPU another job is using, which made runs far noisier.
	if out=$(in_ns "$src" iperf3 -c "$ip" -p 5201 -t "$DUR" -J 2>/dev/null); then
		v=$(jq -r '.end.sum_received.bits_per_second / 1e9' <<<"$out")
		log "  $m: $v Gbit/s, $(jq -r .end.sum_sent.retransmits <<<"$out") retransmits"
	else
		log "  $m: iperf3 failed"
		kill "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	R[$m]="${R[$m]:-} $v"
}

med() { printf '%s\n' ${R[$1]:-nan} | grep -v '^nan$' | median; }

# A pod netns plugged into a bridge of node netns NODE: veth <hv> in the
# node (in bridge BR), eth0 in the pod with IP/24 and default via GW.
# GRO on the host side gives that veth NAPI, which XDP-transmitted frames
# need to be received (see gannet-pktgen --help).
bridge_pod() {
	local node=$1 br=$2 pod=$3 hv=$4 ip=$5 gw=$6 mtu=$7
	ip netns add "$pod"
	ip -n "$node" link add "$hv" mtu "$mtu" type veth peer name eth0 netns "$pod"
	ip -n "$node" link set "$hv" master "$br" up
	ip -n "$pod" link set lo up
	ip -n "$pod" link set eth0 mtu "$mtu" up
	ip -n "$pod" addr add "$ip/24" dev eth0
	[ -n "$gw" ] && ip -n "$pod" route add default via "$gw"
	return 0
}

# ---------------------------------------------------------------- setups
setup_ceiling() {
	ip netns add "$CL_RUN-xa"
	ip netns add "$CL_RUN-xb"
	ip -n "$CL_RUN-xa" link add eth0 type veth peer name eth0 netns "$CL_RUN-xb"
	ip -n "$CL_RUN-xa" addr add 10.250.9.1/24 dev eth0
	ip -n "$CL_RUN-xb" addr add 10.250.9.2/24 dev eth0
	ip -n "$CL_RUN-xa" link set eth0 up
	ip -n "$CL_RUN-xb" link set eth0 up
}

setup_bridge() {
	local n=$CL_RUN-bn
	ip netns add "$n"
	ip -n "$n" link add cni0 type bridge
	ip -n "$n" addr add 10.250.1.1/24 dev cni0
	ip -n "$n" link set cni0 up
	bridge_pod "$n" cni0 "$CL_RUN-ba" vba 10.250.1.2 10.250.1.1 1500
	bridge_pod "$n" cni0 "$CL_RUN-bb" vbb 10.250.1.3 10.250.1.1 1500
}

# Flannel's vxlan backend on nodes 11 and 12 of the fabric (pod CIDRs
# 10.244.11.0/24 and 10.244.12.0/24): each node has cni0 (.1) and
# flannel.1 (VNI 1, port 8472, no learning), a route per remote pod CIDR
# via the remote flannel.1 address (onlink), and static neigh + fdb entries,
# exactly what flanneld programs.
setup_vxlan() {
	local i j n mac
	for i in 11 12; do
		node_ns_up "$i"
		n=$(node_ns "$i")
		ip -n "$n" link add flannel.1 type vxlan id 1 local "$(node_ip "$i")" dev eth0 \
			dstport 8472 nolearning
		ip -n "$n" link set flannel.1 mtu 1450 up
		ip -n "$n" addr add "10.244.$i.0/32" dev flannel.1
		ip -n "$n" link add cni0 type bridge
		ip -n "$n" link set cni0 mtu 1450
		ip -n "$n" addr add "10.244.$i.1/24" dev cni0
		ip -n "$n" link set cni0 up
		bridge_pod "$n" cni0 "$CL_RUN-v$i" "vp$i" "10.244.$i.2" "10.244.$i.1" 1450
	done
	for i in 11 12; do
		j=$((23 - i))
		n=$(node_ns "$i")
		mac=$(ns_mac "$(node_ns "$j")" flannel.1)
		ip -n "$n" neigh add "10.244.$j.0" lladdr "$mac" dev flannel.1 nud permanent
		in_ns "$n" bridge fdb append "$mac" dev flannel.1 dst "$(node_ip "$j")"
		ip -n "$n" route add "10.244.$j.0/24" via "10.244.$j.0" dev flannel.1 onlink
	done
	in_ns "$CL_RUN-v11" ping -c1 -W2 10.244.12.2 >/dev/null || cl_die "flannel-style vxlan path down"
}

GANNET_OK=0
GANNET_WHY=""
setup_gannet() {
	local p
	if [ ! -x "$CL_BIN/gannet-agent" ] || [ ! -x "$CL_BIN/gannet-cni" ]; then
		GANNET_WHY="gannet-agent/gannet-cni not built"
		return
	fi
	cluster_up 2 || { GANNET_WHY="cluster_up failed"; return; }
	pod_add 1 ga && pod_add 1 gb && pod_add 2 gc || { GANNET_WHY="CNI ADD failed"; return; }
	in_pod ga ping -c1 -W2 "$(pod_ip gb)" >/dev/null &&
		in_pod ga ping -c1 -W2 "$(pod_ip gc)" >/dev/null ||
		{ GANNET_WHY="pods cannot reach each other"; return; }
	GANNET_OK=1
	# Two more nodes with the underlay in XDP mode (the default is tc):
	# the same cross-node path, decapsulated by the XDP program instead.
	if [ "${BENCH_XDP:-1}" = 1 ]; then
		CL_NODE_MODE[3]=xdp
		CL_NODE_MODE[4]=xdp
		if cluster_add_node >/dev/null && cluster_add_node >/dev/null &&
			pod_add 3 gx && pod_add 4 gy &&
			in_pod gx ping -c1 -W2 "$(pod_ip gy)" >/dev/null; then
			GANNET_XDP_OK=1
		else
			log "Gannet XDP-underlay nodes not measured"
		fi
	fi
}
GANNET_XDP_OK=0

# ---------------------------------------------------------------- run
log "setting up (reps=$REPS, ${DUR}s each, ${SIZE}-byte frames)"
setup_ceiling
setup_bridge
setup_vxlan
setup_gannet
[ $GANNET_OK = 1 ] || log "Gannet part not measured: $GANNET_WHY"

# Interleaved: each repetition measures every path once, so a burst of
# load from elsewhere on the machine hits baseline and Gannet alike.
GA_NODE="" GA_VETH=""
if [ $GANNET_OK = 1 ]; then
	GA_NODE=$(node_ns "$(pod_node ga)")
	GA_VETH=$(pod_host_veth ga)
fi
for ((r = 1; r <= REPS; r++)); do
	log "repetition $r/$REPS"
	pps ceiling "$CL_RUN-xa" "$CL_RUN-xb" 10.250.9.2 "" "" --sink-mode xdp
	pps br_pps "$CL_RUN-ba" "$CL_RUN-bb" 10.250.1.3 "$CL_RUN-bn" vba
	pps vx_pps "$CL_RUN-v11" "$CL_RUN-v12" 10.244.12.2 "$(node_ns 11)" vp11
	if [ $GANNET_OK = 1 ]; then
		pps g_local_pps "$(pod_ns ga)" "$(pod_ns gb)" "$(pod_ip gb)" "$GA_NODE" "$GA_VETH"
		pps g_remote_pps "$(pod_ns ga)" "$(pod_ns gc)" "$(pod_ip gc)" "$GA_NODE" "$GA_VETH"
	fi
	tcp br_tcp "$CL_RUN-ba" "$CL_RUN-bb" 10.250.1.3
	tcp vx_tcp "$CL_RUN-v11" "$CL_RUN-v12" 10.244.12.2
	if [ $GANNET_OK = 1 ]; then
		tcp g_local_tcp "$(pod_ns ga)" "$(pod_ns gb)" "$(pod_ip gb)"
		tcp g_remote_tcp "$(pod_ns ga)" "$(pod_ns gc)" "$(pod_ip gc)"
	fi
	if [ $GANNET_XDP_OK = 1 ]; then
		pps gx_remote_pps "$(pod_ns gx)" "$(pod_ns gy)" "$(pod_ip gy)" \
			"$(node_ns 3)" "$(pod_host_veth gx)"
		tcp gx_remote_tcp "$(pod_ns gx)" "$(pod_ns gy)" "$(pod_ip gy)"
	fi
done
ceil=$(med ceiling)
br_pps=$(med br_pps) br_tcp=$(med br_tcp)
vx_pps=$(med vx_pps) vx_tcp=$(med vx_tcp)
g_local_pps=$(med g_local_pps) g_local_tcp=$(med g_local_tcp)
g_remote_pps=$(med g_remote_pps) g_remote_tcp=$(med g_remote_tcp)
gx_remote_pps=$(med gx_remote_pps) gx_remote_tcp=$(med gx_remote_tcp)

# ratio GANNET_METRIC BASE_METRIC TARGET -> "ratio|verdict": the median of
# the per-repetition ratios (each repetition measured both paths back to
# back, so a load burst elsewhere mostly cancels out of its ratio).
ratio() {
	awk -v a="${R[$1]:-}" -v b="${R[$2]:-}" -v t="$3" 'BEGIN {
		na = split(a, x, " "); nb = split(b, y, " ")
		for (i = 1; i <= na && i <= nb; i++)
			if (x[i] != "nan" && y[i] != "nan" && y[i] > 0) r[++n] = x[i] / y[i]
		if (n == 0) { print "n/a|n/a"; exit }
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (r[j] < r[i]) { v = r[i]; r[i] = r[j]; r[j] = v }
		m = (n % 2) ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
		printf "%.2fx|%s\n", m, (t == "-" ? "-" : m >= t ? "met" : "MISSED") }'
}
fmt_pps() { awk -v v="$1" 'BEGIN { if (v == "nan") print "n/a"; else printf "%.2f Mpps", v / 1e6 }'; }
fmt_tcp() { awk -v v="$1" 'BEGIN { if (v == "nan") print "n/a"; else printf "%.2f Gbit/s", v }'; }

row() { # name baseline gannet ratio|verdict target
	printf '| %-36s | %-14s | %-14s | %-7s | %-6s | %-6s |\n' "$1" "$2" "$3" "${4%|*}" "$5" "${4#*|}"
}

table() {
	echo "| ${SIZE}B UDP delivered pps / iperf3 TCP   | baseline       | Gannet         | ratio   | target | result |"
	echo "|--------------------------------------|----------------|----------------|---------|--------|--------|"
	row "XDP_DROP ceiling (veth pair)" "$(fmt_pps "$ceil")" "-" "-|-" "-"
	row "same-node pps (vs Linux bridge)" "$(fmt_pps "$br_pps")" "$(fmt_pps "$g_local_pps")" \
		"$(ratio g_local_pps br_pps 1.8)" "1.8x"
	row "cross-node pps (vs kernel vxlan)" "$(fmt_pps "$vx_pps")" "$(fmt_pps "$g_remote_pps")" \
		"$(ratio g_remote_pps vx_pps 1.3)" "1.3x"
	row "same-node TCP (vs Linux bridge)" "$(fmt_tcp "$br_tcp")" "$(fmt_tcp "$g_local_tcp")" \
		"$(ratio g_local_tcp br_tcp 1.0)" "1.0x"
	row "cross-node TCP (vs kernel vxlan)" "$(fmt_tcp "$vx_tcp")" "$(fmt_tcp "$g_remote_tcp")" \
		"$(ratio g_remote_tcp vx_tcp 1.0)" "1.0x"
	if [ $GANNET_XDP_OK = 1 ]; then
		row "cross-node pps, XDP underlay (info)" "$(fmt_pps "$vx_pps")" "$(fmt_pps "$gx_remote_pps")" \
			"$(ratio gx_remote_pps vx_pps -)" "-"
		row "cross-node TCP, XDP underlay (info)" "$(fmt_tcp "$vx_tcp")" "$(fmt_tcp "$gx_remote_tcp")" \
			"$(ratio gx_remote_tcp vx_tcp -)" "-"
	fi
	echo
	echo "figures: median of $REPS x ${DUR}s; ratios: median of the per-repetition ratios; $(nproc) CPUs; kernel $(uname -r); generator: gannet-pktgen (XDP live frames, 1 thread on CPU 0); iperf3 1 stream"
	[ $GANNET_OK = 1 ] || echo "Gannet not measured: $GANNET_WHY"
}
table
[ -n "${BENCH_MD:-}" ] && table >"$BENCH_MD"
exit 0
