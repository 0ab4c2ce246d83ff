#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# NetworkPolicy from the command line, on a 2-node namespace cluster
# (gannet-apiserver with its controllers, API-mode agents, runc pods, BPF
# datapath: tests/lib/kubelet.sh). Checks:
#  - API validation of NetworkPolicy (the policy engine's pol_validate):
#    bad selector operator, bad CIDR, except outside cidr, port out of
#    range, endPort < port, unknown protocol, named endPort -> 422 with the
#    field path; a valid policy is stored;
#  - namespaces carry kubernetes.io/metadata.name=<name>, whatever the
#    client sends (create, update, patch);
#  - every policies/examples/ manifest applies unchanged with gannetctl
#    and with kubectl (when installed), in two namespaces;
#  - gannetctl policy trace: allowed by a named policy rule, denied (wrong
#    port, unselected peer), unrestricted pod, DNS to 10.96.0.10 via the
#    ipBlock example, -o json;
#  - node proxy: 404 unknown node, 403 for a user without nodes/proxy (and
#    allowed once granted), 503 with a message for a dead agent, 404 for a
#    path the agent does not serve, /healthz through it;
#  - gannetctl dataplane services shows the Service "web" as programmed on
#    a node (VIP, backends = the ready pods' IPs, named), -o json too;
#  - gannetctl flows shows a dropped flow between two pods under
#    default-deny (skipped, with a message, if the agents do not serve
#    /flows yet).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/cluster.sh
export APISERVER_CONTROLLERS=1
. tests/lib/kubelet.sh
kl_require
[ -x "$CL_BIN/gannetctl" ] || cl_skip "gannetctl not built"
T0=$SECONDS
VIP=10.96.110.10
NPAPI=/apis/networking.k8s.io/v1/namespaces
EX=policies/examples

kl_up 2

# ---------------------------------------------------------------- validation
np_code() {   # np_code SPEC-JSON -> prints "code field"
	local body
	body=$(jq -n --argjson s "$1" '{apiVersion:"networking.k8s.io/v1",kind:"NetworkPolicy",
		metadata:{name:"bad"},spec:$s}')
	acurl -X POST -H 'Content-Type: application/json' -d "$body" "$NPAPI/default/networkpolicies" |
		jq -r '"\(.code) \(.details.causes[0].field // "")"'
}
bad() {   # bad WHAT EXPECTED-FIELD SPEC-JSON
	local got
	got=$(np_code "$3")
	t_check "invalid NetworkPolicy ($1) -> 422 at $2 (got: $got)" test "$got" = "422 $2"
}
bad "selector operator" "spec.podSelector.matchExpressions[0].operator" \
	'{"podSelector":{"matchExpressions":[{"key":"app","operator":"Foo","values":["a"]}]}}'
bad "selector label value" "spec.ingress[0].from[0].podSelector.matchLabels[app]" \
	'{"podSelector":{},"ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"-x-"}}}]}]}'
bad "CIDR /33" "spec.ingress[0].from[0].ipBlock.cidr" \
	'{"podSelector":{},"ingress":[{"from":[{"ipBlock":{"cidr":"10.0.0.0/33"}}]}]}'
bad "CIDR not an address" "spec.egress[0].to[0].ipBlock.cidr" \
	'{"podSelector":{},"policyTypes":["Egress"],"egress":[{"to":[{"ipBlock":{"cidr":"ten/8"}}]}]}'
bad "except outside cidr" "spec.ingress[0].from[0].ipBlock.except[0]" \
	'{"podSelector":{},"ingress":[{"from":[{"ipBlock":{"cidr":"10.0.0.0/8","except":["11.0.0.0/16"]}}]}]}'
bad "port 70000" "spec.ingress[0].ports[0].port" \
	'{"podSelector":{},"ingress":[{"ports":[{"port":70000}]}]}'
bad "port 0" "spec.ingress[0].ports[0].port" \
	'{"podSelector":{},"ingress":[{"ports":[{"port":0}]}]}'
bad "endPort < port" "spec.ingress[0].ports[0].endPort" \
	'{"podSelector":{},"ingress":[{"ports":[{"port":80,"endPort":70}]}]}'
