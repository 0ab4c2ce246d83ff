#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Local cluster demo (make demo): two Gannet nodes with two pods each, all in
# network namespaces on this machine. Brings the cluster up (one agent per
# node, pods wired by gannet-cni as a container runtime would), shows pods
# on different nodes talking over ICMP, TCP and UDP through the BPF
# datapath (VXLAN between nodes, no NAT), an iperf3 run, the agents'
# counters, then tears everything down. Exits non-zero if pods cannot talk.
#
#   sudo scripts/demo.sh            (BUILD=build-san for the sanitizer build)
#   DEMO_KEEP=1 scripts/demo.sh     leave the cluster up to poke around
set -u
GANNET_ROOT=$(cd "$(dirname "$0")/.." && pwd)
export GANNET_ROOT
[ "${DEMO_KEEP:-0}" = 1 ] && export CL_KEEP=1
# shellcheck source=../tests/lib/cluster.sh
. "$GANNET_ROOT/tests/lib/cluster.sh"

if [ -t 1 ]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'; else B='' G='' R='' N=''; fi
step() { echo; echo "${B}== $*${N}"; }
pass=0 fail=0
show() { # description, command...
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass=$((pass + 1)); printf '  %s✔%s %s\n' "$G" "$N" "$what"
	else
		fail=$((fail + 1)); printf '  %s✘%s %s\n' "$R" "$N" "$what"
		printf '%s\n' "$out" | tail -n 3 | sed 's/^/      /'
	fi
}

[ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespaces, BPF); try: sudo make demo"; exit 1; }
cluster_require_root_tools
cluster_require_bins gannet-agent gannet-cni
command -v socat >/dev/null || { echo "demo: socat missing (scripts/deps.sh)"; exit 1; }

step "Bringing up 2 nodes (fabric bridge + one gannet-agent per node)"
cluster_up 2 >/dev/null 2>&1 || { echo "demo: cluster failed to start"; cluster_logs; exit 1; }
for n in 1 2; do
	printf '  node%s  underlay %-15s pod CIDR %-14s agent pid %s\n' "$n" "$(node_ip $n)" \
		"$(node_pod_cidr $n)" "$(agent_pid $n)"
done

step "Creating 4 pods with gannet-cni (CNI ADD, as a container runtime does)"
for n in 1 2; do
	for s in a b; do
		pod_add $n "pod$n$s" >/dev/null || { echo "demo: CNI ADD failed"; exit 1; }
		printf '  pod%s%s  on node%s  IP %-12s host veth %s\n' "$n" "$s" "$n" \
			"$(pod_ip pod$n$s)" "$(pod_host_veth pod$n$s)"
	done
done

# Each pod answers TCP and UDP with the address it sees the client come from.
for p in pod1a pod1b pod2a pod2b; do
	pod_bg "$p" socat TCP-LISTEN:7000,fork,reuseaddr 'SYSTEM:read x; echo $SOCAT_PEERADDR' >/dev/null 2>&1
	pod_bg "$p" socat UDP-RECVFROM:7001,fork 'SYSTEM:read x; echo $SOCAT_PEERADDR' >/dev/null 2>&1
done
sleep 0.3

peer_tcp() { in_pod "$1" socat -T3 - "TCP:$(pod_ip "$2"):7000,connect-timeout=3" </dev/null; }
peer_udp() { echo hi | in_pod "$1" socat -T2 -t0.5 - "UDP:$(pod_ip "$2"):7001"; }
expect_peer() { # proto src dst
	local got
	got=$("peer_$1" "$2" "$3") || return 1
	[ "$got" = "$(pod_ip "$2")" ] || { echo "server saw '$got', expected $(pod_ip "$2")"; return 1; }
}

step "Cross-node traffic (VXLAN encapsulated in BPF between node1 and node2)"
for pair in "pod1a pod2a" "pod1b pod2b" "pod2a pod1b" "pod2b pod1a"; do
	set -- $pair
	show "ping  $1 ($(pod_ip $1)) -> $2 ($(pod_ip $2))" in_pod "$1" ping -c2 -i0.2 -W2 "$(pod_ip $2)"
	show "TCP   $1 -> $2: server sees source $(pod_ip $1) (no NAT)" expect_peer tcp "$1" "$2"
	show "UDP   $1 -> $2: server sees source $(pod_ip $1)" expect_peer udp "$1" "$2"
done

step "Same-node traffic (redirected straight into the peer pod, no bridge)"
show "ping  pod1a -> pod1b" in_pod pod1a ping -c2 -i0.2 -W2 "$(pod_ip pod1b)"
show "TCP   pod2b -> pod2a: server sees source $(pod_ip pod2b)" expect_peer tcp pod2b pod2a

if command -v iperf3 >/dev/null; then
	step "iperf3 TCP, pod1a -> pod2a across nodes (2 s)"
	pod_bg pod2a iperf3 -s -1 -p 5201 >/dev/null 2>&1
	sleep 0.3
	if out=$(in_pod pod1a iperf3 -c "$(pod_ip pod2a)" -p 5201 -t 2 -J 2>/dev/null); then
		show "iperf3: $(jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | floor / 100' <<<"$out") Gbit/s, $(jq -r '.end.sum_sent.retransmits' <<<"$out") retransmits" true
	else
		show "iperf3 transfer" false
	fi
fi

step "Agent counters (GET /metrics on node1)"
if command -v curl >/dev/null; then
	in_node 1 curl -s --max-time 2 "http://$(node_ip 1):9962/metrics" 2>/dev/null |
		grep -E '^gannet_(forwarded|dropped)_packets_total' | grep -v ' 0$' | sed 's/^/  /' | head -n 12
fi

step "Summary"
total=$((pass + fail))
if [ $fail -eq 0 ]; then
	echo "  ${G}${B}PASS${N}: 4 pods on 2 nodes talk to each other ($pass/$total checks), source IPs preserved."
else
	echo "  ${R}${B}FAIL${N}: $fail of $total checks failed."
	cluster_logs
fi
if [ "${DEMO_KEEP:-0}" = 1 ]; then
	echo "  DEMO_KEEP=1: cluster left up (namespaces $CL_RUN-*; e.g. nsenter --net=/run/netns/$(pod_ns pod1a) ping $(pod_ip pod2a))"
else
	echo "  Tearing down: agents stopped, namespaces, pins ($CL_PIN) and state ($CL_DIR) removed."
fi
[ $fail -eq 0 ]
