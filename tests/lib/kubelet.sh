# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# API-mode cluster for kubelet tests and benchmarks: a live gannet-apiserver
# (tests/lib/apiserver.sh) plus N node namespaces (tests/lib/cluster.sh)
# whose gannet-agents register with it using their own node credentials
# (system:node:<name>, issued with auth_tool). The agents live in node netns
# and the API server listens on 127.0.0.1 of the root netns: each node
# reaches it through a socat relay over a unix socket, so no address or
# route is ever added to the root namespace.
#
#   . tests/lib/cluster.sh; . tests/lib/kubelet.sh
#   kl_require                 # skip (77) when tools/binaries are missing
#   kl_up 2                    # apiserver + 2 nodes with API-mode agents
#   mkpod NAME NODE CONTAINERS-JSON [EXTRA-SPEC-JSON]
#   kexec NODE POD CTR -- argv...   klogs NODE POD [CTR] [QUERY]
# Cleanup (agents, containers, mounts, cgroups, apiserver) is hooked into
# cluster.sh's EXIT trap.

case $BUILD in /*) KL_TOOL=$BUILD/tests/unit/auth_tool ;; *) KL_TOOL=$GANNET_ROOT/$BUILD/tests/unit/auth_tool ;; esac
# cluster.sh owns the EXIT trap; kl_cleanup stops the API server
export APISERVER_NO_TRAP=1
# shellcheck source=tests/lib/apiserver.sh
. "$GANNET_ROOT/tests/lib/apiserver.sh"
CG=gannet-test-$CL_RUN
KL_SYNC_MS=${KL_SYNC_MS:-300}
declare -gA KL_AGENT_PORT=()

kl_require() {
	cluster_require_root_tools
	cluster_require_bins gannet-agent gannet-cni gannet-shim gannet-apiserver gannet-runtime
	local t
	for t in runc socat curl jq; do command -v $t >/dev/null || cl_skip "missing tool: $t"; done
	[ -x "$KL_TOOL" ] || cl_skip "auth_tool not built (make all)"
}

kl_cleanup() {
	local i id st
	for i in "${!CL_AGENT_PID[@]}"; do agent_kill "$i" KILL; done
	# the agents' cluster DNS (dnsmasq) outlives them on purpose: stop it
	# through its pid files (agent/dnssync.c, <stateDir>/dns)
	local f pid
	for f in "$CL_DIR"/node*/state/dns/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null)
		[ -n "$pid" ] && grep -qx dnsmasq "/proc/$pid/comm" 2>/dev/null && kill "$pid" 2>/dev/null
	done
	for ((i = 1; i <= CL_NODES; i++)); do
		st=$CL_DIR/node$i/state/runtime
		[ -d "$st" ] || continue
		for id in $("$CL_BIN/gannet-runtime" --state "$st" --cgroup-parent "$CG/node$i" list 2>/dev/null); do
			"$CL_BIN/gannet-runtime" --state "$st" --cgroup-parent "$CG/node$i" rm "$id" >/dev/null 2>&1
		done
	done
	grep " $CL_DIR/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
	for d in $(find /sys/fs/cgroup -maxdepth 5 -type d -name "$CG" 2>/dev/null); do
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	apiserver_cleanup
}

kl_config() {
	local i=$1 n=$2
	agent_write_config "$i" "$n"
	sed -i '/^peers:/,$d' "$CL_DIR/node$i/agent.yaml"
	"$KL_TOOL" node "$APISERVER_DATA" "$APISERVER_URL" "node$i" "$CL_DIR/node$i/kubeconfig" ||
		cl_die "node credential"
	cat >>"$CL_DIR/node$i/agent.yaml" <<EOC
kubeconfig: $CL_DIR/node$i/kubeconfig
leaseSeconds: 2
syncMilliseconds: $KL_SYNC_MS
podNetnsPrefix: $CL_RUN-k$i-
cgroupParent: $CG/node$i
EOC
}