bad "unknown protocol" "spec.egress[0].ports[0].protocol" \
	'{"podSelector":{},"policyTypes":["Egress"],"egress":[{"ports":[{"protocol":"ICMP","port":1}]}]}'
bad "policyTypes value" "spec.policyTypes[0]" \
	'{"podSelector":{},"policyTypes":["Sideways"]}'
msg=$(acurl -X POST -H 'Content-Type: application/json' \
	-d '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"bad"},"spec":{"podSelector":{},"ingress":[{"ports":[{"port":80,"endPort":70}]}]}}' \
	"$NPAPI/default/networkpolicies" | jq -r .message)
t_check "the message names the field and the reason ($msg)" \
	grep -q 'is invalid: spec.ingress\[0\].ports\[0\].endPort: Invalid value: 70' <<<"$msg"
out=$(gctl apply -f - 2>&1 <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad-cidr}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: 300.0.0.0/8}}]}]
EOF
)
t_check "gannetctl apply shows the validation error ($out)" grep -q 'ipBlock.cidr' <<<"$out"
t_check "a valid policy with an endPort range is stored" test "$(np_code \
	'{"podSelector":{"matchLabels":{"app":"x"}},"ingress":[{"ports":[{"port":8000,"endPort":8080}]}]}')" = "null "
code=$(acurl -X PATCH -H 'Content-Type: application/merge-patch+json' \
	-d '{"spec":{"ingress":[{"from":[{"ipBlock":{"cidr":"10.1.0.0/16","except":["10.2.0.0/24"]}}]}]}}' \
	"$NPAPI/default/networkpolicies/bad" | jq -r '"\(.code) \(.details.causes[0].field)"')
t_check "an update (patch) is validated too ($code)" test "$code" = "422 spec.ingress[0].from[0].ipBlock.except[0]"
acurl -X DELETE "$NPAPI/default/networkpolicies/bad" >/dev/null

# ---------------------------------------------------------------- namespace label
nslabel() { acurl "/api/v1/namespaces/$1" | jq -r '.metadata.labels["kubernetes.io/metadata.name"] // ""'; }
acurl -X POST -H 'Content-Type: application/json' \
	-d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"lbl","labels":{"kubernetes.io/metadata.name":"other","team":"a"}}}' \
	/api/v1/namespaces >/dev/null
t_check "new namespace labelled kubernetes.io/metadata.name=lbl (client's 'other' overridden)" \
	test "$(nslabel lbl)" = lbl
t_check "the default namespace carries it" test "$(nslabel default)" = default
acurl -X PATCH -H 'Content-Type: application/merge-patch+json' \
	-d '{"metadata":{"labels":{"kubernetes.io/metadata.name":null,"team":"b"}}}' /api/v1/namespaces/lbl >/dev/null
t_check "a patch cannot remove it (and other labels still change)" \
	ajq /api/v1/namespaces/lbl '.metadata.labels == {"kubernetes.io/metadata.name":"lbl","team":"b"}'

# ---------------------------------------------------------------- examples
for ns in ex-g ex-k ex-k2; do
	acurl -X POST -H 'Content-Type: application/json' \
		-d "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ns\"}}" /api/v1/namespaces >/dev/null; done
