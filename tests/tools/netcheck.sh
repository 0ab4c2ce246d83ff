# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# NetworkPolicy test harness in the style of the upstream Kubernetes
# "netpol" e2e framework, shared by tests/suites/69-policy-matrix.sh,
# 70-policy-stateful.sh and tests/bench/bench-policy-apply.sh (next to the
# netcheck tool it drives). Source after
# tests/lib/cluster.sh and tests/lib/kubelet.sh, once kl_up has run.
#
#   np_model_up           namespaces x y z (labels ns=<name>, y also
#                         team=blue) each with pods a b c (label pod=<name>)
#                         spread over the nodes, each serving TCP+UDP 80 and
#                         81 (+ UDP 53) with netcheck, named container ports
#                         serve-80-tcp, serve-80-udp, serve-81-tcp,
#                         serve-81-udp; two external clients ext1 ext2 on
#                         the fabric serving the same ports, sources and
#                         destinations of the matrix like the pods
#   np_apply <<EOF ...    gannetctl apply -f - (YAML, one or more documents)
#   np_clear              delete every NetworkPolicy of x y z
#   exp_reset 1|0         expected matrix: everything allowed / denied
#   exp FROM TO 1|0 [PORT]  set expectations; FROM/TO are glob patterns over
#                         ns/pod names ("x/*", "*/a", "?/?" = every pod) and
#                         ext1 ext2 (TO only), PORT over 80/tcp 81/tcp
#                         80/udp 81/udp (default all)
#   np_check NAME         probe every (from, to, port, protocol) until the
#                         observed matrix equals the expected one (or
#                         NP_WAIT seconds pass, at least two rounds), then
#                         t_ok / t_fail NAME with the matrices of differences
#   np_probe SRC TARGET...   one pod's probes (netcheck probe output)
#
# Probing: one netcheck process per source pod, run in the pod's network
# namespace (nsenter: the host's binaries, the pod's network), all sources
# (and the two external clients) in parallel, each probing its 44 targets
# concurrently: a round takes one
# probe timeout (NP_PROBE_MS) when something is denied. "Denied" must be a
# drop (no answer within the timeout); a RST or ICMP error is reported as a
# difference ("R"/"E"). Traffic from a pod to itself is always expected to
# be allowed (it never leaves the pod).

