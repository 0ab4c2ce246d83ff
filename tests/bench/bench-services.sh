#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Services: Gannet's BPF service path vs kube-proxy-shaped iptables rules,
# with 1 / 1,000 / 10,000 / 100,000 ClusterIP services (2 backends each),
# all in the same run:
#  - Gannet (tests/bench/svc_bench.c, through libgannet-dataplane, pins
#    under /sys/fs/bpf/gannet-test-*, nothing attached): pod program ns per
#    packet by BPF_PROG_RUN for a packet of an established service flow
#    (conntrack hit), the first packet of new flows, and a non-service pod
#    packet (baseline); time to program all services from scratch and one
#    change (median of 101).
#  - iptables (in a throwaway netns): KUBE-SERVICES -> KUBE-SVC-* ->
#    KUBE-SEP-* with `-m statistic --mode random --probability` and DNAT in
#    the nat table, exactly kube-proxy's shape; iptables-restore from
#    scratch, and one change as kube-proxy's sync writes it (the whole
#    ruleset restored); cost of a new flow's first packet (it traverses
#    KUBE-SERVICES; later packets hit conntrack) as the increase over the
#    same sender with no rules.
#  - NodePort at XDP, live frames: gannet-pktgen sends 64-byte UDP frames
#    from the fabric end of node 1's underlay veth to node IP:30080
#    (underlay in XDP mode), delivered pps counted in the backend pod
#    (XDP_PASS + tc delivery, and XDP_REDIRECT into the pod's veth), vs the
#    same frames to the pod IP untranslated and the XDP_DROP ceiling of a
#    plain veth pair, same generator; and NodePort to a backend on node 2
#    (DNAT+SNAT+VXLAN and XDP_REDIRECT at node 1, delivered in the pod).
#  - ClusterIP per packet, live frames: delivered pps through the pod
#    program vs the kube-proxy iptables ruleset at LF_COUNTS services.
# Env: SVC_COUNTS (default "1 1000 10000 100000"), IPT_MAX (largest count
# tried with iptables, default 100000), NP_DUR (seconds per pps run, 3),
# NP_REPS (runs, median, 3), LF_COUNTS (live ClusterIP, "1 1000 10000").
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
SB=$PWD/$BUILD/tests/svc_bench
COUNTS=${SVC_COUNTS:-1 1000 10000 100000}
IPT_MAX=${IPT_MAX:-100000}

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
mountpoint -q /sys/fs/bpf || skip "bpffs not mounted"
[ -x "$SB" ] || { echo "build first: $SB" >&2; exit 1; }
for t in iptables-restore python3 nsenter jq; do command -v $t >/dev/null || skip "$t missing"; done

