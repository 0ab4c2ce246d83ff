#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# NodePort and externalIPs to backends on any node, end to end on a
# 3-node namespace cluster (API server with controllers, API-mode agents,
# runc pods, XDP underlay): two backend pods, on node1 and node2, none on
# node3, behind Service np (NodePort 30090 -> httpd answering its pod name,
# /cgi-bin/ip answering the peer address it sees; 30091 -> echo; an
# externalIP). From an external client namespace on the fabric:
#  - externalTrafficPolicy Cluster: every node programs both backends for
#    its external frontends; NodePort on EVERY node (node3 has no local
#    backend: DNAT+SNAT+VXLAN at XDP to node1/node2) answers 30/30 and
#    reaches both backends; the externalIP routed via each node the same;
#    a backend reached through node3 sees node3's address (SNAT); a long
#    echo flow through node3 keeps its backend (every line echoed on one
#    connection over 4 s);
#  - externalTrafficPolicy Local: node1/node2 program only their local
#    backend, node3 none; through node1 only np-a answers and it sees the
#    external client's own address; node3 does not answer.
set -u
cd "$(dirname "$0")/../.." || exit 1
export CL_UNDERLAY_MODE=${CL_UNDERLAY_MODE:-xdp}
. tests/lib/cluster.sh
export APISERVER_CONTROLLERS=1
. tests/lib/kubelet.sh
kl_require
T0=$SECONDS
NP=30090
NPE=30091
EXTIP=192.168.250.201

kl_up 3

ready_nodes() {
	acurl /api/v1/nodes | jq -e '[.items[] | select(any(.status.conditions[]?; .type=="Ready" and .status=="True"))] | length == 3' >/dev/null
}
t_check "3 nodes registered and Ready" wait_for 20 ready_nodes

SVC=/api/v1/namespaces/default/services
EPS=/api/v1/namespaces/default/endpoints
# backend pod NAME on NODE: httpd (index = its name, CGI /cgi-bin/ip = the
# peer address it sees) and an echo server
backend() {
	local cmd body
	cmd="mkdir -p /www/cgi-bin; echo $1 >/www/index.html;
printf '#!/bin/sh\necho Content-Type: text/plain\necho\necho \$REMOTE_ADDR\n' >/www/cgi-bin/ip;
chmod +x /www/cgi-bin/ip; nc -ll -p 9000 -e cat & exec httpd -f -p 8080 -h /www"
	body=$(jq -n --arg n "$1" --arg node "node$2" --arg cmd "$cmd" \
		'{apiVersion:"v1",kind:"Pod",metadata:{name:$n,labels:{app:"np"}},
		  spec:{nodeName:$node,terminationGracePeriodSeconds:1,
			containers:[{name:"web",image:"busybox",command:["sh","-c",$cmd],
				     ports:[{containerPort:8080},{containerPort:9000}]}]}}')
	acurl -X POST -H 'Content-Type: application/json' -d "$body" "$P" >/dev/null
}
backend np-a 1
backend np-b 2
t_check "backend np-a Running on node1" wait_for 60 running_with_ip np-a
t_check "backend np-b Running on node2" wait_for 60 running_with_ip np-b

svc_json=$(jq -n --arg ext "$EXTIP" --argjson np $NP --argjson npe $NPE '{apiVersion:"v1",kind:"Service",
	metadata:{name:"np"},
	spec:{type:"NodePort",selector:{app:"np"},externalIPs:[$ext],externalTrafficPolicy:"Cluster",
	      ports:[{name:"http",port:80,targetPort:8080,nodePort:$np,protocol:"TCP"},
		     {name:"echo",port:9000,targetPort:9000,nodePort:$npe,protocol:"TCP"}]}}')
out=$(acurl -X POST -H 'Content-Type: application/json' -d "$svc_json" "$SVC")
t_check "Service np (NodePort $NP, externalIP $EXTIP, policy Cluster) created" \
	jqe "$out" '.spec.type == "NodePort"'
t_check "Endpoints np from the Endpoints controller: 2 addresses" \
	wait_for 30 ajq "$EPS/np" '[.subsets[]?.addresses[]?] | length == 2'

dpsvc() { in_node "$1" "$CL_BIN/gannet-dp" -r "$CL_PIN" -n "node$1" -j svc 2>/dev/null; }
# ext_programmed NODE N: NodePort and externalIP frontends with N backends
ext_programmed() {
	local o
	o=$(dpsvc "$1") &&
		jqe "$o" "any(.[]; .vip == \"$(node_ip "$1")\" and .port == $NP and .scope == \"external\" and (.backends | length) == $2)" &&
		jqe "$o" "any(.[]; .vip == \"$EXTIP\" and .port == 80 and .scope == \"external\" and (.backends | length) == $2)"
}
for i in 1 2 3; do
	t_check "node$i programs its external frontends with both backends (Cluster)" wait_for 20 ext_programmed "$i" 2
