# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Test cluster in network namespaces: a fabric netns with a bridge, N node
# netns each plugged into it by an underlay veth (eth0) and running a
# gannet-agent, pods as netns wired by invoking gannet-cni exactly as a
# container runtime does (CNI_* env vars, network config on stdin, a netns
# path), and optional external clients on the fabric.
#
# Source it from a suite or script (bash). Every name carries a per-run prefix
# (CL_RUN, e.g. gc4711a3f0) so parallel runs never collide, and an EXIT trap
# removes every netns, pin dir, state dir, socket and process of the run, even
# on failure. Nothing is ever added to the root network namespace.
#
#   . tests/lib/cluster.sh
#   cluster_require_root_tools            # exit 77 with a reason if missing
#   cluster_up 3                          # fabric + 3 nodes + agents
#   pod_add 1 a; pod_add 2 b              # pod "a" on node 1, "b" on node 2
#   in_pod a ping -c1 "$(pod_ip b)"
#   agent_kill 1 KILL; agent_start 1
#   cluster_add_node                      # node 4; others reload peers (SIGHUP)
#   client_add ext; in_client ext ping "$(node_ip 1)"
#   pod_del a
#   (cluster_down runs by itself at exit)
#
# Layout (all inside namespaces created here):
#   fabric netns  $CL_RUN-fab   bridge br0, one port n<i> per node, c<k> per client
#   node netns    $CL_RUN-n<i>  eth0 192.168.250.(10+i)/24, pod CIDR 10.244.<i>.0/24
#   pod netns     $CL_RUN-p-<name>
#   client netns  $CL_RUN-c-<name> eth0 192.168.250.(100+k)/24
#   state         $CL_DIR (configs, agent state dirs, sockets, logs)
#   pins          $CL_PIN/<node>/
#
# Functions: cluster_up N, cluster_add_node, cluster_down, cluster_logs,
# cluster_require_root_tools/_bins/_feature (skip with exit 77 and a reason),
# node_ns_up/fabric_up/fabric_plug/client_add (topology without agents, used
# by the baselines), agent_start/agent_kill [SIG]/agent_restart/agent_reload,
# pod_add/pod_check/pod_del/pod_ip/pod_node/pod_mac/pod_host_veth, cni_exec
# (any CNI command), in_node/in_pod/in_client/in_fabric/in_ns, ns_bg/pod_bg/node_bg
# (background commands killed at teardown), cluster_on_exit, t_check/t_ok/
# t_fail/t_done (assertions ending with "N passed, N failed").
# A run killed before its EXIT trap is cleaned by the next run
# (cluster_gc_stale, keyed by the owner pid in $CL_DIR/owner.pid).
#
# Environment knobs: BUILD (binaries, default build), CL_UNDERLAY_MODE
# (auto|xdp|tc), CL_KEEP=1 (do not tear down; prints how to clean up),
# CL_VERBOSE=1 (agents run with -v).

