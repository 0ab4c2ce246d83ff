#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# gannet-cni against a real gannet-agent in a throwaway node netns:
# VERSION, STATUS, ADD/CHECK/DEL/DEL-twice/GC, ADD on an existing interface,
# rollback of a failing ADD, concurrent ADDs (no duplicate IP), bad input
# with the spec's error codes and nothing left behind, dead agent -> 11,
# SIGKILL + restart keeps allocations and pod traffic, SIGHUP peer reload,
# invalid agent config. Everything lives in namespaces named g25<pid>-*.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$PWD/$BUILD/bin

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (netns, veth, BPF)"
mountpoint -q /sys/fs/bpf || skip "bpffs not mounted at /sys/fs/bpf"
for b in gannet-agent gannet-cni; do [ -x "$BIN/$b" ] || { echo "missing $BIN/$b"; exit 1; }; done
command -v jq >/dev/null || skip "jq missing"

P=g25$$
NODE=$P-node
D=$(mktemp -d /tmp/gannet-cni-test.XXXXXX)
PIN=/sys/fs/bpf/gannet-test-$P
SOCK=$D/agent.sock
STATE=$D/state
AGENT_PID=
FAILS=0

cleanup() {
	[ -n "$AGENT_PID" ] && kill -9 "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do ip netns del "$ns"; done
	rm -rf "$PIN" "$D"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok   $*"; }
in_node() { nsenter --net=/run/netns/$NODE "$@"; }

# ---- node netns with an underlay interface (a veth whose peer stays inside)
ip netns add "$NODE"
ip -n "$NODE" link add eth0 type veth peer name eth0p
ip -n "$NODE" link set lo up
ip -n "$NODE" link set eth0 up
ip -n "$NODE" link set eth0p up
ip -n "$NODE" addr add 192.168.251.1/24 dev eth0
mkdir -p "$PIN"

write_config() {
	cat >"$D/agent.yaml" <<-EOF
	nodeName: $P
	nodeIP: 192.168.251.1
	underlayInterface: eth0
	podCIDR: 10.244.1.0/24
	clusterCIDR: 10.244.0.0/16
	stateDir: $STATE
	socket: $SOCK
	pinRoot: $PIN
	metricsAddress: 127.0.0.1:9962
	underlayMode: ${UNDERLAY_MODE:-auto}
	peers:
	  - {name: node2, nodeIP: 192.168.251.2, podCIDR: 10.244.2.0/24}
	$1
	EOF
}

agent_start() {
	# nsenter execs the agent, so $! is the agent itself (a shell function
	# here would leave a subshell in between)
	nsenter --net=/run/netns/$NODE "$BIN/gannet-agent" --config "$D/agent.yaml" >>"$D/agent.log" 2>&1 &
	AGENT_PID=$!
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && cni STATUS - - >/dev/null 2>&1 && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "agent did not start:"; tail -20 "$D/agent.log"; exit 1
}
agent_kill() { kill -"${1:-TERM}" "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=; }

conf() {   # conf VERSION [extra JSON members]
	printf '{"cniVersion":"%s","name":"gannet","type":"gannet-cni","agentSocket":"%s"%s}' \
		"$1" "$SOCK" "${2:+,$2}"
}
# cni CMD CID NETNS [IFNAME] [VERSION] [extra conf]: NETNS "-" = unset
cni() {
	local cmd=$1 cid=$2 ns=$3 ifn=${4:-eth0} ver=${5:-1.0.0} extra=${6:-}
	local env=(PATH="$PATH" CNI_COMMAND="$cmd" CNI_PATH="$BIN")
	case $cmd in STATUS|GC) [ "$ver" = 1.0.0 ] && ver=1.1.0 ;; esac
	[ "$cid" != - ] && env+=(CNI_CONTAINERID="$cid" CNI_IFNAME="$ifn")
	[ "$ns" != - ] && env+=(CNI_NETNS="/run/netns/$ns")
	conf "$ver" "$extra" | in_node env -i "${env[@]}" "$BIN/gannet-cni"
}
pod() { ip netns add "$P-$1"; ip -n "$P-$1" link set lo up; }
code_of() { jq -r '.code // empty' <<<"$1" 2>/dev/null; }
expect_code() {   # expect_code WANT RC OUTPUT WHAT
	local got
	got=$(code_of "$3")
	if [ "$2" != 0 ] && [ "$got" = "$1" ]; then ok "$4 -> code $1"; else
		fail "$4: want code $1, got rc=$2 code='$got' out=$3"; fi
}
veths() { ip -n "$NODE" -br link | grep -c '^gnt' || true; }
allocs() { jq '.allocations | length' "$STATE/ipam.json" 2>/dev/null || echo 0; }
metric() { in_node curl -s "127.0.0.1:9962/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
pod_ip() { jq -r '.ips[0].address' "$D/$1.json" | cut -d/ -f1; }
add_pod() {   # add_pod NAME [VERSION]
	local out rc
	pod "$1"
	out=$(cni ADD "cid-$1" "$P-$1" eth0 "${2:-1.0.0}"); rc=$?
	echo "$out" >"$D/$1.json"
	[ $rc = 0 ] || { fail "ADD $1 rc=$rc: $out"; return 1; }
}
same_state() {   # same_state VETHS ALLOCS WHAT: nothing left behind
	local v a
	v=$(veths); a=$(allocs)
	if [ "$v" = "$1" ] && [ "$a" = "$2" ]; then ok "$3: nothing left behind"; else
		fail "$3: left behind state (veths $v, want $1; allocations $a, want $2)"; fi
}

# ---- VERSION works without an agent
out=$(echo '{"cniVersion":"1.0.0"}' | env -i CNI_COMMAND=VERSION "$BIN/gannet-cni"); rc=$?
if [ $rc = 0 ] && jq -e '.supportedVersions | index("1.0.0") and index("1.1.0")' <<<"$out" >/dev/null &&
   [ "$(jq -r .cniVersion <<<"$out")" = 1.0.0 ]; then ok "VERSION"; else fail "VERSION: $out"; fi

# ---- dead agent (never started): ADD -> 11, STATUS -> 50, nothing created
write_config ""
pod dead
out=$(cni ADD cid-dead "$P-dead"); expect_code 11 $? "$out" "ADD with no agent"
[ "$(ip -n "$P-dead" -br link | grep -vc '^lo')" = 0 ] && ok "no interface in pod" || fail "pod got an interface"
out=$(cni STATUS - -); expect_code 50 $? "$out" "STATUS with no agent"
out=$(cni DEL cid-dead "$P-dead"); expect_code 11 $? "$out" "DEL with no agent"

# ---- invalid agent config: exits non-zero, names the field, creates nothing
printf 'nodeName: x\nnodeIP: 1.2.3.4\nunderlayInterface: eth0\npodCIDR: 10.244.1.7/24\nstateDir: %s/bad\n' "$D" >"$D/bad.yaml"
if in_node "$BIN/gannet-agent" --config "$D/bad.yaml" >"$D/bad.log" 2>&1; then
	fail "agent accepted an invalid config"
elif grep -q podCIDR "$D/bad.log" && [ ! -e "$D/bad" ]; then ok "invalid config rejected naming podCIDR"
else fail "invalid config message: $(cat "$D/bad.log")"; fi

# ---- start the agent
agent_start
out=$(cni STATUS - -) && ok "STATUS with agent" || fail "STATUS: $out"
if in_node "$BIN/gannet-agent" --config "$D/agent.yaml" >"$D/second.log" 2>&1; then
	fail "a second agent for the same node started"
else
	grep -q "another gannet-agent" "$D/second.log" && [ -S "$SOCK" ] &&
		cni STATUS - - >/dev/null && ok "second agent refused, first keeps serving" ||
		fail "second agent: $(cat "$D/second.log")"
fi
code=$(in_node curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:9962/healthz)
[ "$code" = 200 ] && ok "/healthz 200" || fail "/healthz $code"

# ---- ADD: result and wiring
add_pod a || exit 1
res=$(cat "$D/a.json")
ipa=$(pod_ip a)
podmac=$(ip -n "$P-a" -j link show eth0 | jq -r '.[0].address')
host=$(jq -r '.interfaces[0].name' <<<"$res")
if [[ $ipa == 10.244.1.* ]] && [ "$(jq -r '.ips[0].gateway' <<<"$res")" = 169.254.1.1 ] &&
   [ "$(jq -r '.interfaces[1].mac' <<<"$res")" = "$podmac" ] &&
   [ "$(jq -r '.interfaces[1].sandbox' <<<"$res")" = "/run/netns/$P-a" ] &&
   [ "$(jq -r '.ips[0].interface' <<<"$res")" = 1 ] &&
   [ "$(jq -r '.routes[0].dst' <<<"$res")" = 0.0.0.0/0 ] && [[ $host == gnt* ]] && [ ${#host} = 14 ]; then
	ok "ADD result ($ipa on $host)"
else fail "ADD result: $res"; fi
hostmac=$(ip -n "$NODE" -j link show "$host" | jq -r '.[0].address')
ip -n "$P-a" route | grep -q 'default via 169.254.1.1 dev eth0.*onlink' || fail "pod default route: $(ip -n "$P-a" route)"
ip -n "$P-a" neigh | grep -q "169.254.1.1 dev eth0 lladdr $hostmac PERMANENT" || fail "pod gateway neigh"
ip -n "$P-a" addr show eth0 | grep -q "inet $ipa/32" || fail "pod address"
[ "$(ip -n "$P-a" -j link show eth0 | jq '.[0].mtu')" = 1450 ] || fail "pod MTU not underlay-50"
ip -n "$NODE" route | grep -q "^$ipa dev $host" || fail "node route to pod"
ip -n "$NODE" neigh | grep -q "$ipa dev $host lladdr $podmac PERMANENT" || fail "node neigh to pod"
ok "ADD wiring checked"

add_pod b 1.1.0 || exit 1
ipb=$(pod_ip b)
[ "$ipa" != "$ipb" ] || fail "same IP twice"
jq -e '.interfaces[1].mtu == 1450' "$D/b.json" >/dev/null && ok "1.1.0 result carries mtu" || fail "1.1.0 result: $(cat "$D/b.json")"
ip netns exec "$P-a" ping -c2 -W1 -i0.2 "$ipb" >/dev/null && ok "pod a -> pod b ping" || fail "pod a -> pod b ping"
[ "$(metric gannet_endpoints)" = 2 ] && ok "/metrics endpoints 2" || fail "/metrics endpoints: $(metric gannet_endpoints)"
in_node curl -s 127.0.0.1:9962/metrics | grep -q '^gannet_forwarded_packets_total{' && ok "/metrics forwarded counters" || fail "/metrics forwarded counters missing"

# ---- older result formats
pod v
out=$(cni ADD cid-v "$P-v" eth0 0.3.1); rc=$?
[ $rc = 0 ] && jq -e '.cniVersion == "0.3.1" and .ips[0].version == "4" and (.interfaces[1].mtu == null)' \
	<<<"$out" >/dev/null && ok "0.3.1 result format" || fail "0.3.1 ADD: rc=$rc $out"
cni DEL cid-v "$P-v" eth0 0.3.1 >/dev/null || fail "0.3.1 DEL"

# ---- CHECK
prev=$(jq -c 'del(.cniVersion)' "$D/a.json")
out=$(cni CHECK cid-a "$P-a" eth0 1.0.0 "\"prevResult\":$prev") && ok "CHECK" || fail "CHECK: $out"
bad=$(jq -c '.ips[0].address = "10.244.1.250/32"' <<<"$prev")
out=$(cni CHECK cid-a "$P-a" eth0 1.0.0 "\"prevResult\":$bad"); rc=$?
[ $rc != 0 ] && [ -n "$(code_of "$out")" ] && ok "CHECK detects a wrong prevResult" || fail "CHECK wrong prevResult: rc=$rc $out"
ip -n "$P-a" addr del "$ipa/32" dev eth0
out=$(cni CHECK cid-a "$P-a" eth0 1.0.0 "\"prevResult\":$prev"); expect_code 101 $? "$out" "CHECK with the pod address removed"
ip -n "$P-a" addr add "$ipa/32" dev eth0
# removing the last address flushed the pod's routes and neighbours too
out=$(cni CHECK cid-a "$P-a" eth0 1.0.0 "\"prevResult\":$prev"); expect_code 101 $? "$out" "CHECK with the gateway neighbour gone"
ip -n "$P-a" neigh replace 169.254.1.1 lladdr "$hostmac" dev eth0 nud permanent
out=$(cni CHECK cid-a "$P-a" eth0 1.0.0 "\"prevResult\":$prev"); expect_code 101 $? "$out" "CHECK with the default route gone"
ip -n "$P-a" route add default via 169.254.1.1 dev eth0 onlink
ip -n "$NODE" route del "$ipa/32" dev "$host"
out=$(cni CHECK cid-a "$P-a" eth0 1.0.0 "\"prevResult\":$prev"); expect_code 101 $? "$out" "CHECK with the node route gone"
ip -n "$NODE" route add "$ipa/32" dev "$host"
out=$(cni CHECK cid-a "$P-a" eth0 1.0.0 "\"prevResult\":$prev") && ok "CHECK passes again once repaired" || fail "CHECK after repair: $out"

# ---- ADD on an existing attachment / interface fails and changes nothing
V=$(veths); A=$(allocs)
out=$(cni ADD cid-a "$P-a"); expect_code 100 $? "$out" "ADD of an attached container"
same_state "$V" "$A" "ADD of an attached container"
out=$(cni ADD cid-other "$P-a"); expect_code 100 $? "$out" "ADD with eth0 already in the netns"
same_state "$V" "$A" "ADD with existing eth0"
ip netns exec "$P-a" ping -c1 -W1 "$ipb" >/dev/null && ok "pod a still works" || fail "pod a broken by failed ADD"

# ---- a failure after IPAM allocation rolls everything back
# (the kernel refuses "all" as an interface name after the plugin accepted it)
pod rb
out=$(cni ADD cid-rb "$P-rb" all); rc=$?
[ $rc != 0 ] && [ -n "$(code_of "$out")" ] && ok "ADD failing at veth creation -> code $(code_of "$out")" || fail "ADD ifname=all: rc=$rc $out"
same_state "$V" "$A" "ADD rollback"

# ---- bad input: spec codes, nothing left behind
pod bad
run_bad() {   # run_bad WANT WHAT conf-text env...
	local want=$1 what=$2 c=$3 out rc
	shift 3
	out=$(printf '%s' "$c" | in_node env -i PATH="$PATH" "$@" "$BIN/gannet-cni"); rc=$?
	expect_code "$want" $rc "$out" "$what"
	[ "$(ip -n "$P-bad" -br link | grep -vc '^lo')" = 0 ] || fail "$what: pod got an interface"
	same_state "$V" "$A" "$what"
}
GOOD=(CNI_COMMAND=ADD CNI_CONTAINERID=cid-bad CNI_NETNS=/run/netns/$P-bad CNI_IFNAME=eth0 CNI_PATH=$BIN)
run_bad 6 "malformed JSON" '{"cniVersion": "1.0.0", "name": ' "${GOOD[@]}"
run_bad 1 "unknown cniVersion" "$(conf 7.7.7)" "${GOOD[@]}"
run_bad 7 "missing agentSocket" '{"cniVersion":"1.0.0","name":"gannet","type":"gannet-cni"}' "${GOOD[@]}"
run_bad 4 "missing CNI_COMMAND" "$(conf 1.0.0)" "${GOOD[@]:1}"
run_bad 4 "missing CNI_CONTAINERID" "$(conf 1.0.0)" "${GOOD[@]:0:1}" "${GOOD[@]:2}"
run_bad 4 "missing CNI_NETNS" "$(conf 1.0.0)" "${GOOD[@]:0:2}" "${GOOD[@]:3}"
run_bad 4 "missing CNI_IFNAME" "$(conf 1.0.0)" "${GOOD[@]:0:3}" "${GOOD[@]:4}"
run_bad 4 "missing CNI_PATH" "$(conf 1.0.0)" "${GOOD[@]:0:4}"
run_bad 3 "nonexistent netns" "$(conf 1.0.0)" CNI_COMMAND=ADD CNI_CONTAINERID=cid-bad \
	CNI_NETNS=/run/netns/$P-nonexistent CNI_IFNAME=eth0 CNI_PATH="$BIN"
run_bad 3 "netns path that is not a netns" "$(conf 1.0.0)" CNI_COMMAND=ADD CNI_CONTAINERID=cid-bad \
	CNI_NETNS="$D/agent.yaml" CNI_IFNAME=eth0 CNI_PATH="$BIN"

# ---- concurrent ADDs never hand out one IP twice
N=12
for i in $(seq $N); do pod "c$i"; done
# (wait on these pids only: a bare wait would also wait for the agent)
fds_before=$(ls /proc/"$AGENT_PID"/fd | wc -l)
t0=$(date +%s%N)
pids=()
for i in $(seq $N); do
	(cni ADD "cid-c$i" "$P-c$i" >"$D/c$i.json"; echo $? >"$D/c$i.rc") &
	pids+=($!)
done
wait "${pids[@]}"
echo "info: $N concurrent ADDs took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
okc=0
for i in $(seq $N); do [ "$(cat "$D/c$i.rc")" = 0 ] && okc=$((okc + 1)); done
dups=$( (for i in $(seq $N); do pod_ip "c$i"; done; echo "$ipa"; echo "$ipb") | sort | uniq -d | wc -l)
[ $okc = $N ] && [ "$dups" = 0 ] && [ "$(allocs)" = $((A + N)) ] && [ "$(veths)" = $((V + N)) ] &&
	ok "$N concurrent ADDs: distinct IPs" || fail "concurrent ADDs: $okc/$N ok, $dups duplicates, $(allocs) allocations"
pids=()
for i in $(seq $N); do (cni DEL "cid-c$i" "$P-c$i" >/dev/null; echo $? >"$D/c$i.rc") & pids+=($!); done
wait "${pids[@]}"
okc=0
for i in $(seq $N); do [ "$(cat "$D/c$i.rc")" = 0 ] && okc=$((okc + 1)); done
[ $okc = $N ] && [ "$(allocs)" = "$A" ] && [ "$(veths)" = "$V" ] && ok "$N concurrent DELs" || fail "concurrent DELs: $okc/$N, allocations $(allocs)"
fds_after=$(ls /proc/"$AGENT_PID"/fd | wc -l)
[ "$fds_after" -le $((fds_before + 2)) ] && ok "no fd leak in the agent ($fds_before -> $fds_after)" || fail "agent fds $fds_before -> $fds_after"

# ---- SIGKILL + restart: traffic keeps flowing, allocations survive
before=$(jq -cS '[.allocations[] | {ip, containerID, ifname}] | sort_by(.ip)' "$STATE/ipam.json")
ip netns exec "$P-a" ping -i 0.05 -c 80 -W1 "$ipb" >"$D/ping.log" 2>&1 &
PING=$!
sleep 0.5
agent_kill KILL
out=$(cni ADD cid-x "$P-bad"); expect_code 11 $? "$out" "ADD while agent is dead"
out=$(cni STATUS - -); expect_code 50 $? "$out" "STATUS while agent is dead"
sleep 0.5
agent_start
wait $PING
loss=$(grep -o '[0-9.]*% packet loss' "$D/ping.log")
[ "$loss" = "0% packet loss" ] && ok "no loss across SIGKILL+restart" || fail "ping across restart: $loss"
after=$(jq -cS '[.allocations[] | {ip, containerID, ifname}] | sort_by(.ip)' "$STATE/ipam.json")
[ "$before" = "$after" ] && ok "allocations kept across restart" || fail "allocations changed: $before -> $after"
[ "$(metric gannet_endpoints)" = 2 ] && ok "endpoints reconciled" || fail "endpoints after restart: $(metric gannet_endpoints)"
out=$(cni CHECK cid-a "$P-a" eth0 1.0.0 "\"prevResult\":$prev") && ok "CHECK after restart" || fail "CHECK after restart: $out"
add_pod d || exit 1
ipd=$(pod_ip d)
[ "$ipd" != "$ipa" ] && [ "$ipd" != "$ipb" ] && ok "new ADD after restart gets a fresh IP ($ipd)" || fail "IP reused after restart: $ipd"

# ---- reconcile at start: re-adds a missing endpoint, drops a stale one,
# finishes the rollback of an ADD the previous agent died in
if [ -x "$BIN/gannet-dp" ]; then
	agent_kill KILL
	dp() { in_node "$BIN/gannet-dp" -r "$PIN" -n "$P" "$@"; }
	dp ep-del --ip "$ipb" || fail "gannet-dp ep-del"
	ip -n "$NODE" link add stale0 type veth peer name stale1   # no dummy module here
	dp ep-add --ip 10.244.1.200 --ifname stale0 --mac 02:00:00:00:00:01 || fail "gannet-dp ep-add"
	half=gnt$(printf 'halfeth0' | sha256sum | cut -c1-11)
	ip -n "$NODE" link add "$half" type veth peer name half0
	jq '.allocations += [{"ip": "10.244.1.99", "containerID": "half", "ifname": "eth0"}]' \
		"$STATE/ipam.json" >"$D/ipam.tmp" && mv "$D/ipam.tmp" "$STATE/ipam.json"
	agent_start
	eps=$(dp -j show | jq -r '[.endpoints[].ip] | sort | join(" ")')
	want=$(printf '%s\n' "$ipa" "$ipb" "$ipd" | sort | tr '\n' ' ' | sed 's/ $//')
	[ "$eps" = "$want" ] && ok "reconcile: endpoints = IPAM ($eps)" || fail "reconcile: endpoints '$eps', want '$want'"
	ip netns exec "$P-a" ping -c1 -W1 "$ipb" >/dev/null && ok "reconcile: re-added endpoint forwards" || fail "pod b unreachable after reconcile"
	ip -n "$NODE" link show "$half" >/dev/null 2>&1 && fail "unfinished ADD's veth left" || ok "reconcile: unfinished ADD's veth removed"
	grep -q '"half"' "$STATE/ipam.json" && fail "unfinished ADD's IP kept" || ok "reconcile: unfinished ADD's IP released"
	ip -n "$NODE" link del stale0
else
	echo "note: $BIN/gannet-dp missing, reconcile checks not run"
fi

# ---- SIGKILL in the middle of concurrent ADDs: after the restart every
# allocation has its veth and pod interface and vice versa, and every ADD
# that reported success is intact
M=8
for i in $(seq $M); do pod "k$i"; done
pids=()
for i in $(seq $M); do
	(cni ADD "cid-k$i" "$P-k$i" >"$D/k$i.json"; echo $? >"$D/k$i.rc") &
	pids+=($!)
done
sleep 0.05
agent_kill KILL
wait "${pids[@]}"
agent_start
bad=0 done_ok=0
for i in $(seq $M); do
	h=gnt$(printf '%s' "cid-k${i}eth0" | sha256sum | cut -c1-11)
	alloc=$(jq --arg c "cid-k$i" '[.allocations[] | select(.containerID == $c)] | length' "$STATE/ipam.json")
	veth=0; ip -n "$NODE" link show "$h" >/dev/null 2>&1 && veth=1
	podif=0; ip -n "$P-k$i" link show eth0 >/dev/null 2>&1 && podif=1
	[ "$alloc$veth$podif" = 000 ] || [ "$alloc$veth$podif" = 111 ] || { bad=1; echo "k$i: alloc=$alloc veth=$veth pod=$podif"; }
	if [ "$(cat "$D/k$i.rc")" = 0 ]; then
		done_ok=$((done_ok + 1))
		[ "$alloc" = 1 ] || { bad=1; echo "k$i: ADD succeeded but no allocation"; }
	fi
	[ "$alloc" = 1 ] && { cni DEL "cid-k$i" "$P-k$i" >/dev/null || bad=1; }
done
[ $bad = 0 ] && ok "SIGKILL during $M concurrent ADDs: consistent after restart ($done_ok completed)" ||
	fail "inconsistent state after SIGKILL during ADDs"

# ---- DEL, DEL twice, DEL with the netns gone
out=$(cni DEL cid-b "$P-b") && ok "DEL" || fail "DEL: $out"
grep -q "\"$ipb\"" "$STATE/ipam.json" && fail "DEL did not release $ipb" || ok "DEL released $ipb"
[ "$(ip -n "$P-b" -br link | grep -vc '^lo')" = 0 ] && ok "DEL removed the pod interface" || fail "pod b interface left"
out=$(cni DEL cid-b "$P-b") && ok "DEL twice" || fail "second DEL: $out"
ip netns del "$P-a"
out=$(cni DEL cid-a "$P-a") && ok "DEL with the netns gone" || fail "DEL without netns: $out"
grep -q "\"$ipa\"" "$STATE/ipam.json" && fail "DEL (no netns) kept $ipa" || ok "DEL (no netns) released $ipa"
[ "$(metric gannet_endpoints)" = 1 ] && ok "endpoints after DELs: 1" || fail "endpoints: $(metric gannet_endpoints)"

# ---- GC keeps valid attachments only
add_pod e || exit 1
ip -n "$NODE" link add gnt0123456789a type veth peer name orphan1
[ -x "$BIN/gannet-dp" ] && in_node "$BIN/gannet-dp" -r "$PIN" -n "$P" ep-add --ip 10.244.1.201 \
	--ifname orphan1 --mac 02:00:00:00:00:03
out=$(cni GC - - eth0 1.1.0 '"cni.dev/valid-attachments":[{"containerID":"cid-e","ifname":"eth0"}]') &&
	ok "GC" || fail "GC: $out"
[ "$(allocs)" = 1 ] && jq -e '.allocations[0].containerID == "cid-e"' "$STATE/ipam.json" >/dev/null &&
	[ "$(veths)" = 1 ] && ok "GC released everything else" || fail "GC left $(allocs) allocations, $(veths) veths"
[ "$(metric gannet_endpoints)" = 1 ] && ok "GC removed the orphan endpoint" || fail "GC: endpoints $(metric gannet_endpoints)"
ip -n "$NODE" link del orphan1 2>/dev/null

# ---- SIGHUP reloads peers
[ "$(metric gannet_remote_nodes)" = 1 ] || fail "remote nodes before reload: $(metric gannet_remote_nodes)"
write_config "  - {name: node3, nodeIP: 192.168.251.3, podCIDR: 10.244.3.0/24}"
kill -HUP "$AGENT_PID"
for _ in $(seq 20); do [ "$(metric gannet_remote_nodes)" = 2 ] && break; sleep 0.1; done
[ "$(metric gannet_remote_nodes)" = 2 ] && ok "SIGHUP added a peer" || fail "SIGHUP: remote nodes $(metric gannet_remote_nodes)"
write_config ""
sed -i '/node2/d' "$D/agent.yaml"
kill -HUP "$AGENT_PID"
for _ in $(seq 20); do [ "$(metric gannet_remote_nodes)" = 0 ] && break; sleep 0.1; done
[ "$(metric gannet_remote_nodes)" = 0 ] && ok "SIGHUP removed peers" || fail "SIGHUP: remote nodes $(metric gannet_remote_nodes)"

agent_kill TERM
[ ! -e "$SOCK" ] && ok "clean stop removes the socket" || fail "socket left after TERM"
# sanitizer builds (BUILD=build-san) report into the agent log
if grep -E "runtime error|AddressSanitizer|LeakSanitizer" "$D/agent.log" "$D/bad.log"; then
	fail "sanitizer reports in the agent log"
fi
echo
[ $FAILS = 0 ] && { echo "all CNI checks passed"; exit 0; }
echo "$FAILS CNI checks failed; agent log:"; tail -30 "$D/agent.log"
exit 1
