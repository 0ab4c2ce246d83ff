#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Services on the node, end to end on a 3-node namespace cluster
# (gannet-apiserver with in-process controllers, 3 API-mode agents, runc
# pods, BPF datapath; tests/lib/kubelet.sh). A Deployment "web" of 3
# busybox backends (httpd on a named container port answering its pod
# name, readiness = GET /ready.html, an echo server on 9000) behind Service
# web (ClusterIP 10.96.100.10, ports http->"http" by name and echo 9000,
# NodePort 30080, an externalIP). Endpoints come from the Endpoints
# controller when the API server runs one, else the suite writes them from
# pod readiness exactly as the controller would. Checks:
#  - every agent programs the service (gannet-dp svc: VIP and NodePort
#    frontends, backends = ready pods with the resolved target port);
#  - 300 connections from a client pod to the ClusterIP reach all 3
#    backends (>= 30 each); /metrics carries the service's packet counter;
#  - scale to 5: connections follow (all 5 answer); back to 3;
#  - a backend made unready (probe file removed) gets no new connections
#    while an established echo connection to another backend stays up;
#  - cluster DNS from the pod: web.default.svc.cluster.local, the short
#    name "web" through the search path, wget http://web.default.svc.cluster.local;
#  - sessionAffinity ClientIP (one backend for one client); a headless
#    Service (no frontend, name -> ready pod IPs); UDP through a ClusterIP
#    (nslookup via a UDP Service, reply from the VIP);
#  - NodePort on every node and an externalIP, from an external client
#    namespace on the fabric (externalTrafficPolicy Cluster: backends on
#    other nodes are reached through VXLAN, suite 71 goes further);
#  - the Service deleted -> its frontends leave the maps; an agent restart
#    removes a stale pinned service the API does not have.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/cluster.sh
export APISERVER_CONTROLLERS=1
. tests/lib/kubelet.sh
kl_require
command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || cl_skip "dnsmasq not installed"
T0=$SECONDS
VIP=10.96.100.10
EXTIP=192.168.250.200
NODEPORT=30080

kl_up 3

ready_nodes() {
	acurl /api/v1/nodes | jq -e '[.items[] | select(any(.status.conditions[]?; .type=="Ready" and .status=="True"))] | length == 3' >/dev/null
}
t_check "3 nodes registered and Ready" wait_for 20 ready_nodes

web_yaml() {   # web_yaml REPLICAS
	cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: $1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: httpd
          image: busybox
          command: [sh, -c, 'echo \$POD_NAME >/www/index.html; echo ok >/www/ready.html; nc -ll -p 9000 -e cat & exec httpd -f -p 8080 -h /www']
          ports:
            - {name: http, containerPort: 8080}
            - {name: echo, containerPort: 9000}
          env:
            - name: POD_NAME
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
          readinessProbe:
            httpGet: {path: /ready.html, port: 8080}
            periodSeconds: 1
            failureThreshold: 1
          volumeMounts:
            - {name: www, mountPath: /www}
      volumes:
        - {name: www, emptyDir: {}}
EOF
}
DEP=/apis/apps/v1/namespaces/default/deployments
SVC=/api/v1/namespaces/default/services
EPS=/api/v1/namespaces/default/endpoints
web_yaml 3 >"$CL_DIR/web.yaml"
t_check "Deployment web (3 replicas) applied" gctl apply -f "$CL_DIR/web.yaml"
svc_json=$(jq -n --arg vip "$VIP" --arg ext "$EXTIP" --argjson np $NODEPORT '{apiVersion:"v1",kind:"Service",
	metadata:{name:"web"},
	spec:{type:"NodePort",clusterIP:$vip,selector:{app:"web"},externalIPs:[$ext],
	      ports:[{name:"http",port:80,targetPort:"http",nodePort:$np,protocol:"TCP"},
	             {name:"echo",port:9000,targetPort:9000,protocol:"TCP"}]}}')
out=$(acurl -X POST -H 'Content-Type: application/json' -d "$svc_json" "$SVC")
t_check "Service web created with clusterIP $VIP" jqe "$out" ".spec.clusterIP == \"$VIP\""

