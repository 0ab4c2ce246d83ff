#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# NetworkPolicy enforcement in BPF.
# (1) BPF_PROG_RUN (tests/bpf/policy_test.c, programmed through
#     libgannet-dataplane): verdicts per identity/protocol/port/range/any,
#     egress after DNAT, ingress at VXLAN decap with the VNI identity,
#     conntrack for replies and across swaps, atomic swaps under a reader,
#     fail-closed, HOST for the node's own traffic, events with identities,
#     ipcache CIDR entries inside a remote pod CIDR keep routing, hairpin.
# (2) Live, tests/lib/cluster.sh: 2 nodes with agents, real pods via CNI,
#     policy programmed with gannet-dp (dp_policy_set) on the nodes' pins:
#     deny-all stops ping and TCP (same node and across nodes; node2's
#     underlay in XDP mode, node1's in tc mode), allow
#     entries restore exactly what they allow (identity from the endpoint
#     and from the VNI), egress with ipcache identities, node -> pod with
#     the HOST entry, an established TCP connection survives a policy swap
#     that no longer allows it while new connections are refused, the
#     pinned state keeps enforcing while an agent is down and after its
#     restart, drop events carry identities, and the drop counters name
#     the reason.
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
. tests/lib/cluster.sh
cluster_require_root_tools
cluster_require_bins gannet-agent gannet-cni gannet-dp
PT=$GANNET_ROOT/$BUILD/tests/bpf_policy_test
[ -x "$PT" ] || { echo "build first: $PT"; exit 1; }
for t in socat python3 timeout; do command -v $t >/dev/null || cl_skip "$t not installed"; done
GDP=$CL_BIN/gannet-dp

echo "== BPF_PROG_RUN"
ip netns add "$CL_RUN-prt"
mkdir -p "$CL_PIN"
# endpoints there use ifindex 1: that netns's lo, never the machine's
if GNT_TEST_PINDIR=$CL_PIN/prog in_ns "$CL_RUN-prt" "$PT"; then
	t_ok "policy_test (BPF_PROG_RUN)"
else
	t_fail "policy_test (BPF_PROG_RUN)"
fi
ip netns del "$CL_RUN-prt"

echo "== live: 2 nodes (node1 tc underlay, node2 XDP: decap in XDP, the VNI identity passed to tc as metadata)"
CL_NODE_MODE[1]=tc
CL_NODE_MODE[2]=xdp
cluster_up 2
t_check "pod a on node1" pod_add 1 a
t_check "pod b on node1" pod_add 1 b
t_check "pod c on node2" pod_add 2 c
gdp() { local n=$1; shift; in_node "$n" "$GDP" -r "$CL_PIN" -n "node$n" "$@"; }
# identities (the agent in API mode gets them from the policy engine)
declare -A ID=([a]=1001 [b]=1002 [c]=1003)
for p in a b c; do
	gdp "$(pod_node $p)" ep-add --ip "$(pod_ip $p)" --ifname "$(pod_host_veth $p)" \
		--mac "$(pod_mac $p)" --identity "${ID[$p]}" >/dev/null ||
		t_fail "identity of $p"
done
A=$(pod_ip a) B=$(pod_ip b) C=$(pod_ip c)
# servers: TCP echo on 8080 in b and c
for p in b c; do
	pod_bg $p socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:'echo hi-'$p'; cat' </dev/null >/dev/null 2>&1
done
for i in $(seq 50); do
	in_pod b ss -ltnH | grep -q ':8080' && in_pod c ss -ltnH | grep -q ':8080' && break
	sleep 0.1
done

