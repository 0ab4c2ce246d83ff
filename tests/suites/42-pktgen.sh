#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# gannet-pktgen on a veth pair in two throwaway namespaces:
#   - count mode sends exactly N frames and both sinks (XDP, tc) count
#     exactly N delivered, with the right byte count for the frame size;
#   - the sink only takes the generator's frames (ping still works through
#     it) and detaches cleanly (no filter / XDP program left);
#   - separate send and sink commands agree;
#   - frames are well-formed (the receiver's IP stack accepts them: UDP
#     datagrams to a listening socket arrive when no sink is attached);
#   - bad options are rejected with exit status 2.
set -u
GANNET_ROOT=${GANNET_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$GANNET_ROOT/tests/lib/cluster.sh"
cluster_require_root_tools
cluster_require_bins gannet-pktgen
PG=$CL_BIN/gannet-pktgen
A=$CL_RUN-pa
B=$CL_RUN-pb

ip netns add "$A"
ip netns add "$B"
ip -n "$A" link add eth0 type veth peer name eth0 netns "$B"
ip -n "$A" addr add 10.251.0.1/24 dev eth0
ip -n "$B" addr add 10.251.0.2/24 dev eth0
ip -n "$A" link set eth0 up
ip -n "$B" link set eth0 up
ip -n "$A" link set lo up
ip -n "$B" link set lo up
in_ns "$A" ping -c1 -W2 -w5 10.251.0.2 >/dev/null || { echo "veth pair not up"; exit 1; }

run_json() { "$PG" run -n "$A" -i eth0 --dst-ip 10.251.0.2 --sink-netns "$B" --sink-dev eth0 --json "$@"; }

# XDP sink: a veth with an XDP program at the peer accepts XDP-sent frames.
out=$(run_json --sink-mode xdp -c 100000 -s 64)
t_check "xdp sink: sent 100000" test "$(jq .sent <<<"$out")" = 100000
t_check "xdp sink: delivered 100000" test "$(jq .delivered <<<"$out")" = 100000
t_check "xdp sink: 64-byte frames" test "$(jq .delivered_bytes <<<"$out")" = 6400000
t_check "xdp sink: engine is XDP live frames" test "$(jq -r .engine <<<"$out")" = xdp-live-frames
t_check "xdp sink: detached afterwards" bash -c "! ip -n '$B' link show eth0 | grep -q xdp"

# tc sink: the peer needs NAPI (GRO on) to receive XDP-transmitted frames.
in_ns "$B" ethtool -K eth0 gro on >/dev/null
out=$(run_json --sink-mode tc -c 50000 -s 128 --flows 16)
t_check "tc sink: delivered 50000 of 50000 (128 B, 16 flows)" \
	test "$(jq -r '"\(.sent) \(.delivered)"' <<<"$out")" = "50000 50000"
t_check "tc sink: 128-byte frames" test "$(jq .delivered_bytes <<<"$out")" = 6400000
t_check "tc sink: filter removed afterwards" \
	test -z "$(tc -n "$B" filter show dev eth0 ingress 2>/dev/null)"

# Duration mode with 2 threads reports a rate.
out=$(run_json --sink-mode xdp -d 1 -t 2)
t_check "duration mode: ~1 s, rate > 0, all delivered" \
	awk -v s="$(jq .seconds <<<"$out")" -v p="$(jq .delivered_pps <<<"$out")" \
	-v r="$(jq .delivered_ratio <<<"$out")" 'BEGIN { exit !(s >= 0.9 && s < 3 && p > 0 && r > 0.5) }'

# Separate sink and send processes; ping passes through the attached sink.
"$PG" sink -n "$B" -i eth0 --sink-mode xdp -d 4 --json >"$CL_DIR/sink.json" 2>"$CL_DIR/sink.err" &
sink=$!
sleep 1
t_check "ping passes while the sink is attached" in_ns "$A" ping -c2 -i0.2 -W2 10.251.0.2
t_check "send: 20000 frames" "$PG" send -n "$A" -i eth0 --dst-ip 10.251.0.2 -c 20000
wait $sink
t_check "sink counted exactly the 20000 sent frames" test "$(jq .delivered "$CL_DIR/sink.json")" = 20000

# Well-formed frames: without a sink they go up B's IP stack, which checks
# the IPv4 header checksum and lengths before UDP counts them (delivered to
# a socket or "no port": either way accepted).
udp_seen() {
	nsenter --net="/run/netns/$B" nstat -az UdpInDatagrams UdpNoPorts |
		awk '/^Udp/ { n += $2 } END { print n + 0 }'
}
before=$(udp_seen)
t_check "send 200 frames to B's IP stack" "$PG" send -n "$A" -i eth0 --dst-ip 10.251.0.2 -c 200 -s 80
sleep 0.5
after=$(udp_seen)
t_check "all 200 accepted by the receiver's IP stack ($before -> $after)" test $((after - before)) -ge 200

# Bad input.
"$PG" run -i eth0 --size 20 --dst-ip 10.0.0.1 >/dev/null 2>&1
t_check "--size 20 rejected (exit 2)" test $? = 2
"$PG" bogus >/dev/null 2>&1
t_check "unknown command rejected (exit 2)" test $? = 2
"$PG" send -n "$A" -i nosuchdev --dst-ip 10.251.0.2 -c 1 >/dev/null 2>&1
t_check "missing device fails (exit 1)" test $? = 1

t_done
