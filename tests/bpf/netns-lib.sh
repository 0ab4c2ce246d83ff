# SPDX-License-Identifier: Apache-2.0
# Two-node datapath topology for the BPF/dataplane tests and measurements,
# built only from network namespaces (nothing touches the root netns):
#   fabric ns  <sfx>-f : bridge br0
#   node ns    <sfx>-n1/-n2 : ul0 192.168.77.{1,2}/24 (veth to br0),
#                             pod CIDR 10.244.{1,2}.0/24
#   pod ns     <sfx>-p1a, -p1b on n1 (10.244.1.2/.3), -p2a on n2 (10.244.2.2)
# Pods are wired as the agent wires them (IP/32, default via 169.254.1.1
# onlink, permanent neighbour to the host veth MAC; node route podIP/32 dev
# gntX + permanent neighbour). Source after setting SFX, PINROOT, GDP
# (gannet-dp binary). nsenter keeps the mount ns so bpffs stays visible.

NSX() { local ns=$1; shift; nsenter --net=/run/netns/"$ns" "$@"; }

topo_cleanup() {
	for ns in $SFX-p1a $SFX-p1b $SFX-p2a $SFX-n1 $SFX-n2 $SFX-f; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$PINROOT" 2>/dev/null
}

# topo_pod NODE_IDX POD_SUFFIX IP HOSTIF MTU
topo_pod() {
	local n=$1 p=$2 ip=$3 hif=$4 mtu=$5
	local node=$SFX-n$n pod=$SFX-p$p hmac pmac
	ip netns add "$pod"
	NSX "$node" ip link add "$hif" mtu "$mtu" type veth peer name eth0 mtu "$mtu" netns "$pod"
	NSX "$node" ip link set "$hif" up
	NSX "$pod" ip link set lo up
	NSX "$pod" ip link set eth0 up
	NSX "$pod" ip addr add "$ip/32" dev eth0
	# not /sys/class/net: nsenter keeps the root netns's sysfs mount
	hmac=$(NSX "$node" ip -j link show "$hif" | jq -r '.[0].address')
	pmac=$(NSX "$pod" ip -j link show eth0 | jq -r '.[0].address')
	NSX "$pod" ip route add 169.254.1.1 dev eth0 scope link
	NSX "$pod" ip route add default via 169.254.1.1 dev eth0 onlink
	NSX "$pod" ip neigh add 169.254.1.1 lladdr "$hmac" dev eth0 nud permanent
	NSX "$node" ip route add "$ip/32" dev "$hif"
	NSX "$node" ip neigh add "$ip" lladdr "$pmac" dev "$hif" nud permanent
	[ -n "${TOPO_BASELINE:-}" ] && return 0
	NSX "$node" "$GDP" -r "$PINROOT" -n node$n ep-add --ip "$ip" --ifname "$hif" --mac "$pmac" \
		--identity $((100 + n))
}

# Baseline for measurements: same nodes and pod wiring, but cross-node
# traffic goes through a kernel vxlan device (flannel's VXLAN backend:
# static fdb/neigh, UDP 8472) and the nodes' routing; no BPF at all.
topo_baseline_vxlan() {
	local n m mac
	for n in 1 2; do
		NSX "$SFX-n$n" ip link add vx0 mtu $((${1:-1500} - 50)) type vxlan id 1 \
			local 192.168.77.$n dev ul0 dstport 8472 nolearning
		NSX "$SFX-n$n" ip link set vx0 up
	done
	for n in 1 2; do
		m=$((3 - n))
		mac=$(NSX "$SFX-n$m" ip -j link show vx0 | jq -r '.[0].address')
		NSX "$SFX-n$n" ip route add 10.244.$m.0/24 via 10.244.$m.0 dev vx0 onlink
		NSX "$SFX-n$n" ip neigh add 10.244.$m.0 lladdr "$mac" dev vx0 nud permanent
		NSX "$SFX-n$n" bridge fdb append "$mac" dev vx0 dst 192.168.77.$m
	done
}

# topo_up MODE(tc|xdp|baseline) [UNDERLAY_MTU]
topo_up() {
	local mode=$1 mtu=${2:-1500} n
	ip netns add "$SFX-f"
	NSX "$SFX-f" ip link add br0 type bridge
	NSX "$SFX-f" ip link set br0 up
	for n in 1 2; do
		ip netns add "$SFX-n$n"
		NSX "$SFX-n$n" ip link set lo up
		NSX "$SFX-n$n" sysctl -qw net.ipv4.ip_forward=1
		NSX "$SFX-n$n" ip link add ul0 mtu "$mtu" type veth peer name n$n mtu "$mtu" netns "$SFX-f"
		NSX "$SFX-f" ip link set n$n master br0 up
		NSX "$SFX-n$n" ip addr add 192.168.77.$n/24 dev ul0
		NSX "$SFX-n$n" ip link set ul0 up
		[ "$mode" = baseline ] && continue
		NSX "$SFX-n$n" "$GDP" -r "$PINROOT" -n node$n open --underlay ul0 \
			--node-ip 192.168.77.$n --pod-cidr 10.244.$n.0/24 --cluster-cidr 10.244.0.0/16 \
			--mode "$mode" || return 1
	done
	if [ "$mode" = baseline ]; then
		TOPO_BASELINE=1
		topo_baseline_vxlan "$mtu"
	else
		TOPO_BASELINE=
		NSX "$SFX-n1" "$GDP" -r "$PINROOT" -n node1 remote-add --cidr 10.244.2.0/24 \
			--node-ip 192.168.77.2 || return 1
		NSX "$SFX-n2" "$GDP" -r "$PINROOT" -n node2 remote-add --cidr 10.244.1.0/24 \
			--node-ip 192.168.77.1 || return 1
		# nodes reach remote pods through the underlay (no tunnel needed)
		NSX "$SFX-n1" ip route add 10.244.2.0/24 via 192.168.77.2
		NSX "$SFX-n2" ip route add 10.244.1.0/24 via 192.168.77.1
	fi
	local pmtu=$((mtu - 50))
	topo_pod 1 1a 10.244.1.2 gnt1a "$pmtu" || return 1
	topo_pod 1 1b 10.244.1.3 gnt1b "$pmtu" || return 1
	topo_pod 2 2a 10.244.2.2 gnt2a "$pmtu" || return 1
}

# stat_get NODE_IDX KIND(forward|drop) NAME -> packets
stat_get() {
	NSX "$SFX-n$1" "$GDP" -r "$PINROOT" -n node$1 -j stats | jq -r ".$2[\"$3\"].packets"
}