NP_DUR=${NP_DUR:-3}
NP_REPS=${NP_REPS:-3}
PKTGEN=$PWD/$BUILD/bin/gannet-pktgen
GDP=$PWD/$BUILD/bin/gannet-dp
NS=gnt-svcb-$$
PIN=/sys/fs/bpf/gannet-test-svcb-$$
TMP=$(mktemp -d)
SFX=gsvb$$ PINROOT=/sys/fs/bpf/gannet-test-svcbt-$$
. tests/bpf/netns-lib.sh
cleanup() {
	lf_down 2>/dev/null
	ip netns del $NS 2>/dev/null; ip netns del $NS-xa 2>/dev/null; ip netns del $NS-xb 2>/dev/null
	topo_cleanup; rm -rf "$PIN" "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mkdir -p "$PIN"
ip netns add $NS
nsx() { nsenter --net=/run/netns/$NS "$@"; }
nsx ip link set lo up
nsx ip route add 10.96.0.0/12 dev lo
nsx ip route add 10.244.0.0/16 dev lo

# kube-proxy-shaped ruleset for N services; $2 = generation (one change:
# service N/2 gets other backends); $3: one IP:PORT every DNAT goes to
# (live-frames runs), default a pool of 2000 pod IPs, port 8080
gen_rules() {
	python3 - "$1" "$2" "${3:-}" <<'PY'
import sys
n, gen, tgt = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
out = ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
       ":POSTROUTING ACCEPT [0:0]", ":KUBE-SERVICES - [0:0]"]
chains, rules = [], []
def ip(i):
    i += 1
    return "10.96.%d.%d" % (i >> 8 & 255, i & 255) if i < 65536 else "10.%d.%d.%d" % (96 + (i >> 16), i >> 8 & 255, i & 255)
def pod(k):
    if tgt:
        return tgt
    k %= 2000
    return "10.244.%d.%d" % (1 + k // 250, 2 + k % 250)
for i in range(n):
    svc = "KUBE-SVC-%012X" % i
    chains.append(":%s - [0:0]" % svc)
    rules.append("-A KUBE-SERVICES -d %s/32 -p udp -m comment --comment \"ns/svc-%d:http cluster IP\" -m udp --dport 80 -j %s" % (ip(i), i, svc))
    g = gen if i == n // 2 else 0
    for k in range(2):
        sep = "KUBE-SEP-%011X%d" % (i, k)
        chains.append(":%s - [0:0]" % sep)
        if k == 0:
            rules.append("-A %s -m comment --comment ns/svc-%d:http -m statistic --mode random --probability 0.50000000000 -j %s" % (svc, i, sep))
        else:
            rules.append("-A %s -m comment --comment ns/svc-%d:http -j %s" % (svc, i, sep))
        rules.append("-A %s -p udp -m comment --comment ns/svc-%d:http -m udp -j DNAT --to-destination %s" % (sep, i, pod(i * 2 + k + g) if tgt else pod(i * 2 + k + g) + ":8080"))
out += chains
out += ["-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
        "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"]
out += rules
out.append("COMMIT")
print("\n".join(out))
PY
}

# mean ns per first packet of a new UDP flow to the VIP of service $1
# (a fresh socket per packet = a fresh source port = a conntrack miss)
new_flow_ns() {
	nsx python3 - "$1" "$2" <<'PY'
import socket, sys, time
i, count = int(sys.argv[1]) + 1, int(sys.argv[2])
vip = "10.96.%d.%d" % (i >> 8 & 255, i & 255) if i < 65536 else "10.%d.%d.%d" % (96 + (i >> 16), i >> 8 & 255, i & 255)
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
t = time.perf_counter()
for s in socks:
    s.sendto(b"x", (vip, 80))
dt = time.perf_counter() - t
print("%.0f" % (dt / count * 1e9))
PY
}

now() { date +%s.%N; }

printf '%-9s | %-33s | %-22s | %-30s\n' "" "Gannet BPF_PROG_RUN ns/packet" "Gannet programming" "iptables (kube-proxy shape)"
printf '%-9s | %9s %9s %9s %3s | %10s %10s | %9s %9s %10s\n' services "est.flow" "new flow" "no-svc" "" "all (s)" "1 chg(ms)" "restore s" "1 chg (s)" "new flow ns"
base_nf=""
declare -A G LFR
for n in $COUNTS; do
	# in the throwaway netns: the driver's fake endpoints use ifindex 1,
	# which there is that netns's lo, never the machine's
	js=$(nsx "$SB" -r "$PIN" -n "$n") || { echo "svc_bench failed for $n" >&2; exit 1; }
	G[$n]=$js
	hit=$(jq -r .ns_svc_hit <<<"$js"); nf=$(jq -r .ns_svc_new_flow <<<"$js")
	nos=$(jq -r .ns_no_svc <<<"$js"); pa=$(jq -r .program_all_s <<<"$js")
	ch=$(jq -r .change_ms <<<"$js")
	ir="-" ic="-" inf="-"
	if [ "$n" -le "$IPT_MAX" ]; then
		[ -n "$base_nf" ] || { nsx iptables -t nat -F; base_nf=$(new_flow_ns 0 3000); }
		gen_rules "$n" 0 > "$TMP/r0"
		gen_rules "$n" 7 > "$TMP/r1"
		nsx iptables -t nat -F; nsx iptables -t nat -X
		t0=$(now); nsx iptables-restore < "$TMP/r0"; t1=$(now)
		ir=$(echo "$t1 - $t0" | bc -l | xargs printf '%.3f')
		t0=$(now); nsx iptables-restore < "$TMP/r1"; t1=$(now)
		ic=$(echo "$t1 - $t0" | bc -l | xargs printf '%.3f')
		cnt=3000; [ "$n" -ge 10000 ] && cnt=300; [ "$n" -ge 100000 ] && cnt=50
		v=$(new_flow_ns $((n / 2)) $cnt)
		inf=$((v - base_nf))
		nsx iptables -t nat -F; nsx iptables -t nat -X
	fi
	printf '%-9s | %9s %9s %9s %3s | %10s %10s | %9s %9s %10s\n' "$n" "$hit" "$nf" "$nos" "" "$pa" "$ch" "$ir" "$ic" "$inf"
done
first=$(echo $COUNTS | awk '{print $1}'); last=$(echo $COUNTS | awk '{print $NF}')
h1=$(jq -r .ns_svc_hit <<<"${G[$first]}"); h2=$(jq -r .ns_svc_hit <<<"${G[$last]}")
n1=$(jq -r .ns_svc_new_flow <<<"${G[$first]}"); n2=$(jq -r .ns_svc_new_flow <<<"${G[$last]}")
echo
echo "Gannet per-packet growth $first -> $last services: established flow x$(echo "$h2 / $h1" | bc -l | xargs printf '%.3f'), new flow x$(echo "$n2 / $n1" | bc -l | xargs printf '%.3f') (target < 1.10)"
echo "notes: BPF_PROG_RUN figures are the median kernel-timed duration of single-packet runs (includes the harness's constant timer overhead); iptables new-flow cost = sender's ns per first packet minus the same with no rules (${base_nf} ns); one iptables change = full iptables-restore as kube-proxy's sync writes it; $(nproc) CPUs, kernel $(uname -r), $(iptables -V)"

# ---------------------------------------------------------------- NodePort pps
echo
[ -x "$PKTGEN" ] && [ -x "$GDP" ] || { echo "live frames: skipped (gannet-pktgen/gannet-dp not built)"; exit 0; }
med() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "nan")}'; }