# tcp FROM DST: one connection, prints the server's greeting
tcp() { in_pod "$1" timeout 3 socat -T2 - "TCP:$2:8080,connect-timeout=2" </dev/null 2>/dev/null | head -1; }
pingok() { in_pod "$1" ping -c1 -W1 "$2" >/dev/null 2>&1; }
expect() {       # expect what ok|blocked cmd...
	local what=$1 want=$2 got
	shift 2
	if "$@"; then got=ok; else got=blocked; fi
	[ "$got" = "$want" ] && t_ok "$what: $got" || t_fail "$what: $got, want $want"
}
tcp_is() { [ "$(tcp "$1" "$2")" = "hi-$3" ]; }
drops() { gdp "$1" -j stats | jq -r ".drop[\"$2\"].packets // 0"; }

expect "baseline a -> b ping (same node)" ok pingok a "$B"
expect "baseline a -> b tcp" ok tcp_is a "$B" b
expect "baseline a -> c tcp (across nodes)" ok tcp_is a "$C" c

echo "== ingress, same node (pod program)"
d0=$(drops 1 policy-denied-ingress)
gdp 1 policy-set --ip "$B" --dir ingress || t_fail "policy-set deny-all b"
expect "deny-all on b: a -> b ping" blocked pingok a "$B"
expect "deny-all on b: a -> b tcp" blocked tcp_is a "$B" b
d1=$(drops 1 policy-denied-ingress)
[ "$d1" -gt "$d0" ] && t_ok "policy-denied-ingress counted ($((d1 - d0)))" ||
	t_fail "policy-denied-ingress not counted ($d0 -> $d1)"
gdp 1 policy-set --ip "$B" --dir ingress --allow "${ID[a]}/tcp/8080" || t_fail "policy-set allow"
expect "allow a tcp/8080: a -> b tcp" ok tcp_is a "$B" b
expect "allow a tcp/8080: a -> b ping still" blocked pingok a "$B"
expect "allow a tcp/8080: c -> b tcp (other identity)" blocked tcp_is c "$B" b
gdp 1 -j policy --ip "$B" | jq -e '.ingress.enforced and (.ingress.allow | length == 1) and
	.ingress.allow[0].identity == 1001 and .ingress.allow[0].port == 8080 and
	(.egress.enforced | not)' >/dev/null && t_ok "gannet-dp policy shows the set" ||
	t_fail "gannet-dp policy output"

echo "== node -> pod (tc egress of the host veth: HOST)"
node_ping() { in_node "$1" ping -c1 -W1 "$2" >/dev/null 2>&1; }
expect "node1 -> b ping without a HOST entry" blocked node_ping 1 "$B"
gdp 1 policy-set --ip "$B" --dir ingress --allow "${ID[a]}/tcp/8080" --allow host ||
	t_fail "policy-set host"
expect "node1 -> b ping with {HOST, any}" ok node_ping 1 "$B"
node_tcp_is() { [ "$(in_node "$1" timeout 3 socat -T2 - "TCP:$2:8080,connect-timeout=2" </dev/null 2>/dev/null | head -1)" = "hi-$3" ]; }
expect "node1 -> b tcp with {HOST, any}" ok node_tcp_is 1 "$B" b
gdp 1 policy-set --ip "$B" --dir ingress --unenforced || t_fail "unenforce b"
expect "unenforced again: a -> b ping" ok pingok a "$B"

echo "== ingress across nodes (VXLAN decap, VNI identity)"
gdp 2 policy-set --ip "$C" --dir ingress || t_fail "deny-all c"
expect "deny-all on c: a -> c tcp" blocked tcp_is a "$C" c
expect "deny-all on c: a -> c ping" blocked pingok a "$C"
gdp 2 policy-set --ip "$C" --dir ingress --allow "${ID[a]}/tcp/8000-8100" || t_fail "allow range"
expect "allow a tcp/8000-8100: a -> c tcp" ok tcp_is a "$C" c
expect "allow a tcp/8000-8100: b -> c tcp (identity b)" blocked tcp_is b "$C" c

echo "== agent down and restarted: the pinned state keeps enforcing"
agent_kill 2 KILL
expect "node2 agent killed: a -> c tcp still allowed" ok tcp_is a "$C" c
expect "node2 agent killed: b -> c tcp still denied" blocked tcp_is b "$C" c
t_check "node2 agent restarted" agent_start 2
expect "after the restart: a -> c tcp allowed" ok tcp_is a "$C" c
expect "after the restart: b -> c tcp denied" blocked tcp_is b "$C" c

