#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# NetworkPolicy in the agent, end to end on a 2-node namespace cluster
# (gannet-apiserver with controllers, 2 API-mode agents, runc pods, BPF
# datapath; tests/lib/kubelet.sh). Namespace "pol": servers srv1 (node1)
# and srv2 (node2) answering HTTP on 8080 and on 9000, a client cli and a
# pod other (both node1). Checks:
#  - without policy everything connects (same node and across nodes);
#  - default-deny ingress in "pol" blocks cli -> srv1 (same node) and
#    cli -> srv2 (other node);
#  - GET /flows on the agent shows the drops with pod names, identities,
#    direction and a policy reason; /metrics has the policy gauges, the
#    apply histogram and a non-zero policy drop counter;
#  - an allow policy (podSelector app=cli, port 8080/TCP) restores exactly
#    that: cli -> 8080 on both servers; cli -> 9000 and other -> 8080 stay
#    denied;
#  - relabelling a pod moves it between identities (both directions);
#  - node2's agent SIGKILLed: while it is down the maps keep enforcing
#    (denied stays denied, allowed stays allowed); restarted, it resyncs
#    without changing a verdict;
#  - a new pod in a namespace with default-deny egress is denied from its
#    very first packet (its command's first wget, run as the container
#    starts, fails), while the same pod in a namespace without policy gets
#    through (control); ingress to it is denied too.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/cluster.sh
export APISERVER_CONTROLLERS=1
. tests/lib/kubelet.sh
kl_require
T0=$SECONDS

kl_up 2

ready_nodes() {
	acurl /api/v1/nodes | jq -e '[.items[] | select(any(.status.conditions[]?; .type=="Ready" and .status=="True"))] | length == 2' >/dev/null
}
t_check "2 nodes registered and Ready" wait_for 30 ready_nodes