kl_up() {
	local n=$1 i
	apiserver_start || cl_die "apiserver did not start"
	CL_NO_AGENT=1 cluster_up "$n"
	cluster_on_exit kl_cleanup
	# relay: root ns unix socket -> 127.0.0.1:port, and in each node ns
	# 127.0.0.1:port -> that socket
	socat UNIX-LISTEN:"$CL_DIR/api.sock",fork,unlink-early TCP:127.0.0.1:"$APISERVER_PORT" 2>/dev/null &
	CL_BG_PIDS+=($!)
	for ((i = 1; i <= n; i++)); do
		node_bg "$i" socat TCP-LISTEN:"$APISERVER_PORT",bind=127.0.0.1,fork,reuseaddr \
			UNIX-CONNECT:"$CL_DIR/api.sock" 2>/dev/null
	done
	# and back: the API server proxies pods/log and pods/exec to each
	# agent at 127.0.0.1:<port> (advertised as agentEndpoint) -> unix
	# socket -> the agent's HTTPS nodeIP:10250 inside the node netns
	for ((i = 1; i <= n; i++)); do
		KL_AGENT_PORT[$i]=$(_apiserver_free_port) || cl_die "no free port"
		node_bg "$i" socat UNIX-LISTEN:"$CL_DIR/agent$i.sock",fork,unlink-early \
			TCP:"$(node_ip "$i")":10250 2>/dev/null
		socat TCP-LISTEN:"${KL_AGENT_PORT[$i]}",bind=127.0.0.1,fork,reuseaddr \
			UNIX-CONNECT:"$CL_DIR/agent$i.sock" 2>/dev/null &
		CL_BG_PIDS+=($!)
	done
	sleep 0.3
	for ((i = 1; i <= n; i++)); do
		kl_config "$i" "$n"
		echo "agentEndpoint: https://127.0.0.1:${KL_AGENT_PORT[$i]}" >>"$CL_DIR/node$i/agent.yaml"
		CL_VERBOSE=${CL_VERBOSE:-1} agent_start "$i" || cl_die "agent $i"
	done
}

# ---------------------------------------------------------------- helpers
P=/api/v1/namespaces/default/pods
BB='"image":"busybox"'
mkpod() {   # mkpod NAME NODE CONTAINERS-JSON [EXTRA-SPEC-JSON]
	local body
	body=$(jq -n --arg n "$1" --arg node "node$2" --argjson c "$3" --argjson x "${4:-{\}}" \
		'{apiVersion:"v1",kind:"Pod",metadata:{name:$n,labels:{app:$n}},
		  spec:({nodeName:$node,terminationGracePeriodSeconds:2,containers:$c} + $x)}')
	acurl -X POST -H 'Content-Type: application/json' -d "$body" "$P" >/dev/null
}
pod_json() { acurl "$P/$1"; }
podq() { pod_json "$1" | jq -r "$2"; }
# wait_for SECONDS CMD...: poll until CMD succeeds
wait_for() {
	local t=$1 end
	shift
	end=$((SECONDS + t))
	while ((SECONDS < end)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
	"$@"
}
running_with_ip() {
	[ "$(podq "$1" .status.phase)" = Running ] && [ "$(podq "$1" '.status.podIP // ""')" != "" ]
}
# the agent's logs/exec endpoint: HTTPS, client certificate with
# O=system:masters (the admin's here, the API server's proxy in real use)
agent_url() { echo "https://$(node_ip "$1"):10250"; }
acurl_agent() {
	local n=$1
	shift
	in_node "$n" curl -sS -k --cert "$ADMIN_CERT" --key "$ADMIN_KEY" "$@"
}
klogs() {   # klogs NODE POD [CONTAINER] [QUERY]
	acurl_agent "$1" --max-time 10 "$(agent_url "$1")/containerLogs/default/$2/${3:-}?${4:-}"
}
kexec() {   # kexec NODE POD CONTAINER -- ARGV...
	local n=$1 p=$2 c=$3 q="" a
	shift 4
	for a in "$@"; do q+="command=$(jq -rn --arg a "$a" '$a|@uri')&"; done
	acurl_agent "$n" --max-time 70 -X POST "$(agent_url "$n")/exec/default/$p/$c?${q%&}"
}
# jq -e that fails on empty input (plain jq -e exits 0 when given nothing)
jqe() { [ -n "$1" ] && jq -e "$2" <<<"$1" >/dev/null; }
# ajq PATH FILTER: API object at PATH matches FILTER
ajq() { local o; o=$(acurl "$1") && jqe "$o" "$2"; }
# pjq POD FILTER: pod (default namespace) matches FILTER
pjq() { ajq "$P/$1" "$2"; }
gctl() { "$CL_BIN/gannetctl" --kubeconfig "$KUBECONFIG" "$@"; }