WEBQ='labelSelector=app%3Dweb'
web_pods() {   # name ip ready nodeName, live pods with an IP
	acurl "$P?$WEBQ" | jq -r '.items[] | select(.metadata.deletionTimestamp == null) |
		select(.status.podIP != null) |
		[.metadata.name, .status.podIP,
		 (any(.status.conditions[]?; .type=="Ready" and .status=="True") | tostring),
		 .spec.nodeName] | @tsv'
}
n_ready() { web_pods | awk '$3 == "true"' | wc -l; }
ready_is() { [ "$(n_ready)" = "$1" ]; }
t_check "3 web pods Running and Ready" wait_for 90 ready_is 3

# Endpoints: the controller's when it exists, else written here from pod
# readiness (ready -> addresses, not ready -> notReadyAddresses).
HAND_EP=1
if wait_for 6 ajq "$EPS/web" '.subsets | length > 0' >/dev/null 2>&1; then
	HAND_EP=0
	echo "# Endpoints from the API server's Endpoints controller"
else
	echo "# no Endpoints controller answered: Endpoints written by the suite from pod readiness"
fi
ep_sync() {
	[ "$HAND_EP" = 1 ] || return 0
	local body
	body=$(web_pods | jq -R -s '[split("\n")[] | select(length > 0) | split("\t") |
		{ip: .[1], ready: (.[2] == "true"), nodeName: .[3], targetRef: {kind: "Pod", namespace: "default", name: .[0]}}] as $p |
		{apiVersion: "v1", kind: "Endpoints", metadata: {name: "web"},
		 subsets: [{addresses: [$p[] | select(.ready) | del(.ready)],
			    notReadyAddresses: [$p[] | select(.ready | not) | del(.ready)],
			    ports: [{name: "http", port: 8080, protocol: "TCP"}, {name: "echo", port: 9000, protocol: "TCP"}]}]}')
	if acurl "$EPS/web" | jq -e '.kind == "Endpoints"' >/dev/null 2>&1; then
		body=$(jq --arg rv "$(acurl "$EPS/web" | jq -r .metadata.resourceVersion)" '.metadata.resourceVersion = $rv' <<<"$body")
		acurl -X PUT -H 'Content-Type: application/json' -d "$body" "$EPS/web" >/dev/null
	else
		acurl -X POST -H 'Content-Type: application/json' -d "$body" "$EPS" >/dev/null
	fi
}
ep_sync

dpsvc() { in_node "$1" "$CL_BIN/gannet-dp" -r "$CL_PIN" -n "node$1" -j svc 2>/dev/null; }
# programmed NODE VIP PORT SCOPE N: the frontend has N backends in the maps
programmed() {
	local o
	o=$(dpsvc "$1") && jqe "$o" "any(.[]; .vip == \"$2\" and .port == $3 and .scope == \"$4\" and (.backends | length) == $5)"
}
# all_programmed N: every node has the ClusterIP frontends with N backends
# and the NodePort/externalIP ones too (externalTrafficPolicy Cluster:
# every ready backend, on any node)
all_programmed() {
	local i
	for ((i = 1; i <= 3; i++)); do
		programmed "$i" "$VIP" 80 cluster "$1" && programmed "$i" "$VIP" 9000 cluster "$1" &&
			programmed "$i" "$(node_ip "$i")" "$NODEPORT" external "$1" &&
			programmed "$i" "$EXTIP" 80 external "$1" || return 1
	done
}
t_check "every node programs ClusterIP, NodePort and externalIP frontends with 3 backends" wait_for 20 all_programmed 3
o=$(dpsvc 1)
t_check "backends are the ready pods' IPs with the named targetPort resolved (8080)" \
	jqe "$o" "[.[] | select(.vip == \"$VIP\" and .port == 80) | .backends[] | select(.port == 8080) | .ip] | sort == $(web_pods | awk '{print $2}' | sort | jq -R . | jq -s -c .)"
t_check "backends carry their node IPs" jqe "$o" "[.[] | select(.vip == \"$VIP\" and .port == 80) | .backends[] | .nodeIP | startswith(\"192.168.250.\")] | all"

