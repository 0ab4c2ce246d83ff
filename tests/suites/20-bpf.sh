#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# BPF datapath: (1) BPF_PROG_RUN table tests of the pod/underlay programs
# (tests/bpf/test_bpf.c); (2) the same programs live in a two-node netns
# topology driven through libgannet-dataplane (gannet-dp): same-node and
# cross-node pod traffic, no NAT, GSO through the encap, pod<->node, the
# counters, re-open reconciling without duplicates or packet loss, XDP mode,
# and dp_destroy removing everything. Nothing touches the root netns.
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
GDP=$PWD/$BUILD/bin/gannet-dp
TB=$PWD/$BUILD/tests/test_bpf

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (BPF, netns)"
mountpoint -q /sys/fs/bpf || skip "bpffs not mounted at /sys/fs/bpf"
[ -x "$TB" ] && [ -x "$GDP" ] || { echo "build first: $TB $GDP"; exit 1; }
for t in ip nsenter jq ping iperf3; do
	command -v $t >/dev/null || skip "$t not installed"
done

fails=0
ok()   { echo "ok   $*"; }
bad()  { echo "FAIL $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

SFX=gb$$ PINROOT=/sys/fs/bpf/gannet-test-$$
. tests/bpf/netns-lib.sh
trap 'topo_cleanup; rm -rf $PINROOT-prog' EXIT

echo "== BPF_PROG_RUN tests"
GNT_TEST_PINDIR=$PINROOT-prog "$TB" || bad "test_bpf"

pings() { NSX "$1" ping -c 2 -i 0.2 -W 1 "$2" >/dev/null; }
pings_q() { local ns=$1; shift; NSX "$ns" ping -c 1 -W 1 "$@" >/dev/null; }
nfilters() { NSX "$1" tc filter show dev "$2" ingress | grep -c "handle 0x6a7"; }

for mode in tc xdp; do
	echo "== live datapath, underlay mode $mode"
	topo_cleanup
	topo_up $mode || { bad "topology ($mode)"; continue; }
	l0=$(stat_get 1 forward local-redirect)
	check "$mode: same-node pod->pod" pings $SFX-p1a 10.244.1.3
	check "$mode: cross-node pod->pod" pings $SFX-p1a 10.244.2.2
	check "$mode: cross-node pod->pod (reverse)" pings $SFX-p2a 10.244.1.3
	check "$mode: pod->own node IP" pings $SFX-p1a 192.168.77.1
	check "$mode: node->own pod" pings $SFX-n1 10.244.1.2
	check "$mode: node->remote pod" pings $SFX-n1 10.244.2.2
	l1=$(stat_get 1 forward local-redirect)
	check "$mode: local-redirect counted" [ $((l1 - l0)) -ge 4 ]
	check "$mode: encap counted" [ "$(stat_get 1 forward vxlan-encap)" -ge 2 ]
	if [ $mode = tc ]; then
		check "tc: decap counted" [ "$(stat_get 2 forward vxlan-decap)" -ge 2 ]
	else
		check "xdp: XDP decap counted" [ "$(stat_get 2 forward xdp-decap-pass)" -ge 2 ]
		check "xdp: program attached as link" \
			test -e $PINROOT/node1/link_underlay_xdp
	fi
	check "$mode: no drop for pod IPv4" [ "$(stat_get 1 drop spoofed-source)" = 0 ]
	if [ $mode = tc ]; then
		# pod MTU too big for the tunnel: ICMP frag-needed teaches it 1450
		NSX $SFX-n1 ip link set gnt1b mtu 1500
		NSX $SFX-p1b ip link set eth0 mtu 1500
		NSX $SFX-p1b ping -M do -s 1472 -c 1 -W 1 10.244.2.2 >/dev/null 2>&1
		check "tc: PMTU learned from our ICMP" \
			bash -c "nsenter --net=/run/netns/$SFX-p1b ip route get 10.244.2.2 | grep -q 'mtu 1450'"
		check "tc: 1450-byte DF ping passes after" pings_q \
			$SFX-p1b -M do -s 1422 10.244.2.2
		check "tc: too-big counted" [ "$(stat_get 1 drop too-big-for-underlay)" -ge 1 ]
		# upgrade path: a pinned map with another layout is replaced, not fatal
		mkdir -p $PINROOT/upg
		bpftool map create $PINROOT/upg/gnt_stats type array key 4 value 8 entries 1 name gnt_stats
		check "tc: open over an incompatible pinned map" \
			NSX $SFX-n1 "$GDP" -r $PINROOT -n upg open --node-ip 192.168.77.1 --pod-cidr 10.244.1.0/24
		check "tc: incompatible map re-created" \
			[ "$(bpftool -j map show pinned $PINROOT/upg/gnt_stats | jq .max_entries)" = 128 ]
		NSX $SFX-n1 "$GDP" -r $PINROOT -n upg open --node-ip 192.168.77.1 \
			--pod-cidr 10.244.1.0/24 --max-endpoints 100 --max-ipcache 50 >/dev/null 2>&1
		check "tc: configured map sizes" [ "$(bpftool -j map show pinned $PINROOT/upg/gnt_endpoints |
			jq .max_entries) $(bpftool -j map show pinned $PINROOT/upg/gnt_ipcache | jq .max_entries)" = "100 50" ]
		NSX $SFX-n1 "$GDP" -r $PINROOT -n upg destroy
		check "tc: destroy without underlay" test ! -e $PINROOT/upg
	fi

	# same-node TCP (bpf_redirect branch), receiver sees the pod IP
	log=$(mktemp)
	NSX $SFX-p1b iperf3 -s -1 -D -B 10.244.1.3 --logfile "$log"
	sleep 0.3
	if NSX $SFX-p1a iperf3 -c 10.244.1.3 -t 1 -f m >"$log.c" 2>&1; then
		ok "$mode: iperf3 TCP same-node: $(grep receiver "$log.c" | awk '{print $7, $8}')"
	else
		bad "$mode: iperf3 TCP same-node"; cat "$log.c"
	fi
	sleep 0.2
	check "$mode: same-node receiver sees sender pod IP" grep -q "Accepted connection from 10.244.1.2" "$log"
	rm -f "$log" "$log.c"

	# TCP through the tunnel: receiver sees the pod IP (no NAT)
	log=$(mktemp)
	NSX $SFX-p2a iperf3 -s -1 -D -B 10.244.2.2 --logfile "$log"
	sleep 0.3
	before=$(NSX $SFX-n1 "$GDP" -r $PINROOT -n node1 -j stats | jq '.forward["vxlan-encap"]')
	if NSX $SFX-p1a iperf3 -c 10.244.2.2 -t 2 -f m >"$log.c" 2>&1; then
		ok "$mode: iperf3 TCP cross-node: $(grep receiver "$log.c" | awk '{print $7, $8}')"
	else
		bad "$mode: iperf3 TCP cross-node"; cat "$log.c"
	fi
	sleep 0.2
	check "$mode: receiver sees sender pod IP" grep -q "Accepted connection from 10.244.1.2" "$log"
	after=$(NSX $SFX-n1 "$GDP" -r $PINROOT -n node1 -j stats | jq '.forward["vxlan-encap"]')
	pk=$(( $(jq .packets <<<"$after") - $(jq .packets <<<"$before") ))
	by=$(( $(jq .bytes <<<"$after") - $(jq .bytes <<<"$before") ))
	[ $pk -gt 0 ] || pk=1
	echo "     encap: $pk packets, avg $((by / pk)) bytes"
	# GSO super-packets (> MTU) went through the BPF encap whole
	check "$mode: TCP encap kept GSO super-packets" [ $((by / pk)) -gt 1500 ]
	rm -f "$log" "$log.c"

	# Re-open = agent restart: maps kept, filters replaced not duplicated,
	# no loss for traffic running across the restarts.
	NSX $SFX-p1a ping -q -i 0.01 -c 300 -W 1 10.244.2.2 >"/tmp/$SFX.ping" 2>&1 &
	ppid=$!
	for i in 1 2 3; do
		NSX $SFX-n1 "$GDP" -r $PINROOT -n node1 open --underlay ul0 --node-ip 192.168.77.1 \
			--pod-cidr 10.244.1.0/24 --cluster-cidr 10.244.0.0/16 --mode $mode >/dev/null ||
			bad "$mode: re-open $i"
		sleep 0.3
	done
	wait $ppid
	check "$mode: no loss across 3 re-opens" grep -q " 0% packet loss" "/tmp/$SFX.ping"
	grep "packet loss" "/tmp/$SFX.ping" | sed 's/^/     /'
	rm -f "/tmp/$SFX.ping"
	check "$mode: one filter on ul0 after re-open" [ "$(nfilters $SFX-n1 ul0)" = 1 ]
	check "$mode: one filter on pod veth after re-open" [ "$(nfilters $SFX-n1 gnt1a)" = 1 ]
	check "$mode: endpoints kept" [ "$(NSX $SFX-n1 "$GDP" -r $PINROOT -n node1 -j show | jq '.endpoints|length')" = 2 ]
	check "$mode: remotes kept" [ "$(NSX $SFX-n1 "$GDP" -r $PINROOT -n node1 -j show | jq '.remotes|length')" = 1 ]
	if [ $mode = xdp ]; then
		check "xdp: one XDP program" [ "$(NSX $SFX-n1 ip -d link show ul0 | grep -c 'prog/xdp')" = 1 ]
	fi

	# endpoint delete: traffic to it is dropped, counted and reported
	NSX $SFX-n1 "$GDP" -r $PINROOT -n node1 ep-del --ip 10.244.1.3
	d0=$(stat_get 1 drop no-local-endpoint)
	NSX $SFX-n1 "$GDP" -r $PINROOT -n node1 -j monitor --timeout 2 >"/tmp/$SFX.ev" &
	mpid=$!
	sleep 0.3
	NSX $SFX-p1a ping -c 1 -W 1 10.244.1.3 >/dev/null 2>&1
	wait $mpid
	check "$mode: deleted endpoint -> no-local-endpoint drop" [ "$(stat_get 1 drop no-local-endpoint)" -gt "$d0" ]
	check "$mode: drop event reported" \
		[ "$(jq -r 'select(.reason == "no-local-endpoint") |
			"\(.reason) \(.hook) \(.saddr) \(.daddr) \(.proto)"' "/tmp/$SFX.ev")" = \
		  "no-local-endpoint pod 10.244.1.2 10.244.1.3 1" ]
	rm -f "/tmp/$SFX.ev"

	# destroy removes the pins and every attachment
	NSX $SFX-n1 "$GDP" -r $PINROOT -n node1 destroy --underlay ul0
	check "$mode: destroy removed pin dir" test ! -e $PINROOT/node1
	check "$mode: destroy removed ul0 filter" [ "$(nfilters $SFX-n1 ul0)" = 0 ]
	check "$mode: destroy removed veth filter" [ "$(nfilters $SFX-n1 gnt1a)" = 0 ]
	check "$mode: destroy removed XDP" [ "$(NSX $SFX-n1 ip -d link show ul0 | grep -c 'prog/xdp')" = 0 ]
done

echo
if [ $fails -gt 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "all checks passed"