done

client_add ext
CIP=$(client_ip ext)
if [ -n "${NP_DEBUG_PAUSE:-}" ]; then echo "PAUSED $CL_RUN $CL_DIR"; sleep "$NP_DEBUG_PAUSE"; fi
# gets N URL: N HTTP GETs from the external client, one connection each
# (busybox httpd shows IPv4 peers as [::ffff:a.b.c.d]: unwrapped)
gets() {
	local i
	for ((i = 0; i < $1; i++)); do in_client ext curl -s --max-time 3 "$2" || echo FAIL; echo; done |
		grep -v '^$' | sed 's/^\[::ffff:\(.*\)\]$/\1/'
}

# ---------------------------------------------------------------- Cluster
for i in 1 2 3; do
	out=$(gets 30 "http://$(node_ip "$i"):$NP/")
	echo "# node$i NodePort: $(sort <<<"$out" | uniq -c | tr '\n' ' ')"
	t_check "NodePort via node$i: 30/30 answered" [ "$(grep -c '^np-[ab]$' <<<"$out")" = 30 ]
	t_check "NodePort via node$i: both backends reached" \
		[ "$(grep -c '^np-a$' <<<"$out")" -gt 0 -a "$(grep -c '^np-b$' <<<"$out")" -gt 0 ]
done
for i in 1 2 3; do
	in_client ext ip route replace "$EXTIP/32" via "$(node_ip "$i")"
	out=$(gets 20 "http://$EXTIP/")
	echo "# externalIP via node$i: $(sort <<<"$out" | uniq -c | tr '\n' ' ')"
	t_check "externalIP $EXTIP via node$i: 20/20 answered, both backends" \
		[ "$(grep -c '^np-[ab]$' <<<"$out")" = 20 -a "$(grep -c '^np-a$' <<<"$out")" -gt 0 -a "$(grep -c '^np-b$' <<<"$out")" -gt 0 ]
done
seen=$(gets 4 "http://$(node_ip 3):$NP/cgi-bin/ip" | sort -u | tr '\n' ' ')
t_check "through node3 the backend sees node3's address (SNAT): $seen" [ "$seen" = "$(node_ip 3) " ]

# a long flow through node3: 40 lines over 4 s on one connection, all echoed
long=$(in_client ext python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
f = s.makefile("rb"); ok = 0
for i in range(40):
    line = b"line%d\n" % i
    s.sendall(line)
    if f.readline() == line:
        ok += 1
    time.sleep(0.1)
print(ok)' "$(node_ip 3)" $NPE 2>&1)
t_check "a long echo flow through node3 stays on its backend (40/40 lines: $long)" [ "$long" = 40 ]
st() { in_node "$1" "$CL_BIN/gannet-dp" -r "$CL_PIN" -n "node$1" -j stats | jq -r "[.forward[\"nodeport-remote\"].packets, .forward[\"nodeport-via-tc-neigh\"].packets] | add"; }
n3=$(st 3)
t_check "node3 counters: $n3 NodePort frames encapsulated to remote backends" [ "${n3:-0}" -ge 100 ]

# ---------------------------------------------------------------- Local
acurl -X PATCH -H 'Content-Type: application/merge-patch+json' \
	-d '{"spec":{"externalTrafficPolicy":"Local"}}' "$SVC/np" >/dev/null
t_check "Local: node1 programs only its local backend" wait_for 20 ext_programmed 1 1
t_check "Local: node2 programs only its local backend" wait_for 20 ext_programmed 2 1
t_check "Local: node3 (no local backend) programs none" wait_for 20 ext_programmed 3 0
out=$(gets 10 "http://$(node_ip 1):$NP/")
t_check "Local: via node1 only np-a answers (10/10)" [ "$(grep -c '^np-a$' <<<"$out")" = 10 ]
seen=$(gets 3 "http://$(node_ip 1):$NP/cgi-bin/ip" | sort -u | tr '\n' ' ')
t_check "Local: np-a sees the external client's address $CIP ($seen)" [ "$seen" = "$CIP " ]
out=$(in_client ext curl -s --max-time 2 "http://$(node_ip 3):$NP/" 2>&1)
t_check "Local: node3 without a local backend does not answer ('$out')" [ -z "$out" ]

t_check "agents stop cleanly on SIGTERM (no sanitizer report)" cluster_stop_agents_checked
echo "# suite time: $((SECONDS - T0)) s"
t_done