# ---------------------------------------------------------------- client pod
mkpod client 1 "[{\"name\":\"c\",$BB,\"command\":[\"sleep\",\"3600\"]}]"
t_check "client pod Running" wait_for 60 running_with_ip client
# kx NODE POD CTR -- ARGV: exec in a container, its output only
kx() { kexec "$@" | jq -r .output; }
if [ -n "${SVC_DEBUG_PAUSE:-}" ]; then echo "PAUSED $CL_RUN $CL_DIR"; sleep "$SVC_DEBUG_PAUSE"; fi
# hits N URL: N HTTP GETs, one connection each, one pod name per line
hits() { kx 1 client c -- sh -c "i=0; while [ \$i -lt $1 ]; do timeout 3 wget -q -O- $2 2>/dev/null || echo FAIL; i=\$((i+1)); done"; }
count() { sort | uniq -c | sort -rn; }
out=$(hits 300 "http://$VIP/")
echo "$out" | count | sed 's/^/#   /'
t_check "300 connections to $VIP:80, no failure" [ "$(grep -c '^web-' <<<"$out")" = 300 ]
for pn in $(web_pods | awk '{print $1}'); do
	t_check "backend $pn got >= 30 of 300" [ "$(grep -c "^$pn\$" <<<"$out")" -ge 30 ]
done

metric() { in_node 1 curl -sS --max-time 5 "http://$(node_ip 1):9962/metrics"; }
m=$(metric | grep '^gannet_service_packets_total{namespace="default",name="web",port="http"' | grep "frontend=\"$VIP:80/TCP/cluster\"")
echo "# $m"
t_check "/metrics: gannet_service_packets_total for web/http >= 300" [ "${m##* }" -ge 300 ]

# ---------------------------------------------------------------- scale
acurl -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"replicas":5}}' "$DEP/web" >/dev/null
t_check "scaled to 5 ready pods" wait_for 90 ready_is 5
ep_sync
t_check "every node programs 5 backends" wait_for 20 all_programmed 5
out=$(hits 300 "http://$VIP/")
echo "$out" | count | sed 's/^/#   /'
t_check "after scale-up all 5 backends answer (>= 20 each of 300)" \
	[ "$(echo "$out" | grep '^web-' | count | awk '$1 >= 20' | wc -l)" = 5 ]
acurl -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"replicas":3}}' "$DEP/web" >/dev/null
three_live() { [ "$(web_pods | wc -l)" = 3 ] && ready_is 3; }
t_check "scaled back to 3" wait_for 60 three_live
ep_sync
t_check "every node back to 3 backends" wait_for 20 all_programmed 3
out=$(hits 60 "http://$VIP/")
live=$(web_pods | awk '{print $1}' | sort | tr '\n' ' ')
t_check "after scale-down only the 3 live pods answer" \
	[ "$(echo "$out" | sort -u | tr '\n' ' ')" = "$live" ]