case $BUILD in /*) NC=$BUILD/tests/netcheck ;; *) NC=$GANNET_ROOT/$BUILD/tests/netcheck ;; esac
NP_PROBE_MS=${NP_PROBE_MS:-1000}
NP_WAIT=${NP_WAIT:-15}
NP_NS=(x y z)
NP_PODS=(x/a x/b x/c y/a y/b y/c z/a z/b z/c)
NP_DSTS=("${NP_PODS[@]}" ext1 ext2)
NP_SRCS=("${NP_DSTS[@]}")
NP_PORTS=(80/tcp 81/tcp 80/udp 81/udp)
declare -gA NP_IP=() NP_NETNS=() NP_NODE=() EXP=() OBS=()
NPAPI=/apis/networking.k8s.io/v1/namespaces

np_require() {
	[ -x "$NC" ] || cl_skip "$NC not built (make all)"
}

# NP_EXTRA_TCP=LO-HI: the pods also serve TCP on these ports (the benchmark's
# monitors spread their connections over them)
np_pod_json() {   # np_pod_json NS POD NODE
	local extra=() p
	if [ -n "${NP_EXTRA_TCP:-}" ]; then
		for ((p = ${NP_EXTRA_TCP%-*}; p <= ${NP_EXTRA_TCP#*-}; p++)); do extra+=(-t "$p"); done
	fi
	jq -n --arg ns "$1" --arg p "$2" --arg node "node$3" --arg nc "$CL_DIR/nc" \
		--argjson extra "$(printf '%s\n' "${extra[@]}" | jq -R . | jq -s 'map(select(length > 0))')" '
	{apiVersion: "v1", kind: "Pod",
	 metadata: {name: $p, namespace: $ns, labels: {pod: $p}},
	 spec: {nodeName: $node, terminationGracePeriodSeconds: 1,
		containers: [{name: "srv", image: "busybox",
			command: (["/nc/netcheck", "serve", "-t", "80", "-t", "81",
				  "-u", "80", "-u", "81", "-u", "53"] + $extra),
			ports: [{name: "serve-80-tcp", containerPort: 80, protocol: "TCP"},
				{name: "serve-81-tcp", containerPort: 81, protocol: "TCP"},
				{name: "serve-80-udp", containerPort: 80, protocol: "UDP"},
				{name: "serve-81-udp", containerPort: 81, protocol: "UDP"}],
			volumeMounts: [{name: "nc", mountPath: "/nc", readOnly: true}]}],
		volumes: [{name: "nc", hostPath: {path: $nc}}]}}'
}

np_pods_running() {
	local ns n
	for ns in "${NP_NS[@]}"; do
		n=$(acurl "/api/v1/namespaces/$ns/pods" | jq '[.items[] |
			select(.status.phase == "Running" and (.status.podIP // "") != "")] | length')
		[ "$n" = 3 ] || return 1
	done
}

np_model_up() {
	local i j ns p node uid o pn=(a b c)
	mkdir -p "$CL_DIR/nc"
	cp "$NC" "$CL_DIR/nc/netcheck"
	for ((i = 0; i < 3; i++)); do
		ns=${NP_NS[$i]}
		o=$(jq -n --arg ns "$ns" '{apiVersion: "v1", kind: "Namespace",
			metadata: {name: $ns, labels: ({ns: $ns} + (if $ns == "y" then {team: "blue"} else {} end))}}')
		acurl -X POST -H 'Content-Type: application/json' -d "$o" /api/v1/namespaces >/dev/null ||
			cl_die "namespace $ns"
		for ((j = 0; j < 3; j++)); do
			p=${pn[$j]}
			# every namespace spans the 3 nodes, every node hosts one
			# pod of each namespace
			node=$(((i + j) % CL_NODES + 1))
			NP_NODE[$ns/$p]=$node
			acurl -X POST -H 'Content-Type: application/json' -d "$(np_pod_json "$ns" "$p" "$node")" \
				"/api/v1/namespaces/$ns/pods" >/dev/null || cl_die "pod $ns/$p"
		done
	done
	wait_for 120 np_pods_running || return 1
	for p in "${NP_PODS[@]}"; do
		o=$(acurl "/api/v1/namespaces/${p%/*}/pods/${p#*/}")
		NP_IP[$p]=$(jq -r .status.podIP <<<"$o")
		uid=$(jq -r .metadata.uid <<<"$o")
		NP_NETNS[$p]=/run/netns/$CL_RUN-k${NP_NODE[$p]}-${uid:0:13}
		[ -e "${NP_NETNS[$p]}" ] || { cl_log "no netns ${NP_NETNS[$p]} for $p"; return 1; }
	done
	for p in ext1 ext2; do
		client_add "$p"
		NP_IP[$p]=$(client_ip "$p")
		NP_NETNS[$p]=/run/netns/$(client_ns "$p")
		ns_bg "$(client_ns "$p")" "$NC" serve -t 80 -t 81 -u 80 -u 81 -u 53 >/dev/null
		# Gannet does not masquerade pod traffic leaving the cluster
		# (yet): the clients route each node's pod CIDR to that node,
		# as a router in front of the cluster would
		for ((i = 1; i <= CL_NODES; i++)); do
			in_client "$p" ip route add "$(node_pod_cidr "$i")" via "$(node_ip "$i")" ||
				return 1
		done
	done
	echo "# pods:"
	for p in "${NP_PODS[@]}"; do echo "#   $p ${NP_IP[$p]} node${NP_NODE[$p]}"; done
	echo "#   ext1 ${NP_IP[ext1]}, ext2 ${NP_IP[ext2]} (fabric)"
}

# ------------------------------------------------------------ policies
np_apply() {
	local f=$CL_DIR/np-apply.yaml out
	cat >"$f"
	if ! out=$(gctl apply -f "$f" 2>&1); then
		echo "apply failed: $out"
		sed 's/^/    /' "$f"
		return 1
	fi
}

np_delete() {   # np_delete NS NAME
	acurl -X DELETE "$NPAPI/$1/networkpolicies/$2" >/dev/null
}

np_clear() {
	local ns n
	for ns in "${NP_NS[@]}"; do
		for n in $(acurl "$NPAPI/$ns/networkpolicies" | jq -r '.items[]?.metadata.name'); do
			np_delete "$ns" "$n"
		done
	done
}

# label changes: merge patches (null removes a label)
np_label_pod() {   # np_label_pod NS/POD LABELS-JSON
	acurl -X PATCH -H 'Content-Type: application/merge-patch+json' \
		-d "{\"metadata\":{\"labels\":$2}}" "/api/v1/namespaces/${1%/*}/pods/${1#*/}" >/dev/null
}
np_label_ns() {    # np_label_ns NS LABELS-JSON
	acurl -X PATCH -H 'Content-Type: application/merge-patch+json' \
		-d "{\"metadata\":{\"labels\":$2}}" "/api/v1/namespaces/$1" >/dev/null
}

# ------------------------------------------------------------ expectations
exp_reset() {
	local s t pp
	for s in "${NP_SRCS[@]}"; do
		for t in "${NP_DSTS[@]}"; do
			for pp in "${NP_PORTS[@]}"; do EXP["$s $t $pp"]=$1; done
		done
	done
}