echo "== drop event with identities"
# (other drops, e.g. IPv6 neighbour discovery, may come first)
gdp 2 -j monitor --count 100 --timeout 4 >"$CL_DIR/mon.json" 2>&1 &
MON=$!
sleep 0.5
tcp b "$C" >/dev/null
wait $MON
jq -e "select(.reason == \"policy-denied-ingress\") | .src_identity == ${ID[b]} and
	.dst_identity == ${ID[c]} and .direction == \"ingress\" and .dport == 8080 and
	.saddr == \"$B\" and .daddr == \"$C\" and .hook == \"underlay-tc\"" "$CL_DIR/mon.json" \
	| grep -q true && t_ok "monitor: drop event with source/destination identity" ||
	{ t_fail "monitor event"; cat "$CL_DIR/mon.json"; }

echo "== established connection across a policy swap"
# a long-lived client a -> c: one line per 0.2 s, each echoed back
cat >"$CL_DIR/hold.py" <<'EOF'
import socket, sys, time
s = socket.create_connection((sys.argv[1], 8080), timeout=3)
f = s.makefile("rwb")
f.readline()                                   # greeting
open(sys.argv[2], "w").write("up\n")
ok = 0
for i in range(int(sys.argv[3])):
    f.write(b"ping %d\n" % i); f.flush()
    if f.readline().strip() == b"ping %d" % i:
        ok += 1
    time.sleep(0.2)
print(ok)
EOF
in_pod a python3 "$CL_DIR/hold.py" "$C" "$CL_DIR/hold.up" 20 >"$CL_DIR/hold.out" 2>&1 &
HOLD=$!
for i in $(seq 30); do [ -e "$CL_DIR/hold.up" ] && break; sleep 0.1; done
# swap to a set that no longer allows a (only identity b on port 80)
gdp 2 policy-set --ip "$C" --dir ingress --allow "${ID[b]}/tcp/80" || t_fail "swap"
expect "after the swap: new a -> c connection" blocked tcp_is a "$C" c
wait $HOLD
n=$(cat "$CL_DIR/hold.out")
[ "$n" = 20 ] && t_ok "established a -> c connection kept all 20 exchanges across the swap" ||
	t_fail "established connection across the swap: $n/20 echoed"

echo "== egress (pod program, ipcache identities)"
gdp 2 policy-set --ip "$C" --dir ingress --unenforced
gdp 1 policy-set --ip "$A" --dir egress || t_fail "deny-all egress a"
expect "egress deny-all on a: a -> c tcp" blocked tcp_is a "$C" c
expect "egress deny-all on a: a -> b tcp (same node)" blocked tcp_is a "$B" b
gdp 1 policy-set --ip "$A" --dir egress --allow "${ID[c]}/tcp/8080" || t_fail "egress allow c"
expect "egress allows c but c not in the ipcache (WORLD): a -> c" blocked tcp_is a "$C" c
gdp 1 ipcache-set --cidr "$C/32" --identity "${ID[c]}" || t_fail "ipcache-set c"
expect "c's /32 identity in the ipcache: a -> c tcp" ok tcp_is a "$C" c
ipc_node() { gdp 1 -j ipcache | jq -r ".[] | select(.cidr == \"$1/32\") | .node_ip"; }
[ "$(ipc_node "$C")" = "$(node_ip 2)" ] &&
	t_ok "routing kept: c's /32 identity entry inherited node2's IP" ||
	t_fail "c's /32 node IP: '$(ipc_node "$C")'"
expect "egress allows only c: a -> b tcp" blocked tcp_is a "$B" b
gdp 1 policy-del --ip "$A" || t_fail "policy-del a"
expect "policy deleted: a -> b tcp" ok tcp_is a "$B" b

t_done