# ---------------------------------------------------------------- ClusterIP live frames
# One node netns, client pod A (10.244.1.2) and backend pod B (10.244.1.3)
# wired as the agent wires them. gannet-pktgen sends 64-byte UDP frames
# from A's eth0 (XDP live frames; GRO on the host veth so it accepts them)
# to the VIP of service N/2, port 80; delivered pps counted at B's eth0.
#  - Gannet: N services programmed (svc_bench -k), the pod program on A's
#    host veth DNATs per packet (A is outside any socket-LB cgroup) and
#    redirects into B;
#  - iptables: no BPF, the node's stack forwards, kube-proxy's nat rules
#    for N services (every DNAT to B:80) with conntrack.
# (The backend port is the frontend's, 80: the sink counts by UDP port.)
# 1 flow: the steady state of a connection (conntrack hit both sides);
# 60000 flows: source ports cycled, every flow's first packet takes the
# service lookup (iptables: KUBE-SERVICES walk) until the ports wrap.
LF_COUNTS=${LF_COUNTS:-1 1000 10000}
LF=$NS-lf
lf_down() {
	nsenter --net=/run/netns/$LF "$GDP" -r "$PIN" -n lfnode destroy >/dev/null 2>&1
	ip netns del $LF 2>/dev/null; ip netns del $LF-a 2>/dev/null; ip netns del $LF-b 2>/dev/null
}
lf_pod() {   # lf_pod SUFFIX IP HOSTIF
	local pod=$LF-$1 hmac pmac
	ip netns add $pod
	ip -n $LF link add "$3" type veth peer name eth0 netns $pod
	ip -n $LF link set "$3" up
	ip -n $pod link set lo up; ip -n $pod link set eth0 up
	ip -n $pod addr add "$2/32" dev eth0
	hmac=$(ip -n $LF -j link show "$3" | jq -r '.[0].address')
	pmac=$(ip -n $pod -j link show eth0 | jq -r '.[0].address')
	ip -n $pod route add 169.254.1.1 dev eth0 scope link
	ip -n $pod route add default via 169.254.1.1 dev eth0 onlink
	ip -n $pod neigh add 169.254.1.1 lladdr "$hmac" dev eth0 nud permanent
	ip -n $LF route add "$2/32" dev "$3"
	ip -n $LF neigh add "$2" lladdr "$pmac" dev "$3" nud permanent
	echo "$pmac"
}
lf_up() {   # lf_up gannet|iptables N
	local ma mb
	ip netns add $LF
	ip -n $LF link set lo up
	nsenter --net=/run/netns/$LF sysctl -qw net.ipv4.ip_forward=1
	ma=$(lf_pod a 10.244.1.2 gnta) && mb=$(lf_pod b 10.244.1.3 gntb) || return 1
	nsenter --net=/run/netns/$LF ethtool -K gnta gro on >/dev/null
	if [ "$1" = gannet ]; then
		nsenter --net=/run/netns/$LF "$SB" -r "$PIN" -n "$2" -k lfnode >/dev/null || return 1
		nsenter --net=/run/netns/$LF "$GDP" -r "$PIN" -n lfnode ep-add --ip 10.244.1.2 \
			--ifname gnta --mac "$ma" --identity 101 >/dev/null || return 1
		nsenter --net=/run/netns/$LF "$GDP" -r "$PIN" -n lfnode ep-add --ip 10.244.1.3 \
			--ifname gntb --mac "$mb" --identity 101 >/dev/null || return 1
	else
		gen_rules "$2" 0 10.244.1.3:80 > "$TMP/lf"
		nsenter --net=/run/netns/$LF iptables-restore < "$TMP/lf" || return 1
	fi
}
lf_vip() { local i=$(($1 / 2 + 1)); echo "10.96.$((i >> 8 & 255)).$((i & 255))"; }
lf_pps() {   # lf_pps N FLOWS
	local hm
	hm=$(ip -n $LF -j link show gnta | jq -r '.[0].address')
	"$PKTGEN" run -n $LF-a -i eth0 --src-ip 10.244.1.2 --dst-ip "$(lf_vip "$1")" --dport 80 \
		--dst-mac "$hm" --flows "$2" --sink-netns $LF-b --sink-dev eth0 -d "$NP_DUR" --cpus 0 \
		--json 2>/dev/null | jq -r .delivered_pps
}
echo "ClusterIP per packet, live frames (64 B UDP, 1 sender CPU), delivered pps, median of $NP_REPS x ${NP_DUR}s"
printf '%-9s | %12s %12s | %12s %12s | %7s %7s\n' services "Gannet 1fl" "Gannet 60kfl" "iptables 1fl" "ipt 60kfl" "G/I 1" "G/I 60k"
declare -A LFP
for n in $LF_COUNTS; do
	for eng in gannet iptables; do
		for fl in 1 60000; do
			runs=""
			for r in $(seq "$NP_REPS"); do
				# fresh topology per run: conntrack (BPF and
				# netfilter) starts empty, so 60000 flows are new
				lf_down
				lf_up $eng "$n" || { echo "live ClusterIP setup failed ($eng $n)" >&2; lf_down; break; }
				runs="$runs $(lf_pps "$n" $fl)"
			done
			LFP[$eng.$fl]=$(echo "$runs" | med)
			LFR[$eng.$fl.$n]="$runs"
		done
	done
	lf_down
	printf '%-9s | %12.0f %12.0f | %12.0f %12.0f | %7.2f %7.2f\n' "$n" "${LFP[gannet.1]}" "${LFP[gannet.60000]}" \
		"${LFP[iptables.1]}" "${LFP[iptables.60000]}" \
		"$(echo "${LFP[gannet.1]} / ${LFP[iptables.1]}" | bc -l)" \
		"$(echo "${LFP[gannet.60000]} / ${LFP[iptables.60000]}" | bc -l)"