NP=/apis/networking.k8s.io/v1
post() { acurl -X POST -H 'Content-Type: application/json' -d "$2" "$1"; }
mkns() { post /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$1\"}}" >/dev/null; }
# mkpod_ns NS NAME NODE LABEL-APP COMMAND
mkpod_ns() {
	local body
	body=$(jq -n --arg ns "$1" --arg n "$2" --arg node "node$3" --arg app "$4" --arg cmd "$5" \
		'{apiVersion:"v1",kind:"Pod",metadata:{name:$n,namespace:$ns,labels:{app:$app}},
		  spec:{nodeName:$node,terminationGracePeriodSeconds:1,
			containers:[{name:"c",image:"busybox",command:["sh","-c",$cmd],
				     ports:[{name:"http",containerPort:8080},{name:"alt",containerPort:9000}]}]}}')
	post "/api/v1/namespaces/$1/pods" "$body" >/dev/null
}
pod_obj() { acurl "/api/v1/namespaces/$1/pods/$2"; }
running_ns() {
	local o
	o=$(pod_obj "$1" "$2") && jqe "$o" '.status.phase == "Running" and (.status.podIP // "") != ""'
}
ipof() { pod_obj "$1" "$2" | jq -r .status.podIP; }
# kx NODE NS POD -- ARGV: exec in container c, output only
kx() {
	local n=$1 ns=$2 p=$3 q="" a
	shift 4
	for a in "$@"; do q+="command=$(jq -rn --arg a "$a" '$a|@uri')&"; done
	acurl_agent "$n" --max-time 30 -X POST "$(agent_url "$n")/exec/$ns/$p/c?${q%&}" | jq -r .output
}
# reach NODE NS POD IP PORT: one HTTP GET (2 s timeout) from the pod
reach() {
	[ "$(kx "$1" "$2" "$3" -- sh -c "timeout 2 wget -q -O- http://$4:$5/ 2>/dev/null || echo FAIL")" != FAIL ]
}
denied() { ! reach "$@"; }
SERVE='echo $HOSTNAME >/tmp/index.html; httpd -p 9000 -h /tmp; exec httpd -f -p 8080 -h /tmp'

mkns pol
mkpod_ns pol srv1 1 srv "$SERVE"
mkpod_ns pol srv2 2 srv "$SERVE"
# other before cli: node1 learns them in that order, a restarted node2 in
# list order (pol/cli first): verdicts must not depend on the order an
# agent learnt label sets (arrival-order identity numbers did)
mkpod_ns pol other 1 other 'exec sleep 3600'
mkpod_ns pol cli 1 cli 'exec sleep 3600'
mkpod_ns pol tmp 1 tmp 'exec sleep 3600'
mkpod_ns default open 2 open "$SERVE"
for p in srv1 srv2 cli other tmp; do t_check "pod pol/$p Running" wait_for 90 running_ns pol $p; done
t_check "pod default/open Running" wait_for 90 running_ns default open
TMP=$(ipof pol tmp)
CLI=$(ipof pol cli)
S1=$(ipof pol srv1)
S2=$(ipof pol srv2)
OPEN=$(ipof default open)
echo "# srv1 $S1 (node1), srv2 $S2 (node2), open $OPEN (node2)"
if [ -n "${POL_DEBUG_PAUSE:-}" ]; then echo "PAUSED $CL_RUN $CL_DIR"; sleep "$POL_DEBUG_PAUSE"; fi

t_check "no policy: cli -> srv1:8080 (same node)" wait_for 20 reach 1 pol cli "$S1" 8080
t_check "no policy: cli -> srv2:8080 (across nodes)" wait_for 20 reach 1 pol cli "$S2" 8080
t_check "no policy: other -> srv2:9000" reach 1 pol other "$S2" 9000

# ipcache NODE: the node's ipcache as programmed (gannet-dp, JSON)
ipcache() { in_node "$1" "$CL_BIN/gannet-dp" -r "$CL_PIN" -n "node$1" -j ipcache 2>/dev/null; }
ipc_has() {   # ipc_has NODE JQ-FILTER
	local o
	o=$(ipcache "$1") && jqe "$o" "$2"
}
t_check "node2 ipcache: every pod /32 with an identity (cli via node1's IP), node IPs HOST/REMOTE_NODE" \
	wait_for 10 ipc_has 2 "any(.[]; .cidr == \"$CLI/32\" and .identity >= 256 and .node_ip == \"$(node_ip 1)\") and
		any(.[]; .cidr == \"$S2/32\" and .identity >= 256) and any(.[]; .cidr == \"$TMP/32\") and
		any(.[]; .cidr == \"$(node_ip 2)/32\" and .identity == 1) and
		any(.[]; .cidr == \"$(node_ip 1)/32\" and .identity == 3)"
t_check "node1 ipcache: srv2 /32 via node2's IP" \
	ipc_has 1 "any(.[]; .cidr == \"$S2/32\" and .identity >= 256 and .node_ip == \"$(node_ip 2)\")"

# ---------------------------------------------------------------- default deny
post "$NP/namespaces/pol/networkpolicies" '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
	"metadata":{"name":"default-deny"},"spec":{"podSelector":{},"policyTypes":["Ingress"]}}' >/dev/null
t_check "default-deny: cli -> srv2:8080 (across nodes) denied" wait_for 10 denied 1 pol cli "$S2" 8080
t_check "default-deny: cli -> srv1:8080 (same node) denied" denied 1 pol cli "$S1" 8080
t_check "default-deny: other -> srv2:9000 denied" denied 1 pol other "$S2" 9000
t_check "default-deny: egress not restricted (cli -> default/open:8080)" reach 1 pol cli "$OPEN" 8080

# ---------------------------------------------------------------- flows + metrics
flows() { acurl_agent "$1" --max-time 10 "$(agent_url "$1")/flows?$2"; }
f2=$(flows 2 "verdict=dropped&pod=pol/srv2")
echo "$f2" | tail -n 2 | sed 's/^/#   /'
t_check "node2 /flows: the cross-node drop names cli -> srv2, ingress, policy reason, identities" \
	jqe "$(jq -sc . <<<"$f2")" 'any(.[]; .verdict == "dropped" and .direction == "ingress" and
		.src.ns == "pol" and .src.pod == "cli" and .dst.ns == "pol" and .dst.pod == "srv2" and
		.dst.port == 8080 and .proto == "TCP" and (.reason | test("polic")) and
		.src.identity >= 256 and .dst.identity >= 256 and .node == "node2")'
f1=$(flows 1 "verdict=dropped&pod=pol/srv1")
t_check "node1 /flows: the same-node drop cli -> srv1" \
	jqe "$(jq -sc . <<<"$f1")" 'any(.[]; .src.pod == "cli" and .dst.pod == "srv1" and .direction == "ingress")'
t_check "/flows?pod= filters (no srv1 flow on node2's pol/srv2 stream)" \
	bash -c "! grep -q '\"pod\":\"srv1\"' <<<'$f2'"
fa=$(flows 2 "verdict=allowed")
t_check "/flows?verdict=allowed holds no drop" bash -c '! grep -q "\"verdict\":\"dropped\"" <<<"$1"' _ "$fa"
code=$(in_node 2 curl -sk -o /dev/null -w '%{http_code}' --max-time 5 "$(agent_url 2)/flows")
t_check "/flows without a client certificate: 401 ($code)" [ "$code" = 401 ]
code=$(in_node 2 curl -sk -o /dev/null -w '%{http_code}' --max-time 5 --cert "$APISERVER_DATA/pki/nodes/node1.crt" \
	--key "$APISERVER_DATA/pki/nodes/node1.key" "$(agent_url 2)/flows")
t_check "/flows with another node's credential (system:nodes): 403 ($code)" [ "$code" = 403 ]
t_check "/flows refuses a bad verdict (400)" \
	[ "$(acurl_agent 2 --max-time 5 -o /dev/null -w '%{http_code}' "$(agent_url 2)/flows?verdict=maybe")" = 400 ]
# follow: a new drop shows up on an open stream
TS=$(date +%s)
sleep 1.1
fol=$CL_DIR/follow.out
in_node 2 curl -sS -N -k --cert "$ADMIN_CERT" --key "$ADMIN_KEY" --max-time 8 \
	"$(agent_url 2)/flows?follow=true&verdict=dropped" >"$fol" 2>/dev/null &
FPID=$!
sleep 1
denied 1 pol other "$S2" 8080
wait $FPID
t_check "/flows?follow=true streams a new drop (other -> srv2)" \
	jq -se 'any(.[]; .src.pod == "other" and .dst.pod == "srv2")' "$fol"
fs=$(flows 2 "since=$TS&verdict=dropped")
t_check "/flows?since=<unix time>: the new drop, none of the earlier ones" \
	jqe "$(jq -sc . <<<"$fs")" "any(.[]; .src.pod == \"other\" and .dst.port == 8080) and
		all(.[]; .src.pod != \"cli\")"
m=$(in_node 2 curl -sS --max-time 5 "http://$(node_ip 2):9962/metrics")
t_check "/metrics: gannet_policy_synced 1, enforced endpoints, apply histogram" \
	bash -c 'grep -q "^gannet_policy_synced 1" <<<"$1" &&
		grep -q "^gannet_policy_enforced_endpoints{direction=\"ingress\"} 1" <<<"$1" &&
		grep -q "^gannet_policy_apply_duration_seconds_count [1-9]" <<<"$1" &&
		grep -q "^gannet_policy_identities [1-9]" <<<"$1"' _ "$m"
t_check "/metrics: a policy drop reason counted" \
	bash -c 'grep -E "^gannet_dropped_packets_total\{reason=\"[^\"]*polic[^\"]*\"\} [1-9]" <<<"$1"' _ "$m"
grep -E '^gannet_policy_apply_duration_seconds_(sum|count)' <<<"$m" | sed 's/^/# /'

# ---------------------------------------------------------------- allow cli -> 8080
post "$NP/namespaces/pol/networkpolicies" '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
	"metadata":{"name":"allow-cli-http"},"spec":{"podSelector":{"matchLabels":{"app":"srv"}},
	"ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"cli"}}}],"ports":[{"protocol":"TCP","port":8080}]}]}}' >/dev/null
t_check "allow: cli -> srv2:8080 (across nodes)" wait_for 10 reach 1 pol cli "$S2" 8080
t_check "allow: cli -> srv1:8080 (same node)" wait_for 5 reach 1 pol cli "$S1" 8080
t_check "allow: cli -> srv2:9000 still denied (port not allowed)" denied 1 pol cli "$S2" 9000
t_check "allow: other -> srv2:8080 still denied (peer not allowed)" denied 1 pol other "$S2" 8080
t_check "allow: other -> srv1:8080 still denied" denied 1 pol other "$S1" 8080

# ---------------------------------------------------------------- agent down
agent_kill 2 KILL
# a pod deleted while node2's agent is down: its ipcache entry must go at
# the restart's resync
acurl -X DELETE "/api/v1/namespaces/pol/pods/tmp" >/dev/null
gone() { [ "$(acurl_code "/api/v1/namespaces/pol/pods/tmp")" = 404 ]; }
t_check "pol/tmp deleted while node2's agent is down" wait_for 30 gone
t_check "node2 agent down: its ipcache still has pol/tmp (nobody programs it)" \
	ipc_has 2 "any(.[]; .cidr == \"$TMP/32\")"
t_check "node2 agent down: other -> srv2:8080 still denied" denied 1 pol other "$S2" 8080
t_check "node2 agent down: cli -> srv2:8080 still allowed" reach 1 pol cli "$S2" 8080
t_check "node2 agent down: cli -> srv2:9000 still denied" denied 1 pol cli "$S2" 9000
# restarted with allow verdicts as flows too (policyAllowEvents)
echo "policyAllowEvents: true" >>"$CL_DIR/node2/agent.yaml"
CL_VERBOSE=1 agent_start 2
synced() { in_node "$1" curl -sS --max-time 3 "http://$(node_ip "$1"):9962/metrics" | grep -q '^gannet_policy_synced 1'; }
t_check "node2 agent restarted: engine synced" wait_for 15 synced 2
t_check "after restart: pol/tmp's stale ipcache entry removed, live pods kept" \
	ipc_has 2 "(any(.[]; .cidr == \"$TMP/32\") | not) and any(.[]; .cidr == \"$CLI/32\" and .identity >= 256)"
t_check "after restart: cli -> srv2:8080 allowed" reach 1 pol cli "$S2" 8080
t_check "after restart: other -> srv2:8080 denied" denied 1 pol other "$S2" 8080
t_check "after restart: cli -> srv2:9000 denied" denied 1 pol cli "$S2" 9000
fa=$(flows 2 "verdict=allowed&pod=pol/cli")
t_check "policyAllowEvents: node2 /flows has the allowed cli -> srv2:8080 (ingress), no drop" \
	jqe "$(jq -sc . <<<"$fa")" 'any(.[]; .verdict == "allowed" and .direction == "ingress" and
		.src.pod == "cli" and .dst.pod == "srv2" and .dst.port == 8080) and all(.[]; .verdict == "allowed")'
fn=$(flows 1 "verdict=allowed")
t_check "node1 (allow events off): no allowed flow" [ -z "$fn" ]

# ---------------------------------------------------------------- relabel
# other takes cli's label: its identity changes (ipcache on both nodes,
# its endpoint's identity on node1, read by the same-node check) while its
# own rules stay the same
relabel() {
	acurl -X PATCH -H 'Content-Type: application/merge-patch+json' \
		-d "{\"metadata\":{\"labels\":{\"app\":\"$1\"}}}" /api/v1/namespaces/pol/pods/other >/dev/null
}
relabel cli
t_check "relabel other app=cli: other -> srv1:8080 allowed (same node: endpoint identity)" \
	wait_for 10 reach 1 pol other "$S1" 8080
t_check "relabel other app=cli: other -> srv2:8080 allowed (across nodes)" reach 1 pol other "$S2" 8080
relabel other
t_check "label back: other -> srv1:8080 denied again" wait_for 10 denied 1 pol other "$S1" 8080
t_check "label back: other -> srv2:8080 denied again" denied 1 pol other "$S2" 8080

# ---------------------------------------------------------------- new pod, first packet
FIRST="if timeout 3 wget -q -O- http://$OPEN:8080/ >/dev/null 2>&1; then echo FIRST-OK; else echo FIRST-DENIED; fi; $SERVE"
mkns deny
mkns free
post "$NP/namespaces/deny/networkpolicies" '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
	"metadata":{"name":"default-deny-all"},"spec":{"podSelector":{},"policyTypes":["Ingress","Egress"]}}' >/dev/null
sleep 0.5   # the policy reaches the agents' caches (an event away)
mkpod_ns deny fresh 1 fresh "$FIRST"
mkpod_ns free fresh 1 fresh "$FIRST"
t_check "deny/fresh Running" wait_for 90 running_ns deny fresh
t_check "free/fresh Running" wait_for 90 running_ns free fresh
plog() { acurl "/api/v1/namespaces/$1/pods/$2/log"; }
haslog() { plog "$1" "$2" | grep -q "$3"; }
t_check "control: free/fresh's first packet reaches default/open" wait_for 15 haslog free fresh FIRST-OK
t_check "deny/fresh: its first packet (egress) is denied" wait_for 15 haslog deny fresh FIRST-DENIED
t_check "deny/fresh: never reached default/open" bash -c '! grep -q FIRST-OK <<<"$1"' _ "$(plog deny fresh)"
F=$(ipof deny fresh)
t_check "deny/fresh: ingress denied (cli -> fresh:8080)" denied 1 pol cli "$F" 8080
t_check "free/fresh: ingress allowed (cli -> free/fresh:8080)" reach 1 pol cli "$(ipof free fresh)" 8080

# SIGTERM: the policy component stops its informers, sync and flow
# threads and the agent exits 0 (BUILD=build-san: no sanitizer report)
t_check "agents stop cleanly on SIGTERM (no sanitizer report)" cluster_stop_agents_checked
echo "# suite took $((SECONDS - T0)) s"
t_done
