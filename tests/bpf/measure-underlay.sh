#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Measures the cross-node datapath in each underlay mode against the kernel
# vxlan device (flannel-style VXLAN, same pod wiring), in one run, in
# namespaces: TCP (iperf3, receiver Gbit/s) and 64-byte UDP delivered pps
# (gannet-pktgen live frames out of pod 1a's eth0, counted at pod 2a's eth0).
# Used to choose the default underlay mode (docs/datapath.md). Root only.
#   tests/bpf/measure-underlay.sh [DURATION_SEC]
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
GDP=$PWD/$BUILD/bin/gannet-dp
PKTGEN=$PWD/$BUILD/bin/gannet-pktgen
DUR=${1:-3}
SFX=gm$$ PINROOT=/sys/fs/bpf/gannet-test-$$
. tests/bpf/netns-lib.sh
trap topo_cleanup EXIT

measure() {
	local mode=$1 tcp pps log
	topo_cleanup
	topo_up "$mode" >/dev/null || { echo "topology $mode failed" >&2; return 1; }
	# XDP-transmitted frames need NAPI on the receiving veth (pktgen)
	NSX $SFX-n1 ethtool -K gnt1a gro on >/dev/null
	log=$(mktemp)
	NSX $SFX-p2a iperf3 -s -1 -D -B 10.244.2.2 --logfile "$log"
	sleep 0.3
	tcp=$(NSX $SFX-p1a iperf3 -c 10.244.2.2 -t "$DUR" -J | jq '.end.sum_received.bits_per_second / 1e9')
	rm -f "$log"
	pps=$("$PKTGEN" run -n $SFX-p1a -i eth0 --dst-ip 10.244.2.2 --sink-netns $SFX-p2a \
		--sink-dev eth0 -d "$DUR" -s 64 --cpus 0 --json | jq '.delivered_pps')
	printf '%-10s %10.2f %12.0f\n' "$mode" "$tcp" "$pps"
}

printf '%-10s %10s %12s\n' mode "TCP Gb/s" "UDP64 pps"
for m in baseline tc xdp; do measure $m; done