: "${GANNET_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${BUILD:=build}"
case $BUILD in /*) CL_BIN=$BUILD/bin ;; *) CL_BIN=$GANNET_ROOT/$BUILD/bin ;; esac
# "gc" + pid + random: distinct from other harnesses' g<pid> names, since
# teardown deletes every netns whose name starts with "$CL_RUN-".
: "${CL_RUN:=gc$$$(printf '%04x' $RANDOM)}"
CL_DIR=${CL_DIR:-/tmp/gannet-test-$CL_RUN}
CL_PIN=${CL_PIN:-/sys/fs/bpf/gannet-test-$CL_RUN}
CL_FAB=$CL_RUN-fab
CL_SUBNET=192.168.250
CL_NODES=0
CL_UNDERLAY_MODE=${CL_UNDERLAY_MODE:-auto}
declare -gA CL_AGENT_PID=()     # node index -> agent pid
declare -gA CL_NODE_MODE=()     # node index -> underlay mode (default CL_UNDERLAY_MODE)
declare -gA CL_POD_NODE=()      # pod name -> node index
declare -gA CL_POD_IP=()        # pod name -> IPv4 (no prefix)
declare -gA CL_CLIENT_IP=()     # client name -> IPv4
declare -ga CL_BG_PIDS=()       # background helpers (iperf3 servers...) to kill
declare -ga CL_EXIT_HOOKS=()    # extra cleanup commands (run first)
CL_CLIENTS=0
CL_FAILED_LOGS_SHOWN=0

cl_log() { printf '[cluster %s] %s\n' "$CL_RUN" "$*" >&2; }
cl_die() { cl_log "ERROR: $*"; exit 1; }
# skip: exit 77 with the reason as the last output line (tests/run.sh shows it)
cl_skip() { echo "SKIP: $*"; exit 77; }

# ---------------------------------------------------------------- checks
cluster_require_root_tools() {
	[ "$(id -u)" = 0 ] || cl_skip "needs root (netns, BPF)"
	local t
	for t in ip nsenter jq ethtool; do
		command -v "$t" >/dev/null || cl_skip "missing tool: $t"
	done
	mountpoint -q /sys/fs/bpf 2>/dev/null || cl_skip "bpffs not mounted at /sys/fs/bpf"
	# A throwaway netns with a veth pair proves netns+veth support.
	local ns=$CL_RUN-probe
	ip netns add "$ns" 2>/dev/null || cl_skip "cannot create network namespaces"
	if ! ip -n "$ns" link add pa0 type veth peer name pb0 2>/dev/null; then
		ip netns del "$ns"; cl_skip "kernel lacks veth"
	fi
	if ! ip -n "$ns" link add pbr0 type bridge 2>/dev/null; then
		ip netns del "$ns"; cl_skip "kernel lacks bridge"
	fi
	ip netns del "$ns"
}

cluster_require_bins() {
	local b
	for b in "$@"; do
		[ -x "$CL_BIN/$b" ] || cl_skip "$CL_BIN/$b not built (make all)"
	done
}

# Optional kernel features (skip if missing): vxlan
cluster_require_feature() {
	local ns=$CL_RUN-probe ok=1
	ip netns add "$ns" 2>/dev/null || cl_skip "cannot create network namespaces"
	case $1 in
	vxlan) ip -n "$ns" link add vx type vxlan id 1 dstport 8472 local 127.0.0.1 nolearning 2>/dev/null || ok=0 ;;
	*) ip netns del "$ns"; cl_die "unknown feature $1" ;;
	esac
	ip netns del "$ns"
	[ $ok = 1 ] || cl_skip "kernel lacks $1"
}

# ---------------------------------------------------------------- naming
node_ns()   { echo "$CL_RUN-n$1"; }
node_name() { echo "node$1"; }
node_ip()   { echo "$CL_SUBNET.$((10 + $1))"; }
node_pod_cidr() { echo "10.244.$1.0/24"; }
node_sock() { echo "$CL_DIR/node$1/agent.sock"; }
node_log()  { echo "$CL_DIR/node$1/agent.log"; }
pod_ns()    { echo "$CL_RUN-p-$1"; }
pod_ip()    { echo "${CL_POD_IP[$1]:?unknown pod $1}"; }
pod_node()  { echo "${CL_POD_NODE[$1]:?unknown pod $1}"; }
pod_cid()   { echo "$CL_RUN-$1"; }
client_ns() { echo "$CL_RUN-c-$1"; }
client_ip() { echo "${CL_CLIENT_IP[$1]:?unknown client $1}"; }
pods()      { echo "${!CL_POD_NODE[@]}"; }

# Run a command in a namespace. nsenter (not `ip netns exec`) keeps the
# mount namespace, so /sys/fs/bpf stays visible to BPF tools; the flip side
# is that /sys/class/net still lists the root namespace's devices: ask
# ip -n NS (ns_mac) instead.
in_ns()     { local ns=$1; shift; nsenter --net="/run/netns/$ns" -- "$@"; }
in_node()   { local n=$1; shift; in_ns "$(node_ns "$n")" "$@"; }
in_pod()    { local p=$1; shift; in_ns "$(pod_ns "$p")" "$@"; }
in_fabric() { in_ns "$CL_FAB" "$@"; }
in_client() { local c=$1; shift; in_ns "$(client_ns "$c")" "$@"; }

# Background command in a namespace that cluster_down kills. nsenter execs
# the command, so the recorded pid is the command's own (killing a
# backgrounded shell function would leave its child running, and a process
# keeps a deleted netns alive). The pid is left in CL_LAST_PID (not
# printed: $(ns_bg ...) would run it in a subshell). Redirections given to
# ns_bg apply to the command.
ns_bg() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" -- "$@" &
	CL_LAST_PID=$!
	CL_BG_PIDS+=($!)
}
pod_bg()  { local p=$1; shift; ns_bg "$(pod_ns "$p")" "$@"; }
node_bg() { local n=$1; shift; ns_bg "$(node_ns "$n")" "$@"; }
cluster_on_exit() { CL_EXIT_HOOKS+=("$*"); }

# ---------------------------------------------------------------- fabric
# Fabric only (no nodes): a netns with bridge br0. Idempotent.
fabric_up() {
	[ -e "/run/netns/$CL_FAB" ] && return 0
	cluster_gc_stale
	mkdir -p "$CL_DIR"
	echo $$ >"$CL_DIR/owner.pid"
	ip netns add "$CL_FAB"
	ip -n "$CL_FAB" link set lo up
	ip -n "$CL_FAB" link add br0 type bridge
	ip -n "$CL_FAB" link set br0 up
}

# Plug netns $1 into the fabric: its eth0 gets $2/24, fabric side port $3.
fabric_plug() {
	local ns=$1 ip=$2 port=$3
	ip -n "$CL_FAB" link add "$port" type veth peer name eth0 netns "$ns"
	ip -n "$CL_FAB" link set "$port" master br0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$ip/24" dev eth0
	ip -n "$ns" link set eth0 up
}

# Leftovers of runs whose shell died without its EXIT trap (SIGKILL, CI
# timeout): each run records its owner pid in $CL_DIR/owner.pid; if that
# process is gone, its processes, namespaces, pins and state are removed.
cluster_gc_stale() {
	local f dir run owner pid ns
	for f in /tmp/gannet-test-gc*/owner.pid; do
		[ -f "$f" ] || continue
		dir=${f%/owner.pid}
		run=${dir#/tmp/gannet-test-}
		[ "$run" = "$CL_RUN" ] && continue
		owner=$(cat "$f" 2>/dev/null)
		[ -n "$owner" ] && kill -0 "$owner" 2>/dev/null && continue
		cl_log "removing leftovers of dead run $run"
		for pid in $(CL_DIR=$dir cl_run_pids); do kill -KILL "$pid" 2>/dev/null; done
		for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
			case $ns in "$run"-*) ip netns del "$ns" 2>/dev/null ;; esac
		done
		rm -rf "/sys/fs/bpf/gannet-test-$run" "$dir"
	done
}