done
echo
# ceiling: plain veth pair, XDP drop at the peer
ip netns add $NS-xa; ip netns add $NS-xb
ip -n $NS-xa link add eth0 type veth peer name eth0 netns $NS-xb
ip -n $NS-xa addr add 10.250.9.1/24 dev eth0; ip -n $NS-xb addr add 10.250.9.2/24 dev eth0
ip -n $NS-xa link set eth0 up; ip -n $NS-xb link set eth0 up
nsenter --net=/run/netns/$NS-xa ping -c1 -W1 10.250.9.2 >/dev/null
ceil="" np=""
for r in $(seq "$NP_REPS"); do
	v=$("$PKTGEN" run -n $NS-xa -i eth0 --dst-ip 10.250.9.2 --sink-netns $NS-xb --sink-dev eth0 \
		--sink-mode xdp -d "$NP_DUR" --cpus 0 --json 2>/dev/null | jq -r .delivered_pps)
	ceil="$ceil ${v:-}"
done
# NodePort: node 1 in XDP mode, pod 10.244.1.2 behind it, client = node 2.
# GANNET_XDP_XMIT=1: node 1's XDP program transmits NodePort frames to
# remote backends itself (the fabric ports get GRO, i.e. NAPI, to take them)
if GANNET_XDP_XMIT=1 topo_up xdp >/dev/null; then
	NSX $SFX-n1 "$GDP" -r "$PINROOT" -n node1 svc-add --vip 192.168.77.1 --port 30080 --proto udp \
		--scope external --local --backend '10.244.1.2:30080*local' >/dev/null
	ulmac=$(NSX $SFX-n1 ip -j link show ul0 | jq -r '.[0].address')
	npsend() {
		# from the fabric end of node 1's underlay veth: frames
		# arrive at ul0 (and its XDP program) directly, as from a NIC
		"$PKTGEN" run -n $SFX-f -i n1 --src-ip 192.168.77.2 --dst-mac "$ulmac" --dport 30080 \
			--sink-netns $SFX-p1a --sink-dev eth0 -d "$NP_DUR" --cpus 0 --json "$@" \
			2>/dev/null | jq -r .delivered_pps
	}
	for r in $(seq "$NP_REPS"); do
		np="$np $(npsend --dst-ip 192.168.77.1)"
		# same path, same frames, but to the pod IP: no translation
		plain="${plain:-} $(npsend --dst-ip 10.244.1.2)"
	done
	# Katran-style: the endpoint takes XDP frames (GRO on its eth0), so
	# the DNATed frame is XDP_REDIRECTed into the pod's host veth
	pmac=$(NSX $SFX-p1a ip -j link show eth0 | jq -r '.[0].address')
	NSX $SFX-p1a ethtool -K eth0 gro on >/dev/null 2>&1
	NSX $SFX-n1 "$GDP" -r "$PINROOT" -n node1 ep-add --ip 10.244.1.2 --ifname gnt1a \
		--mac "$pmac" --identity 101 --xdp-redirect
	for r in $(seq "$NP_REPS"); do
		# frames stay XDP frames into the pod: count them with an XDP
		# sink there, as the ceiling does
		npr="${npr:-} $(npsend --dst-ip 192.168.77.1 --sink-mode xdp)"
	done
	dn=$(NSX $SFX-n1 "$GDP" -r "$PINROOT" -n node1 -j stats | jq -r '.forward["nodeport-dnat"].packets // 0')
	# NodePort to a backend on node 2: DNAT+SNAT+VXLAN at node 1's XDP,
	# XDP_REDIRECT back out of its underlay, decap at node 2, pod 2a
	for n in 1 2; do NSX $SFX-f ethtool -K n$n gro on >/dev/null; done
	NSX $SFX-n1 "$GDP" -r "$PINROOT" -n node1 svc-add --vip 192.168.77.1 --port 30081 --proto udp \
		--scope external --backend 10.244.2.2:30081@192.168.77.2 >/dev/null
	for r in $(seq "$NP_REPS"); do
		# delivered in the backend pod on node 2 (end to end) ...
		v=$("$PKTGEN" run -n $SFX-f -i n1 --src-ip 192.168.77.2 --dst-mac "$ulmac" --dport 30081 \
			--dst-ip 192.168.77.1 --sink-netns $SFX-p2a --sink-dev eth0 \
			-d "$NP_DUR" --cpus 0 --json 2>/dev/null | jq -r .delivered_pps)
		nprem="${nprem:-} ${v:-}"
		# ... and what node 1's XDP program sends out: the VXLAN frames
		# coming back to the fabric end of its underlay veth, counted
		# and dropped there by an XDP sink (as the ceiling's)
		"$PKTGEN" sink -n $SFX-f -i n1 --sink-mode xdp --dport 8472 -d $((NP_DUR + 2)) --json \
			>"$TMP/sink.json" 2>/dev/null &
		sp=$!
		sleep 0.5
		js=$("$PKTGEN" send -n $SFX-f -i n1 --src-ip 192.168.77.2 --dst-mac "$ulmac" --dport 30081 \
			--dst-ip 192.168.77.1 -d "$NP_DUR" --cpus 0 --json 2>/dev/null)
		wait $sp
		npro="${npro:-} $(echo "$(jq -r .delivered "$TMP/sink.json") / $(jq -r .seconds <<<"$js")" | bc -l)"
	done
	rm_fw=$(NSX $SFX-n1 "$GDP" -r "$PINROOT" -n node1 -j stats | jq -r '.forward["nodeport-remote"].packets // 0')