want=$(cat $EX/*.yaml | grep -c '^kind: NetworkPolicy')
for f in $EX/*.yaml; do
	t_check "gannetctl apply -f $f" gctl apply -n ex-g -f "$f"
done
count() { acurl "$NPAPI/$1/networkpolicies" | jq '.items | length'; }
t_check "all $want example policies stored in ex-g" test "$(count ex-g)" = "$want"
t_check "re-applying them with gannetctl changes nothing" \
	bash -c "! $CL_BIN/gannetctl --kubeconfig $KUBECONFIG apply -n ex-g -f $EX | grep -qv unchanged"
if command -v kubectl >/dev/null; then
	K="timeout 60 kubectl --kubeconfig $KUBECONFIG --request-timeout=30s"
	for f in $EX/*.yaml; do
		t_check "kubectl apply -f $f" $K apply -n ex-k -f "$f"
	done
	t_check "all $want example policies stored in ex-k" test "$(count ex-k)" = "$want"
	t_check "kubectl apply of the whole directory (server-side dry run)" \
		$K apply -n ex-k2 --dry-run=server -f "$EX"
	t_check "kubectl get networkpolicies lists them" bash -c "$K get netpol -n ex-k | grep -q three-tier-default-deny"
else
	echo "# kubectl not installed: kubectl apply of the examples not checked"
fi
out=$(gctl get networkpolicies -n ex-g)
t_check "gannetctl get networkpolicies: NAME POD-SELECTOR AGE table" \
	bash -c 'grep -q "^NAME  *POD-SELECTOR  *AGE" <<<"$1" && grep -q "^backend  *tier=backend " <<<"$1"' _ "$out"

# ---------------------------------------------------------------- policy trace
# Pods bound to a node that does not exist: only their labels and ports
# matter to the engine, no agent runs them.
ghost() {   # ghost NS NAME LABELS-JSON [PORTS-JSON]
	acurl -X POST -H 'Content-Type: application/json' -d "$(jq -n --arg ns "$1" --arg n "$2" \
		--argjson l "$3" --argjson p "${4:-[]}" '{apiVersion:"v1",kind:"Pod",
		metadata:{name:$n,namespace:$ns,labels:$l},
		spec:{nodeName:"ghost",containers:[{name:"c",image:"busybox",ports:$p}]}}')" \
		"/api/v1/namespaces/$1/pods" >/dev/null
}
for ns in tr open; do acurl -X POST -H 'Content-Type: application/json' \
	-d "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ns\"}}" /api/v1/namespaces >/dev/null; done
ghost tr client '{"app":"client"}'
ghost tr web '{"app":"web"}' '[{"name":"http","containerPort":8080}]'
ghost tr other '{"app":"other"}'
ghost open free '{"app":"free"}'
gctl apply -n tr -f $EX/default-deny-ingress.yaml >/dev/null
gctl apply -n tr -f - >/dev/null <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
    - from: [{podSelector: {matchLabels: {app: client}}}]
      ports: [{port: http}]
EOF
tr_out=$(gctl policy trace --from tr/client --to tr/web --port 8080/TCP)
t_check "trace client -> web 8080/TCP: ALLOW by tr/allow-web (named port http)" bash -c \
	'grep -q "ALLOW by tr/allow-web spec.ingress\[0\].from\[0\] ports\[0\]" <<<"$1" &&
	 grep -q "ingress at tr/web: ALLOW (by tr/allow-web" <<<"$1" &&
	 grep -q "verdict: ALLOW" <<<"$1"' _ "$tr_out"
t_check "... egress of the client is unrestricted (no policy selects it)" \
	grep -q "egress  at tr/client: ALLOW (no policy selects the pod: unrestricted)" <<<"$tr_out"
tr_out=$(gctl policy trace --from tr/client --to tr/web --port 9090/TCP)
t_check "trace client -> web 9090/TCP: DENY (peer matches, port does not)" bash -c \
	'grep -q "peer matches but not 9090/TCP" <<<"$1" && grep -q "ingress at tr/web: DENY (selected by .*tr/default-deny-ingress.*; no rule allows it)" <<<"$1" &&
	 grep -q "verdict: DENY" <<<"$1"' _ "$tr_out"
tr_out=$(gctl policy trace -n tr --from other --to web --port 8080)
t_check "trace other -> web (pods in -n, default TCP): DENY" bash -c \
	'grep -q "^tr/other -> tr/web 8080/TCP" <<<"$1" && grep -q "verdict: DENY" <<<"$1"' _ "$tr_out"
tr_out=$(gctl policy trace --from tr/web --to open/free --port 80/UDP)
t_check "trace to a pod no policy selects: unrestricted" bash -c \
	'grep -q "ingress at open/free: ALLOW (no policy selects the pod: unrestricted)" <<<"$1" &&
	 grep -q "verdict: ALLOW" <<<"$1"' _ "$tr_out"
gctl apply -n open -f $EX/default-deny-egress.yaml >/dev/null
gctl apply -n open -f $EX/allow-dns-egress-ipblock.yaml >/dev/null
tr_out=$(gctl policy trace --from open/free --to 10.96.0.10 --port 53/UDP)
t_check "trace DNS to 10.96.0.10:53/UDP under the ipBlock example: ALLOW" bash -c \
	'grep -q "egress  at open/free: ALLOW (by open/allow-dns-egress-cluster-dns" <<<"$1" &&
	 grep -q "cidr:10.96.0.10/32" <<<"$1" && grep -q "verdict: ALLOW" <<<"$1"' _ "$tr_out"
tr_out=$(gctl policy trace --from open/free --to 10.96.0.11 --port 53/UDP)
t_check "... and another address is denied by default-deny-egress" grep -q "verdict: DENY" <<<"$tr_out"
j=$(gctl policy trace --from tr/client --to tr/web --port 8080/TCP -o json)
t_check "trace -o json" jqe "$j" '.verdict == "ALLOW" and .ingress.enforced and (.egress.enforced | not)'
out=$(gctl policy trace --from tr/nope --to tr/web --port 80 2>&1); rc=$?
t_check "trace of an unknown pod: exit 1 'pod tr/nope not found' ($out)" \
	bash -c '[ "$1" = 1 ] && grep -q "pod tr/nope not found" <<<"$2"' _ "$rc" "$out"

# ---------------------------------------------------------------- node proxy
code=$(acurl_code /api/v1/nodes/nope/proxy/healthz)
t_check "node proxy: unknown node -> 404 ($code)" test "$code" = 404
t_check "node proxy: /healthz of node1's agent through the API server" \
	test "$(acurl /api/v1/nodes/node1/proxy/healthz)" = ok
code=$(acurl_code /api/v1/nodes/node1/proxy/no/such/path)
t_check "node proxy: a path the agent does not serve -> 404 ($code)" test "$code" = 404
"$KL_TOOL" client "$APISERVER_DATA" alice "" "$CL_DIR/alice.crt" "$CL_DIR/alice.key" >/dev/null
alice() { curl -sS --max-time 20 --cacert "$CA_CERT" --cert "$CL_DIR/alice.crt" --key "$CL_DIR/alice.key" "$@"; }
code=$(alice -o /dev/null -w '%{http_code}' "$APISERVER_URL/api/v1/nodes/node1/proxy/healthz")
t_check "node proxy: user without nodes/proxy -> 403 ($code)" test "$code" = 403
msg=$(alice "$APISERVER_URL/api/v1/nodes/node1/proxy/healthz" | jq -r .message)
t_check "... with the Kubernetes wording ($msg)" grep -q 'cannot get resource "nodes/proxy"' <<<"$msg"
gctl apply -f - >/dev/null <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: node-proxy}
rules: [{apiGroups: [""], resources: [nodes/proxy], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: alice-node-proxy}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: node-proxy}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
EOF
alice_ok() { [ "$(alice "$APISERVER_URL/api/v1/nodes/node1/proxy/healthz")" = ok ]; }
t_check "... and allowed once granted get nodes/proxy by RBAC" wait_for 10 alice_ok
code=$(alice -o /dev/null -w '%{http_code}' "$APISERVER_URL/api/v1/nodes/node1")
t_check "... which does not grant the node object itself (403: $code)" test "$code" = 403
acurl -X POST -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Node",
	"metadata":{"name":"deadnode","annotations":{"gannet.io/agent-endpoint":"https://127.0.0.1:1"}}}' \
	/api/v1/nodes >/dev/null
out=$(acurl -w ' %{http_code}' /api/v1/nodes/deadnode/proxy/healthz)
t_check "node proxy: dead agent -> 503 with a message" bash -c \
	'grep -q " 503$" <<<"$1" && grep -q "agent of node \\\\\"deadnode\\\\\" at https://127.0.0.1:1 is not reachable" <<<"$1"' _ "$out"
acurl -X POST -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Pod",
	"metadata":{"name":"onghost"},"spec":{"nodeName":"deadnode","containers":[{"name":"c","image":"busybox"}]}}' \
	/api/v1/namespaces/default/pods >/dev/null
out=$(acurl -w ' %{http_code}' "$P/onghost/log?follow=true")
t_check "pods/log follow of a pod on a dead agent's node -> 503 too ($out)" grep -q "not reachable.* 503$" <<<"$out"
acurl -X DELETE "$P/onghost" >/dev/null
acurl -X DELETE /api/v1/nodes/deadnode >/dev/null

# ---------------------------------------------------------------- dataplane services
cat >"$CL_DIR/web.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: httpd
          image: busybox
          command: [sh, -c, 'mkdir -p /www; echo \$HOSTNAME >/www/index.html; exec httpd -f -p 8080 -h /www']
          ports: [{name: http, containerPort: 8080}]
          readinessProbe:
            tcpSocket: {port: 8080}
            periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: $VIP
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
EOF
gctl apply -f "$CL_DIR/web.yaml" >/dev/null
ready_ips() {
	acurl /api/v1/namespaces/default/endpoints/web | jq -r '[.subsets[]?.addresses[]?.ip] | sort | join(" ")'
}
two_ready() { [ "$(ready_ips | wc -w)" = 2 ]; }
t_check "2 web pods ready in the Service's Endpoints" wait_for 90 two_ready
IPS=$(ready_ips)
dp_json() { gctl dataplane services --node node1 -o json; }
programmed() {
	local o
	o=$(dp_json) || return 1
	jqe "$o" "[.nodes[0].services[] | select(.vip == \"$VIP\" and .port == 80)][0] |
		.service == \"default/web:http\" and ([.backends[].ip] | sort | join(\" \")) == \"$IPS\" and
		all(.backends[]; .port == 8080)"
}
t_check "dataplane services -o json (node1): $VIP:80 named default/web:http, backends $IPS:8080" \
	wait_for 30 programmed
out=$(gctl dataplane services --node node1)
t_check "dataplane services table: NODE SERVICE FRONTEND ... BACKENDS with the slot shares" bash -c \
	'grep -q "^NODE  *SERVICE  *FRONTEND  *AFFINITY  *PACKETS  *BYTES  *BACKENDS" <<<"$1" &&
	 grep "default/web:http" <<<"$1" | grep -q "'"$VIP"':80/TCP/cluster" &&
	 grep "default/web:http" <<<"$1" | grep -q "%"' _ "$out"
out=$(gctl dataplane services)
t_check "dataplane services without --node lists both nodes" bash -c \
	'grep -q "^node1 .*default/web:http" <<<"$1" && grep -q "^node2 .*default/web:http" <<<"$1"' _ "$out"
# traffic moves the counter: a client pod on node2 fetches through the VIP
mkpod client 2 '[{"name":"c",'"$BB"',"command":["sleep","3600"]}]'
t_check "client pod running" wait_for 60 running_with_ip client
# fetch HOST PORT: GET / with nc (plain HTTP/1.0; Debian's busybox wget
# crashes on -T, so nothing here relies on its timeout), the body's first
# line, or FAIL
fetch() {
	kexec 2 client c -- sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | timeout 3 nc $1 $2 2>/dev/null |
		sed '1,/^\r\$/d' | grep . || echo FAIL" | jq -r .output
}
r=$(fetch "$VIP" 80)
t_check "client reaches the VIP ($r)" grep -q '^web-' <<<"$r"
pk() { gctl dataplane services --node node2 -o json |
	jq "[.nodes[0].services[] | select(.vip == \"$VIP\")][0].packets"; }
t_check "per-service packet counter on node2 counts it ($(pk))" test "$(pk)" -gt 0

# a follow stream through the node proxy (a container log here: the agent
# always serves it) holds one connection to the agent, through the test's
# socat relay for node N (one forked child per connection), and the proxy
# drops it when its client leaves, even though the log is idle.
wp=$(acurl /api/v1/namespaces/default/endpoints/web | jq -r '.subsets[0].addresses[0] | "\(.nodeName) \(.targetRef.name)"')
wn=${wp%% *}; wn=${wn#node}; wpod=${wp#* }
relay=$(pgrep -f "TCP-LISTEN:${KL_AGENT_PORT[$wn]},")
conns() { pgrep -P "$relay" | wc -l; }
# (curl itself in the background, not the acurl function's subshell, so
# that killing $! ends the client)
curl -sS -N --max-time 60 --cacert "$CA_CERT" --cert "$ADMIN_CERT" --key "$ADMIN_KEY" \
	"$APISERVER_URL/api/v1/nodes/node$wn/proxy/containerLogs/default/$wpod/httpd?follow=true" \
	>"$CL_DIR/proxy-follow.out" 2>/dev/null &
cpid=$!
open1() { [ "$(conns)" -ge 1 ]; }
t_check "node proxy follow (containerLogs of $wpod on node$wn): one agent connection open" wait_for 10 open1
sleep 1
t_check "... still streaming after a second (chunked, not buffered)" kill -0 "$cpid"
kill "$cpid" 2>/dev/null
wait "$cpid" 2>/dev/null
closed() { [ "$(conns)" = 0 ]; }
t_check "... and closed once the client left" wait_for 10 closed

# ---------------------------------------------------------------- flows
code=$(acurl_code /api/v1/nodes/node1/proxy/flows)
if [ "$code" = 404 ]; then
	echo "# the agents do not serve /flows yet (node proxy answered 404): flows not checked"
else
	gctl apply -f $EX/default-deny-ingress.yaml >/dev/null
	denied() { fetch "$(echo "$IPS" | cut -d' ' -f1)" 8080 | grep -qx FAIL; }
	t_check "default-deny-ingress: the client cannot reach a web pod" wait_for 20 denied
	dropped() {
		gctl flows --verdict dropped --pod default/client | grep "dropped" |
			grep -q "default/client .* default/web-.* $(echo "$IPS" | cut -d' ' -f1):8080"
	}
	t_check "gannetctl flows --verdict dropped shows the client's dropped connection" wait_for 15 dropped
	out=$(gctl flows --verdict dropped --pod default/client)
	t_check "flows table columns" grep -q "^TIME  *NODE  *VERDICT  *REASON  *DIR  *PROTO  *SRC  *DST  *IDENTITIES" <<<"$out"
	out=$(gctl flows --verdict dropped --pod default/client --since 10m --node node1)
	t_check "flows --since 10m --node node1 (where the web pod behind it runs or not: rows name node1 only)" \
		bash -c '! grep -v "^TIME" <<<"$1" | grep -v "^[0-9:.]*  *node1 " | grep -q .' _ "$out"
	j=$(gctl flows --verdict dropped -o json | head -1)
	t_check "flows -o json: JSON lines with the node ($j)" jqe "$j" '.node and .src and .dst'
	# -f follows every node; it ends when we stop it (the binary itself in
	# the background, not gctl's subshell, so that $! is gannetctl)
	"$CL_BIN/gannetctl" --kubeconfig "$KUBECONFIG" flows -f --verdict dropped >"$CL_DIR/follow.out" 2>&1 &
	fpid=$!
	sleep 1
	IP2=$(echo "$IPS" | cut -d' ' -f2)
	fetch "$IP2" 8080 >/dev/null
	drops2() { grep "dropped" "$CL_DIR/follow.out" | grep "default/client .*$IP2:8080" | awk '{print $1}' | sort -u | wc -l; }
	follow_has() { [ "$(drops2)" -ge 1 ]; }
	t_check "flows -f prints a new drop as it happens" wait_for 15 follow_has
	# the agent of IP2's node restarts: -f reconnects and keeps following
	n2=$(acurl /api/v1/namespaces/default/endpoints/web |
		jq -r --arg ip "$IP2" '.subsets[0].addresses[] | select(.ip == $ip) | .nodeName')
	n2=${n2#node}
	before=$(drops2)
	agent_kill "$n2" TERM
	CL_VERBOSE=1 agent_start "$n2" >/dev/null 2>&1 || cl_die "agent $n2 restart"
	up() { [ "$(acurl /api/v1/nodes/node$n2/proxy/healthz)" = ok ]; }
	wait_for 20 up >/dev/null
	more() { fetch "$IP2" 8080 >/dev/null; [ "$(drops2)" -gt "$before" ]; }
	t_check "flows -f reconnects after node$n2's agent restarted and shows the next drop" wait_for 30 more
	t_check "... having said so on stderr" grep -q "node node$n2: .*\(ended\|retrying\)" "$CL_DIR/follow.out"
	kill "$fpid" 2>/dev/null
	wait "$fpid" 2>/dev/null
	gctl delete networkpolicy default-deny-ingress >/dev/null
fi
echo "# suite time: $((SECONDS - T0)) s"
t_done