# A node netns on the fabric, without an agent (baselines use this too).
node_ns_up() {
	local i=$1 ns
	ns=$(node_ns "$i")
	fabric_up
	ip netns add "$ns"
	fabric_plug "$ns" "$(node_ip "$i")" "n$i"
	# Nodes route between pods and the underlay.
	in_ns "$ns" sysctl -qw net.ipv4.ip_forward=1
	mkdir -p "$CL_DIR/node$i/state"
}

# An external client on the fabric (e.g. to reach NodePorts later).
client_add() {
	local name=$1 ns ip
	CL_CLIENTS=$((CL_CLIENTS + 1))
	ns=$(client_ns "$name")
	ip=$CL_SUBNET.$((100 + CL_CLIENTS))
	fabric_up
	ip netns add "$ns"
	fabric_plug "$ns" "$ip" "c$CL_CLIENTS"
	CL_CLIENT_IP[$name]=$ip
}

# ---------------------------------------------------------------- agents
agent_write_config() {
	local i=$1 n=$2 f j
	f=$CL_DIR/node$i/agent.yaml
	{
		echo "nodeName: $(node_name "$i")"
		echo "nodeIP: $(node_ip "$i")"
		echo "underlayInterface: eth0"
		echo "podCIDR: $(node_pod_cidr "$i")"
		echo "clusterCIDR: 10.244.0.0/16"
		echo "mtu: 1450"
		echo "stateDir: $CL_DIR/node$i/state"
		echo "socket: $(node_sock "$i")"
		echo "pinRoot: $CL_PIN"
		echo "metricsAddress: $(node_ip "$i"):9962"
		echo "underlayMode: ${CL_NODE_MODE[$i]:-$CL_UNDERLAY_MODE}"
		echo "peers:"
		for ((j = 1; j <= n; j++)); do
			[ "$j" = "$i" ] && continue
			echo "  - {name: $(node_name "$j"), nodeIP: $(node_ip "$j"), podCIDR: $(node_pod_cidr "$j")}"
		done
	} >"$f"
}