# (the patterns are globs on purpose)
# shellcheck disable=SC2053
exp() {
	local fp=$1 tp=$2 v=$3 ppat=${4:-*} s t pp
	for s in "${NP_SRCS[@]}"; do
		[[ $s == $fp ]] || continue
		for t in "${NP_DSTS[@]}"; do
			[[ $t == $tp ]] || continue
			for pp in "${NP_PORTS[@]}"; do
				[[ $pp == $ppat ]] || continue
				EXP["$s $t $pp"]=$v
			done
		done
	done
}

# ------------------------------------------------------------ probing
# np_exec NS/POD ARGV...: run a command in the pod's container (runc exec
# through the agent's API): inside the pod's cgroup, so that the socket
# load balancer (cgroup connect4/sendmsg4) applies as to any pod process,
# which np_probe (nsenter: the pod's network, the test's cgroup) bypasses
np_exec() {
	local p=$1 q="" a n
	shift
	n=${NP_NODE[$p]}
	for a in "$@"; do q+="command=$(jq -rn --arg a "$a" '$a|@uri')&"; done
	acurl_agent "$n" --max-time 30 -X POST "$(agent_url "$n")/exec/${p%/*}/${p#*/}/srv?${q%&}" |
		jq -r '.output // empty'
}

np_probe() {   # np_probe SRC TARGET...: netcheck probe in SRC's netns
	local s=$1
	shift
	nsenter --net="${NP_NETNS[$s]}" -- "$NC" probe -w "$NP_PROBE_MS" "$@"
}

np_probe_round() {
	local d=$CL_DIR/probe s t pp i pids=() tg line
	mkdir -p "$d"
	for s in "${NP_SRCS[@]}"; do
		tg=()
		for t in "${NP_DSTS[@]}"; do
			for pp in "${NP_PORTS[@]}"; do tg+=("${NP_IP[$t]}:$pp"); done
		done
		np_probe "$s" "${tg[@]}" >"$d/${s/\//_}" 2>&1 &
		pids+=($!)
	done
	# only our probers: the shell has other children (servers, relays)
	wait "${pids[@]}"
	OBS=()
	for s in "${NP_SRCS[@]}"; do
		i=0
		while read -r line; do
			set -- $line
			t=${NP_DSTS[$((i / 4))]}
			pp=${NP_PORTS[$((i % 4))]}
			OBS["$s $t $pp"]=${2:-?}
			i=$((i + 1))
		done <"$d/${s/\//_}"
	done
}

# cell: . allowed as expected, X denied as expected; differences: !A
# allowed but expected denied, !D dropped but expected allowed, !R refused,
# !E error/missing
# (np_cell S T PP sets CELL: no subshell, it runs 400 times a round)
np_cell() {
	local e=${EXP["$1 $2 $3"]} o=${OBS["$1 $2 $3"]:-missing}
	[ "$1" = "$2" ] && e=1
	case $o in
	ok) [ "$e" = 1 ] && CELL=. || CELL='!A' ;;
	drop) [ "$e" = 0 ] && CELL=X || CELL='!D' ;;
	refused) CELL='!R' ;;
	*) CELL='!E' ;;
	esac
}

np_diffs() {   # prints the differing keys
	local s t pp
	for s in "${NP_SRCS[@]}"; do
		for t in "${NP_DSTS[@]}"; do
			for pp in "${NP_PORTS[@]}"; do
				np_cell "$s" "$t" "$pp"
				[ "${CELL:0:1}" = '!' ] && echo "$s $t $pp $CELL"
			done
		done
	done
}

np_print_matrices() {
	local pp s t line
	for pp in "${NP_PORTS[@]}"; do
		grep -q " $pp " <<<"$1" || continue
		echo "    $pp (rows from, columns to; . allowed, X denied, !A/!D/!R/!E differences)"
		line=$(printf '%-5s' '')
		for t in "${NP_DSTS[@]}"; do line+=$(printf '%-5s' "$t"); done
		echo "    $line"
		for s in "${NP_SRCS[@]}"; do
			line=$(printf '%-5s' "$s")
			for t in "${NP_DSTS[@]}"; do
				np_cell "$s" "$t" "$pp"
				line+=$(printf '%-5s' "$CELL")
			done
			echo "    $line"
		done
	done
}

np_check() {
	local name=$1 end=$((SECONDS + NP_WAIT)) rounds=0 d t0=$SECONDS
	while :; do
		np_probe_round
		rounds=$((rounds + 1))
		d=$(np_diffs)
		if [ -z "$d" ]; then
			t_ok "$name ($rounds probe rounds, $((SECONDS - t0))s)"
			return 0
		fi
		# a mismatch is re-probed at least once (flake or propagation)
		if ((SECONDS >= end && rounds >= 2)); then break; fi
		sleep 0.3
	done
	t_fail "$name: $(wc -l <<<"$d") of $(( ${#NP_SRCS[@]} * ${#NP_DSTS[@]} * 4 )) probes differ after $rounds rounds"
	np_print_matrices "$d"
	return 1
}