fi
c=$(echo "$ceil" | med); n=$(echo "$np" | med); pl=$(echo "${plain:-}" | med); nr=$(echo "${npr:-}" | med)
rm=$(echo "${nprem:-}" | med); ro=$(echo "${npro:-}" | med)
printf '%-44s %14s\n' "live frames, 64 B, 1 sender CPU" "pps (median)"
printf '%-44s %14.0f\n' "XDP_DROP ceiling (veth pair)" "$c"
printf '%-44s %14.0f\n' "NodePort at XDP, XDP_PASS + tc -> pod" "$n"
printf '%-44s %14.0f\n' "same path to the pod IP, no NodePort" "$pl"
printf '%-44s %14.0f\n' "NodePort at XDP, XDP_REDIRECT -> pod veth" "$nr"
printf '%-44s %14.0f\n' "NodePort -> remote: out of node 1 (XDP)" "$ro"
printf '%-44s %14.0f\n' "NodePort -> remote: delivered in pod, node 2" "$rm"
echo "NodePort / ceiling: redirect $(echo "$nr / $c" | bc -l | xargs printf '%.2f'), pass $(echo "$n / $c" | bc -l | xargs printf '%.2f') (target >= 0.50); NodePort(pass) / same path untranslated: $(echo "$n / $pl" | bc -l | xargs printf '%.2f'); frames DNATed at XDP: ${dn:-0}"
echo "NodePort to a remote backend / ceiling: out of node 1 $(echo "$ro / $c" | bc -l | xargs printf '%.2f') (XDP DNAT+SNAT+VXLAN+XDP_REDIRECT back out of the underlay), delivered in the pod on node 2 $(echo "$rm / $c" | bc -l | xargs printf '%.2f') (+ GRO'd fabric port, bridge, node 2 XDP decap, tc); frames sent to node 2 at XDP: ${rm_fw:-0}"
echo "runs: ceiling [$ceil ] pass [$np ] plain [${plain:-} ] redirect [${npr:-} ] remote-out [${npro:-} ] remote-pod [${nprem:-} ]; sender: XDP_TX from the fabric end of node 1's underlay veth (no bridge hop), like the ceiling's veth pair"