# Start node i's agent in its netns and wait until it serves CNI requests.
agent_start() {
	local i=$1 args=() t
	[ "${CL_VERBOSE:-0}" = 1 ] && args+=(-v)
	mkdir -p "$CL_PIN"
	# nsenter directly (not in_node): $! must be the agent itself.
	nsenter --net="/run/netns/$(node_ns "$i")" -- "$CL_BIN/gannet-agent" \
		--config "$CL_DIR/node$i/agent.yaml" "${args[@]}" >>"$(node_log "$i")" 2>&1 &
	CL_AGENT_PID[$i]=$!
	for ((t = 0; t < 100; t++)); do
		if ! kill -0 "${CL_AGENT_PID[$i]}" 2>/dev/null; then
			cl_log "agent of node$i exited; log:"; tail -n 30 "$(node_log "$i")" >&2
			return 1
		fi
		if [ -S "$(node_sock "$i")" ] && cni_status "$i" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	cl_log "agent of node$i not ready after 10s; log:"; tail -n 30 "$(node_log "$i")" >&2
	return 1
}

# agent_kill i [SIGNAL]: signal the agent (default TERM) and reap it.
agent_kill() {
	local i=$1 sig=${2:-TERM} pid=${CL_AGENT_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -s "$sig" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset 'CL_AGENT_PID[$i]'
	# A SIGKILLed agent leaves its socket file behind; the next start
	# must cope with that (real-life crash), so it is left in place.
	return 0
}
agent_restart() { agent_kill "$1" "${2:-TERM}"; agent_start "$1"; }
agent_pid() { echo "${CL_AGENT_PID[$1]:-}"; }
agent_reload() { kill -HUP "${CL_AGENT_PID[$1]}"; }

# ---------------------------------------------------------------- cluster
# cluster_up N: fabric, N nodes, one agent per node (peers = the others).
# CL_NO_AGENT=1 builds the namespaces only.
cluster_up() {
	local n=$1 i
	CL_NODES=$n
	[ "${CL_NO_AGENT:-0}" = 1 ] || cluster_require_bins gannet-agent gannet-cni
	for ((i = 1; i <= n; i++)); do node_ns_up "$i"; done
	# Wait for the fabric to pass traffic (bridge ports come up async).
	for ((i = 2; i <= n; i++)); do
		in_node 1 ping -c1 -W1 -w5 "$(node_ip "$i")" >/dev/null || cl_die "underlay node1 -> node$i down"
	done
	[ "${CL_NO_AGENT:-0}" = 1 ] && return 0
	for ((i = 1; i <= n; i++)); do
		agent_write_config "$i" "$n"
		agent_start "$i" || cl_die "agent node$i failed to start"
	done
	cl_log "cluster up: $n nodes (state $CL_DIR, pins $CL_PIN)"
}

# cluster_add_node: one more node and agent; the existing agents learn it
# from their rewritten config on SIGHUP (peers reload). Prints its index.
cluster_add_node() {
	local i=$((CL_NODES + 1)) j
	CL_NODES=$i
	node_ns_up "$i"
	in_node 1 ping -c1 -W1 -w5 "$(node_ip "$i")" >/dev/null || cl_die "underlay node1 -> node$i down"
	for ((j = 1; j <= i; j++)); do agent_write_config "$j" "$i"; done
	for ((j = 1; j < i; j++)); do
		[ -n "${CL_AGENT_PID[$j]:-}" ] && agent_reload "$j"
	done
	agent_start "$i" || cl_die "agent node$i failed to start"
}

# ---------------------------------------------------------------- CNI
cni_conf() {
	printf '{"cniVersion":"%s","name":"gannet","type":"gannet-cni","agentSocket":"%s"}\n' \
		"${2:-1.0.0}" "$(node_sock "$1")"
}

# cni_exec node COMMAND containerid netns-path [ifname]: one CNI invocation
# the way a runtime does it; prints the plugin's stdout, returns its status.
cni_exec() {
	local i=$1 cmd=$2 cid=$3 netns=$4 ifname=${5:-eth0} ver=1.0.0
	case $cmd in STATUS|GC) ver=1.1.0 ;; esac
	cni_conf "$i" "$ver" | in_node "$i" env -i PATH="$PATH" \
		CNI_COMMAND="$cmd" CNI_CONTAINERID="$cid" CNI_NETNS="$netns" \
		CNI_IFNAME="$ifname" CNI_PATH="$CL_BIN" "$CL_BIN/gannet-cni"
}
cni_status() {
	cni_conf "$1" 1.1.0 | in_node "$1" env -i PATH="$PATH" CNI_COMMAND=STATUS \
		CNI_PATH="$CL_BIN" "$CL_BIN/gannet-cni"
}

