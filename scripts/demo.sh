#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job (make demo): a local Gannet cluster on this machine, entirely
# in network namespaces. Starts gannet-apiserver on its embedded SQLite
# store with the in-process scheduler and controllers, two node namespaces
# each running gannet-agent in API mode (kubelet: runc containers, gannet-cni,
# BPF datapath), applies examples/demo/web.yaml (a Deployment of HTTP
# responders that name themselves, and a Service) with gannetctl, waits for
# the pods, shows nodes and pods, has every pod fetch a page from every
# other pod by pod IP and a pod on each node call the Service's ClusterIP
# (when the server allocated one). The cluster is left running; `make demo-down`
# (scripts/demo.sh down) removes all of it, from any shell, using the state
# file. Exits non-zero if the pods cannot talk.
#
#   sudo scripts/demo.sh [up]        bring the cluster up and leave it running
#   sudo scripts/demo.sh down        tear it down (agents, containers, netns,
#                                    pins, mounts, cgroups, API server, state)
#   DEMO_ONESHOT=1 scripts/demo.sh   up + checks + down in one go (tests)
#   DEMO_STATE=FILE                  state file (default /run/gannet-demo.env)
#   BUILD=build-san                  use the sanitizer build
#
# It reuses the test harness (tests/lib/cluster.sh + kubelet.sh): the API
# server listens on 127.0.0.1 only and each node reaches it through a socat
# relay over a unix socket, so nothing is added to the root network
# namespace.
set -u
GANNET_ROOT=$(cd "$(dirname "$0")/.." && pwd)
export GANNET_ROOT
cd "$GANNET_ROOT" || exit 1
DEMO_STATE=${DEMO_STATE:-/run/gannet-demo.env}
DEMO_NODES=2
DEMO_APP=examples/demo/web.yaml

