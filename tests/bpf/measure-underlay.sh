#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Measures the cross-node datapath in each underlay mode against the kernel
# vxlan device (flannel-style VXLAN, same pod wiring), in one run, in
# namespaces: TCP (iperf3, receiver Gbit/s) and 64-byte UDP delivered pps
# (gannet-pktgen live frames out of pod 1a's eth0, counted at pod 2a's eth0).
# All topologies exist at once and the repetitions are interleaved, so load
# from other jobs hits every mode alike; medians are printed with ratios to
# the baseline. Used to choose the default underlay mode (docs/datapath.md).
# Root only.
#   tests/bpf/measure-underlay.sh [DURATION_SEC] [REPS]
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
GDP=$PWD/$BUILD/bin/gannet-dp
PKTGEN=$PWD/$BUILD/bin/gannet-pktgen
DUR=${1:-3}
REPS=${2:-3}
read -r -a MODES <<<"${MODES:-baseline tc xdp}"
. tests/bpf/netns-lib.sh

use() { SFX=gm$$$1; PINROOT=/sys/fs/bpf/gannet-test-$$-$1; }
cleanup_all() { for m in "${MODES[@]}"; do use $m; topo_cleanup; done; }
trap cleanup_all EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -A TCP PPS
for m in "${MODES[@]}"; do
	use $m
	topo_up $m >/dev/null || { echo "topology $m failed" >&2; exit 1; }
	# XDP-transmitted frames need NAPI on the receiving veth (pktgen)
	NSX $SFX-n1 ethtool -K gnt1a gro on >/dev/null
done
for ((r = 0; r < REPS; r++)); do
	for m in "${MODES[@]}"; do
		use $m
		NSX $SFX-p2a iperf3 -s -1 -D -B 10.244.2.2 --logfile /dev/null
		sleep 0.3
		TCP[$m]+="$(NSX $SFX-p1a iperf3 -c 10.244.2.2 -t "$DUR" -J |
			jq '.end.sum_received.bits_per_second / 1e9') "
		PPS[$m]+="$("$PKTGEN" run -n $SFX-p1a -i eth0 --dst-ip 10.244.2.2 --sink-netns $SFX-p2a \
			--sink-dev eth0 -d "$DUR" -s 64 --cpus 0 --json | jq '.delivered_pps') "
	done
done
printf '| %-8s | %9s | %6s | %11s | %6s |\n' mode "TCP Gb/s" ratio "UDP64 pps" ratio
printf '|----------|-----------|--------|-------------|--------|\n'
bt=$(tr ' ' '\n' <<<"${TCP[baseline]}" | grep . | median)
bp=$(tr ' ' '\n' <<<"${PPS[baseline]}" | grep . | median)
for m in "${MODES[@]}"; do
	t=$(tr ' ' '\n' <<<"${TCP[$m]}" | grep . | median)
	p=$(tr ' ' '\n' <<<"${PPS[$m]}" | grep . | median)
	printf '| %-8s | %9.2f | %6.2f | %11.0f | %6.2f |\n' $m "$t" "$(awk -v a="$t" -v b="$bt" 'BEGIN{print a/b}')" \
		"$p" "$(awk -v a="$p" -v b="$bp" 'BEGIN{print a/b}')"
done
echo "(median of $REPS x ${DUR}s; raw TCP: ${TCP[*]}; raw pps: ${PPS[*]})"