# pod_add node pod: netns + CNI ADD; records the pod's IP.
pod_add() {
	local i=$1 p=$2 ns out ip
	ns=$(pod_ns "$p")
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	CL_POD_NODE[$p]=$i
	if ! out=$(cni_exec "$i" ADD "$(pod_cid "$p")" "/run/netns/$ns"); then
		cl_log "CNI ADD of pod $p on node$i failed: $out"
		return 1
	fi
	mkdir -p "$CL_DIR/pods"
	echo "$out" >"$CL_DIR/pods/$p.json"
	ip=$(jq -r '.ips[0].address' <<<"$out") || { cl_log "bad ADD result: $out"; return 1; }
	CL_POD_IP[$p]=${ip%/*}
	[ -n "${CL_POD_IP[$p]}" ] && [ "${CL_POD_IP[$p]}" != null ] || { cl_log "no IP in ADD result: $out"; return 1; }
}

# pod_check pod: CNI CHECK with the ADD result as prevResult (as the spec
# wants it); returns the plugin's status.
pod_check() {
	local p=$1 i
	i=$(pod_node "$p")
	jq -c --arg sock "$(node_sock "$i")" \
		'{cniVersion: "1.0.0", name: "gannet", type: "gannet-cni", agentSocket: $sock, prevResult: .}' \
		"$CL_DIR/pods/$p.json" | in_node "$i" env -i PATH="$PATH" CNI_COMMAND=CHECK \
		CNI_CONTAINERID="$(pod_cid "$p")" CNI_NETNS="/run/netns/$(pod_ns "$p")" \
		CNI_IFNAME=eth0 CNI_PATH="$CL_BIN" "$CL_BIN/gannet-cni"
}

# pod_del pod [--keep-netns]: CNI DEL (returns its status), then the netns.
pod_del() {
	local p=$1 keep=${2:-} i rc=0
	i=$(pod_node "$p")
	cni_exec "$i" DEL "$(pod_cid "$p")" "/run/netns/$(pod_ns "$p")" >/dev/null || rc=$?
	if [ "$keep" != --keep-netns ]; then
		ip netns del "$(pod_ns "$p")" 2>/dev/null
		unset 'CL_POD_NODE[$p]' 'CL_POD_IP[$p]'
	fi
	return $rc
}

# Host-side veth of a pod (in its node netns), from the ADD result.
pod_host_veth() {
	jq -r '[.interfaces[] | select(.sandbox == null or .sandbox == "")][0].name' \
		"$CL_DIR/pods/$1.json"
}
# MAC of a device in a netns. Not via /sys: with nsenter the sysfs mount
# still shows the root namespace's devices.
ns_mac() { ip -n "$1" -j link show dev "$2" | jq -r '.[0].address'; }
pod_mac() { ns_mac "$(pod_ns "$1")" eth0; }

# ---------------------------------------------------------------- assertions
# t_ok/t_fail count results; t_check runs a command quietly and records it;
# t_done prints "N passed, N failed" and exits 1 if anything failed.
T_PASS=0
T_FAIL=0
t_ok()   { T_PASS=$((T_PASS + 1)); echo "ok   - $*"; }
t_fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL - $*"; }
t_check() {
	local what=$1 out=$CL_DIR/t_check.out
	shift
	# In this shell, not $(...): the command may set harness state
	# (pod_add records the pod's IP).
	mkdir -p "$CL_DIR"
	if "$@" >"$out" 2>&1; then
		t_ok "$what"
	else
		t_fail "$what"
		tail -n 5 "$out" | sed 's/^/       /'
	fi
}
t_done() {
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ] || exit 1
}

# Stops every agent (SIGTERM, so sanitizer builds print their leak report)
# and fails if an agent log holds a sanitizer report or exited non-zero.
cluster_stop_agents_checked() {
	local i pid rc bad=0
	for i in "${!CL_AGENT_PID[@]}"; do
		pid=${CL_AGENT_PID[$i]}
		kill -TERM "$pid" 2>/dev/null
		wait "$pid"
		rc=$?
		unset 'CL_AGENT_PID[$i]'
		if [ $rc -ne 0 ]; then
			echo "agent node$i exited with status $rc"
			bad=1
		fi
		if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$(node_log "$i")"; then
			echo "agent node$i: sanitizer report:"
			grep -E -A8 'AddressSanitizer|LeakSanitizer|runtime error:' "$(node_log "$i")" | head -n 30
			bad=1
		fi
	done
	return $bad
}

# ---------------------------------------------------------------- teardown
cluster_logs() {
	local i f
	echo "===== cluster $CL_RUN diagnostics ====="
	for f in "$CL_DIR"/node*/agent.log; do
		[ -f "$f" ] || continue
		echo "----- $f (last 40 lines)"; tail -n 40 "$f"
	done
	for ((i = 1; i <= CL_NODES; i++)); do
		[ -e "/run/netns/$(node_ns "$i")" ] || continue
		echo "----- node$i links/routes"
		in_node "$i" ip -br addr 2>&1
		in_node "$i" ip route 2>&1
	done
}

# Pids of processes whose command line mentions this run's state dir.
cl_run_pids() {
	local f pid
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		[ "$pid" = $$ ] && continue
		{ tr '\0' ' ' <"$f"; } 2>/dev/null | grep -qF -- "$CL_DIR/" && echo "$pid"
	done
}

cluster_down() {
	local h pid i ns
	for h in "${CL_EXIT_HOOKS[@]}"; do eval "$h" 2>/dev/null; done
	CL_EXIT_HOOKS=()
	for pid in "${CL_BG_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for i in "${!CL_AGENT_PID[@]}"; do
		kill -TERM "${CL_AGENT_PID[$i]}" 2>/dev/null
	done
	for i in "${!CL_AGENT_PID[@]}"; do
		pid=${CL_AGENT_PID[$i]}
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	CL_AGENT_PID=()
	for pid in "${CL_BG_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	CL_BG_PIDS=()
	# Anything else still running from this run's directory (an agent a
	# test restarted by hand, say): found by its unique path, killed by pid.
	for pid in $(cl_run_pids); do kill -KILL "$pid" 2>/dev/null; done
	# Deleting a netns deletes its veths (and their peers) and detaches
	# the programs attached there; only our prefix is ever touched.
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		case $ns in "$CL_RUN"-*) ip netns del "$ns" 2>/dev/null ;; esac
	done
	[ -d "$CL_PIN" ] && rm -rf "$CL_PIN"
	[ -d "$CL_DIR" ] && rm -rf "$CL_DIR"
	return 0
}

cluster__exit() {
	local rc=$?
	trap - EXIT INT TERM
	if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ "$CL_FAILED_LOGS_SHOWN" = 0 ]; then
		CL_FAILED_LOGS_SHOWN=1
		cluster_logs >&2
	fi
	if [ "${CL_KEEP:-0}" = 1 ]; then
		cl_log "CL_KEEP=1: left namespaces $CL_RUN-*, $CL_DIR, $CL_PIN in place"
	else
		cluster_down
	fi
	exit $rc
}
trap cluster__exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