if [ -t 1 ]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'; else B='' G='' R='' N=''; fi
step() { echo; echo "${B}== $*${N}"; }
die() { echo "demo: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, BPF, runc); try: sudo make demo"

# ---------------------------------------------------------------- down
# A pid from the state file is only signalled if it still is ours: its
# command line names the run's state or data directory (pids get reused).
demo_owned() {   # demo_owned PID -> true if PID mentions $CL_DIR or $APISERVER_DATA
	local cmd
	cmd=$({ tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null) || return 1
	case $cmd in *"$CL_DIR"*|*"${APISERVER_DATA:-/nonexistent}"*) return 0 ;; esac
	return 1
}

demo_down() {
	local pid i agents
	[ -f "$DEMO_STATE" ] || { echo "demo: no demo cluster recorded in $DEMO_STATE (nothing to do)"; return 0; }
	# shellcheck disable=SC1090
	. "$DEMO_STATE"
	export CL_RUN CL_DIR CL_PIN
	. tests/lib/cluster.sh
	. tests/lib/kubelet.sh
	CL_NODES=$DEMO_NODES
	# Agents first, and wait until they are gone: an agent still running
	# would restart the containers removed below.
	for pid in ${DEMO_AGENT_PIDS:-}; do demo_owned "$pid" && kill -KILL "$pid" 2>/dev/null; done
	for i in $(seq 1 50); do
		agents=$(for pid in $(cl_run_pids); do
			{ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q gannet-agent && echo "$pid"
		done)
		[ -z "$agents" ] && break
		# shellcheck disable=SC2086
		kill -KILL $agents 2>/dev/null
		sleep 0.1
	done
	# kl_cleanup (containers, mounts, cgroups, API server) then
	# cluster_down (relays, netns, pins, state dir) run from the EXIT trap.
	if [ -n "${APISERVER_PID:-}" ] && ! demo_owned "$APISERVER_PID"; then APISERVER_PID=; fi
	export APISERVER_PID APISERVER_DATA
	cluster_on_exit kl_cleanup
	cluster_on_exit "rm -f '$DEMO_STATE'"
	echo "demo: tearing down cluster $CL_RUN (API server pid ${APISERVER_PID:-gone}, state $CL_DIR)"
	exit 0
}

if [ "${1:-up}" = down ]; then
	demo_down
	exit 0
fi
[ "${1:-up}" = up ] || die "usage: scripts/demo.sh [up|down]"

# ---------------------------------------------------------------- up
# The cluster must outlive this script and its terminal: under `sudo make
# demo` (sudo's use_pty) the pty hangs up when make exits and SIGHUP kills
# every process of its foreground group, the socat relays included. So the
# up phase runs in a session of its own, without a controlling terminal
# (output still goes to ours). Ctrl-C then no longer reaches it: a
# half-started cluster is removed by `make demo-down`.
if [ -z "${DEMO_SESSION:-}" ] && command -v setsid >/dev/null; then
	DEMO_SESSION=1 exec setsid -w "$0" "$@"
fi
if [ -f "$DEMO_STATE" ]; then
	# shellcheck disable=SC1090
	(. "$DEMO_STATE"; [ -n "${APISERVER_PID:-}" ] && kill -0 "$APISERVER_PID" 2>/dev/null) &&
		die "a demo cluster is already running ($DEMO_STATE); remove it first: sudo make demo-down"
	echo "demo: removing the leftovers of a previous demo ($DEMO_STATE)"
	"$0" down >/dev/null 2>&1
fi
# Not the "gc" prefix of test runs: their stale-run collector would take a
# demo cluster whose starting shell has exited for a dead run.
: "${CL_RUN:=gd$$$(printf '%04x' $RANDOM)}"
CL_DIR=/tmp/gannet-demo-$CL_RUN
export CL_RUN CL_DIR
. tests/lib/cluster.sh
. tests/lib/kubelet.sh
export APISERVER_CONTROLLERS=1
# kl_require skips (exit 77) with a reason; the demo turns that into an error
( kl_require ) >"/tmp/gannet-demo-require.$$" 2>&1 || {
	cat "/tmp/gannet-demo-require.$$"; rm -f "/tmp/gannet-demo-require.$$"
	die "missing prerequisites (run scripts/deps.sh and make all)"
}
rm -f "/tmp/gannet-demo-require.$$"
cluster_require_bins gannetctl

save_state() {
	mkdir -p "$(dirname "$DEMO_STATE")"
	{
		echo "# gannet demo cluster (scripts/demo.sh down removes it)"
		printf 'CL_RUN=%q\nCL_DIR=%q\nCL_PIN=%q\nDEMO_NODES=%q\n' "$CL_RUN" "$CL_DIR" "$CL_PIN" "$DEMO_NODES"
		printf 'APISERVER_PID=%q\nAPISERVER_DATA=%q\n' "${APISERVER_PID:-}" "${APISERVER_DATA:-}"
		printf 'DEMO_AGENT_PIDS=%q\n' "${CL_AGENT_PID[*]}"
		printf 'KUBECONFIG=%q\n' "${KUBECONFIG:-}"
	} >"$DEMO_STATE"
}
# Recorded before anything starts, so `down` can clean a half-built cluster.
save_state
cluster_on_exit "rm -f '$DEMO_STATE'"

step "Starting the API server (embedded SQLite store, scheduler and controllers in-process) and $DEMO_NODES node agents"
mkdir -p "$CL_DIR"
kl_up $DEMO_NODES >"$CL_DIR/up.log" 2>&1 || { cat "$CL_DIR/up.log"; die "cluster failed to start"; }
save_state
printf '  API server  https://127.0.0.1:%s  pid %s  data %s\n' "$APISERVER_PORT" "$APISERVER_PID" "$APISERVER_DATA"
for ((i = 1; i <= DEMO_NODES; i++)); do
	printf '  node%s       netns %-14s underlay %-15s pod CIDR %-14s agent pid %s\n' "$i" "$(node_ns $i)" \
		"$(node_ip $i)" "$(node_pod_cidr $i)" "$(agent_pid $i)"
done
nodes_ready() {
	acurl /api/v1/nodes | jq -e "[.items[] | select(any(.status.conditions[]?; .type==\"Ready\" and .status==\"True\"))] | length == $DEMO_NODES" >/dev/null
}
wait_for 30 nodes_ready || { cluster_logs; die "nodes did not become Ready"; }
gctl get nodes -o wide | sed 's/^/  /'

step "gannetctl apply -f $DEMO_APP"
gctl apply -f "$DEMO_APP" | sed 's/^/  /'
[ "${PIPESTATUS[0]}" = 0 ] || die "apply failed"
replicas=$(acurl /apis/apps/v1/namespaces/default/deployments/hello | jq -r .spec.replicas)
all_ready() {
	local o
	o=$(acurl "$P?labelSelector=app%3Dhello") || return 1
	jqe "$o" "(.items | length) == $replicas and all(.items[]; .status.phase == \"Running\" and any(.status.conditions[]?; .type==\"Ready\" and .status==\"True\"))"
}
echo "  waiting for $replicas pods to be Running and Ready..."
if ! wait_for 60 all_ready >/dev/null; then
	gctl get pods -o wide
	cluster_logs
	die "pods did not become Ready"
fi

step "gannetctl get pods -o wide"
gctl get pods -o wide | sed 's/^/  /'
acurl "$P?labelSelector=app%3Dhello" | jq -r '.items[] | [.metadata.name, .spec.nodeName, .status.podIP] | @tsv' >"$CL_DIR/pods"
nodes_used=$(cut -f2 "$CL_DIR/pods" | sort -u | wc -l)
echo "  ${B}$replicas pods on $nodes_used nodes${N}"
gctl get services,endpoints 2>/dev/null | sed 's/^/  /'

step "Every pod fetches http://<pod IP>:8080/ from every other pod (gannetctl exec ... nc)"
pass=0 fail=0
ips=$(cut -f3 "$CL_DIR/pods" | tr '\n' ' ')
while IFS=$'\t' read -r name node ip; do
	out=$(gctl exec "$name" -- sh -c "for ip in $ips; do [ \$ip = $ip ] && continue; printf '%s ' \$ip; printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 \$ip 8080 | tail -n 1; echo; done" </dev/null 2>&1)
	while IFS=$'\t' read -r oname onode oip; do
		[ "$oname" = "$name" ] && continue
		line=$(grep "^$oip " <<<"$out" | head -n 1)
		where="same node"; [ "$onode" != "$node" ] && where="across nodes"
		if grep -q "^$oip hello from $oname on $onode " <<<"$line"; then
			pass=$((pass + 1))
			printf '  %s✔%s %s (%s) -> %-11s %-12s: %s\n' "$G" "$N" "$name" "$node" "$oip" "($where)" "${line#"$oip "}"
		else
			fail=$((fail + 1))
			printf '  %s✘%s %s (%s) -> %-11s %-12s: no answer from %s (%s)\n' "$R" "$N" "$name" "$node" "$oip" "($where)" "$oname" "${line:-$out}"
		fi
	done <"$CL_DIR/pods"
done <"$CL_DIR/pods"

# The Service: from one pod on each node, requests to the ClusterIP are
# balanced by the BPF datapath over the pods (socket-level translation).
svc_ip=$(acurl /api/v1/namespaces/default/services/hello | jq -r '.spec.clusterIP // ""')
svc_fail=0
if [ -n "$svc_ip" ] && [ "$svc_ip" != None ]; then
	step "Service hello: 8 requests to http://$svc_ip/ from a pod on each node"
	# the endpoints controller lists the Ready pods, then each agent
	# programs them into its service maps (sync every 300 ms)
	eps_ready() {
		ajq /api/v1/namespaces/default/endpoints/hello "[.subsets[]?.addresses[]?] | length == $replicas"
	}
	wait_for 15 eps_ready >/dev/null 2>&1 || echo "  (Endpoints hello does not list all $replicas pods yet)"
	sleep 1
	for n in $(cut -f2 "$CL_DIR/pods" | sort -u); do
		from=$(awk -F'\t' -v n="$n" '$2==n {print $1; exit}' "$CL_DIR/pods")
		out=$(gctl exec "$from" -- sh -c "for i in 1 2 3 4 5 6 7 8; do printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 $svc_ip 80 | tail -n 1; echo; done" </dev/null 2>&1)
		got=$(grep -c '^hello from ' <<<"$out")
		distinct=$(grep '^hello from ' <<<"$out" | awk '{print $3}' | sort -u | wc -l)
		if [ "$got" = 8 ]; then
			printf '  %s✔%s %s (%s) -> %s: 8/8 answered, by %s different pods\n' "$G" "$N" "$from" "$n" "$svc_ip" "$distinct"
		else
			svc_fail=$((svc_fail + 1))
			printf '  %s✘%s %s (%s) -> %s: %s/8 answered\n' "$R" "$N" "$from" "$n" "$svc_ip" "$got"
		fi
	done
else
	step "Service hello: no ClusterIP allocated by this API server (skipped)"
fi

step "Summary"
ok=1
if [ $svc_fail -ne 0 ]; then
	echo "  ${R}${B}FAIL${N}: requests to the Service's ClusterIP failed."; ok=0
fi
if [ "$nodes_used" -lt 2 ]; then
	echo "  ${R}${B}FAIL${N}: the pods are not on both nodes"; ok=0
fi
if [ $fail -ne 0 ] || [ $pass -eq 0 ]; then
	echo "  ${R}${B}FAIL${N}: $fail of $((pass + fail)) pod-to-pod requests failed."; ok=0
	cluster_logs
fi
if [ $ok = 1 ]; then
	echo "  ${G}${B}PASS${N}: $replicas pods on $nodes_used nodes answer each other by pod IP ($pass/$((pass + fail)) requests, same node and across nodes)."
	[ -n "$svc_ip" ] && [ "$svc_ip" != None ] &&
		echo "  ${G}${B}PASS${N}: Service hello ($svc_ip) answers from every node, balanced over the pods."
fi
echo "  API server data dir: $APISERVER_DATA"

if [ "${DEMO_ONESHOT:-0}" = 1 ] || [ $ok = 0 ]; then
	echo "  Tearing the cluster down."
	# the down process kills our background jobs: no "Killed" job reports
	disown -a
	"$0" down >/dev/null 2>&1
	[ -f "$DEMO_STATE" ] && die "teardown left $DEMO_STATE"
	[ $ok = 1 ] && echo "  ${G}demo done and removed${N}"
	exit $((1 - ok))
fi

save_state
# Leave everything running: no teardown from the harness's EXIT trap.
trap - EXIT INT TERM
cat <<EOF

${B}The cluster is running.${N} Try (as root):
  export KUBECONFIG=$KUBECONFIG
  $CL_BIN/gannetctl get pods -o wide
  $CL_BIN/gannetctl scale deployment/hello --replicas=6
  $CL_BIN/gannetctl logs $(head -n 1 "$CL_DIR/pods" | cut -f1)
  $CL_BIN/gannetctl exec $(head -n 1 "$CL_DIR/pods" | cut -f1) -- sh -c 'printf "GET / HTTP/1.0\r\n\r\n" | nc $(tail -n 1 "$CL_DIR/pods" | cut -f3) 8080'
  $CL_BIN/gannetctl rollout restart deployment/hello && $CL_BIN/gannetctl rollout status deployment/hello
  kubectl get nodes            (kubectl talks to it too)
  nsenter --net=/run/netns/$(node_ns 1) ip route    (a node's network namespace)
Tear it all down (from any shell): ${B}sudo make demo-down${N}   (scripts/demo.sh down; state in $DEMO_STATE)
EOF
exit 0