# ---------------------------------------------------------------- unready backend
# an established echo connection through the ClusterIP: a line every 0.2 s
kx 1 client c -- sh -c "(i=0; while [ \$i -lt 400 ]; do echo line\$i; i=\$((i+1)); sleep 0.2; done) | nc $VIP 9000 >/tmp/echo.out 2>&1 &" >/dev/null
sleep 1.5
# which backend holds it: the pod netns with an established :9000 socket
held=""
for ns in $(ip netns list | awk '{print $1}' | grep "^$CL_RUN-k"); do
	if in_ns "$ns" ss -tnH state established '( sport = :9000 )' 2>/dev/null | grep -q .; then
		held=$(in_ns "$ns" ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
	fi
done
t_check "echo connection established to a backend ($held)" [ -n "$held" ]
victim=$(web_pods | awk -v h="$held" '$2 != h {print $1; exit}')
vnode=$(web_pods | awk -v v="$victim" '$1 == v {print $4}' | sed 's/node//')
kx "$vnode" "$victim" httpd -- rm -f /www/ready.html >/dev/null
not_ready() { web_pods | awk -v v="$victim" '$1 == v && $3 == "false"' | grep -q .; }
t_check "backend $victim reported not Ready" wait_for 20 not_ready
ep_sync
t_check "every node drops it: 2 backends" wait_for 20 all_programmed 2
lines1=$(kx 1 client c -- wc -l /tmp/echo.out | awk '{print $1}')
out=$(hits 100 "http://$VIP/")
t_check "no new connection reaches the unready $victim" [ "$(grep -c "^$victim\$" <<<"$out")" = 0 ]
t_check "the other 2 backends still serve all 100" [ "$(grep -c '^web-' <<<"$out")" = 100 ]
sleep 1
lines2=$(kx 1 client c -- wc -l /tmp/echo.out | awk '{print $1}')
echo "# echo lines: $lines1 -> $lines2"
t_check "the established echo connection keeps flowing ($lines1 -> $lines2 lines)" [ "${lines2:-0}" -gt "${lines1:-0}" ]

# ---------------------------------------------------------------- DNS
ns1=$(kx 1 client c -- nslookup web.default.svc.cluster.local)
echo "$ns1" | sed 's/^/#   /'
t_check "nslookup web.default.svc.cluster.local -> $VIP" grep -q "Address.*$VIP" <<<"$ns1"
rc=$(kx 1 client c -- cat /etc/resolv.conf)
t_check "pod resolv.conf: nameserver 10.96.0.10" grep -qx 'nameserver 10.96.0.10' <<<"$rc"
t_check "pod resolv.conf: search <ns>.svc.cluster.local svc.cluster.local cluster.local" \
	grep -qx 'search default.svc.cluster.local svc.cluster.local cluster.local' <<<"$rc"
# busybox nslookup does not apply the search list; wget (libc resolver) does
out=$(kx 1 client c -- timeout 3 wget -q -O- http://web/)
t_check "wget http://web/ (short name through the search path) answers" grep -q '^web-' <<<"$out"
out=$(kx 1 client c -- timeout 3 wget -q -O- http://web.default.svc.cluster.local/)
t_check "wget http://web.default.svc.cluster.local answers" grep -q '^web-' <<<"$out"

# ---------------------------------------------------------------- affinity, headless
sticky=$(jq -n '{apiVersion:"v1",kind:"Service",metadata:{name:"sticky"},
	spec:{clusterIP:"10.96.100.11",selector:{app:"web"},sessionAffinity:"ClientIP",
	      sessionAffinityConfig:{clientIP:{timeoutSeconds:60}},
	      ports:[{name:"http",port:80,targetPort:"http"}]}}')
acurl -X POST -H 'Content-Type: application/json' -d "$sticky" "$SVC" >/dev/null
headless=$(jq -n '{apiVersion:"v1",kind:"Service",metadata:{name:"web-hl"},
	spec:{clusterIP:"None",selector:{app:"web"},ports:[{name:"http",port:8080}]}}')
acurl -X POST -H 'Content-Type: application/json' -d "$headless" "$SVC" >/dev/null
if [ "$HAND_EP" = 1 ]; then
	for s in sticky web-hl; do
		acurl "$EPS/web" | jq --arg n "$s" '{apiVersion, kind, metadata: {name: $n}, subsets}' |
			acurl -X POST -H 'Content-Type: application/json' -d @- "$EPS" >/dev/null
	done
fi
sticky_programmed() {
	local o
	o=$(dpsvc 1) && jqe "$o" 'any(.[]; .vip == "10.96.100.11" and .port == 80 and .sessionAffinity == "ClientIP" and .affinityTimeoutSeconds == 60 and (.backends | length) == 2)'
}
t_check "sessionAffinity ClientIP (timeout 60 s) programmed with the 2 ready backends" wait_for 20 sticky_programmed
out=$(hits 40 "http://10.96.100.11/")
echo "$out" | count | sed 's/^/#   /'
# (not $out inside: t_check has a local of that name)
res=$out
one_backend() { [ "$(grep '^web-' <<<"$res" | sort -u | wc -l)" = 1 ] && [ "$(grep -c '^web-' <<<"$res")" = 40 ]; }
t_check "ClientIP affinity: 40 connections from one client reach one backend" one_backend
o=$(dpsvc 1)
t_check "headless service web-hl gets no frontend in the maps" jqe "$o" '[.[] | select(.port == 8080 and .scope == "cluster")] | length == 0'
# headless names carry the ready pods' IPs (the unready one is not published)
hl_ips() { kx 1 client c -- nslookup web-hl.default.svc.cluster.local | awk '/^Address: 10\.244\./ {print $2}' | sort | tr '\n' ' '; }
hl_ok() { [ "$(hl_ips)" = "$(web_pods | awk '$3 == "true" {print $2}' | sort | tr '\n' ' ')" ]; }
t_check "headless web-hl.default.svc.cluster.local -> the 2 ready pod IPs" wait_for 10 hl_ok

# ---------------------------------------------------------------- UDP
# a selector-less UDP Service whose hand-written Endpoints are the client
# node's DNS server (a node reaches its own pods; host -> remote pod has no
# route in this datapath): nslookup through the VIP checks sendmsg4 translation and that the
# reply comes back from the VIP (recvmsg4), or the resolver would drop it
udp=$(jq -n '{apiVersion:"v1",kind:"Service",metadata:{name:"dns-udp"},
	spec:{clusterIP:"10.96.100.12",ports:[{name:"dns",port:53,protocol:"UDP"}]}}')
acurl -X POST -H 'Content-Type: application/json' -d "$udp" "$SVC" >/dev/null
udp_ep=$(jq -n --arg ip "$(node_ip 1)" '{apiVersion:"v1",kind:"Endpoints",metadata:{name:"dns-udp"},
	subsets:[{addresses:[{ip:$ip,nodeName:"node1"}],ports:[{name:"dns",port:53,protocol:"UDP"}]}]}')
acurl -X POST -H 'Content-Type: application/json' -d "$udp_ep" "$EPS" >/dev/null
udp_programmed() { programmed 1 10.96.100.12 53 cluster 1; }
t_check "UDP service 10.96.100.12:53 programmed with 1 backend" wait_for 20 udp_programmed
out=$(kx 1 client c -- nslookup web.default.svc.cluster.local 10.96.100.12)
echo "$out" | sed 's/^/#   /'
t_check "UDP through the ClusterIP: nslookup via 10.96.100.12 answers $VIP" grep -q "Address.*$VIP\$" <<<"$out"

# ---------------------------------------------------------------- NodePort / externalIP
client_add ext
for ((i = 1; i <= 3; i++)); do
	r=$(for k in 1 2 3 4 5 6; do in_client ext curl -s --max-time 3 "http://$(node_ip "$i"):$NODEPORT/" 2>/dev/null || echo FAIL; done)
	t_check "NodePort $(node_ip "$i"):$NODEPORT from the external client answers 6/6 ($(sort -u <<<"$r" | tr '\n' ' '))" \
		[ "$(grep -c '^web-' <<<"$r")" = 6 ]
done
# the externalIP is routed by the external network to some node
in_client ext ip route add "$EXTIP/32" via "$(node_ip 3)"
r=$(in_client ext curl -s --max-time 3 "http://$EXTIP/" 2>/dev/null)
t_check "externalIP $EXTIP:80 via node3 answers ($r)" grep -q '^web-' <<<"$r"

# ---------------------------------------------------------------- removal + restart
acurl -X DELETE "$SVC/web" >/dev/null
gone() { local o; o=$(dpsvc "$1") && jqe "$o" "[.[] | select(.vip == \"$VIP\" or .port == $NODEPORT or .vip == \"$EXTIP\")] | length == 0"; }
t_check "Service deleted -> node1 removes all its frontends" wait_for 20 gone 1
t_check "... and node3 too" wait_for 20 gone 3
# a stale service left in the pins while the agent is down is removed at start
agent_kill 2 TERM
in_node 2 "$CL_BIN/gannet-dp" -r "$CL_PIN" -n node2 svc-add --vip 10.96.200.1 --port 81 >/dev/null
t_check "stale service pinned while the agent is down" programmed 2 10.96.200.1 81 cluster 0
CL_VERBOSE=1 agent_start 2 || cl_die "agent 2 restart"
stale_gone() { local o; o=$(dpsvc 2) && jqe "$o" '[.[] | select(.vip == "10.96.200.1")] | length == 0'; }
t_check "agent restart removes the stale pinned service" wait_for 20 stale_gone

# SIGTERM: every agent stops its informers and sync thread and exits 0
# (with BUILD=build-san: no ASan/LSan/UBSan report in its log)
t_check "agents stop cleanly on SIGTERM (no sanitizer report)" cluster_stop_agents_checked
echo "# suite time: $((SECONDS - T0)) s"
t_done
