#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Ingress on the real namespace cluster (tests/lib/kubelet.sh): gannet-apiserver
# with its in-process controllers (Deployments, ReplicaSets, Endpoints...),
# 2 API-mode agents with runc pods and the BPF datapath, and
# gannet-ingress-controller + its nginx inside node1's network namespace
# answering on node1's underlay address :80/:443. The examples/ingress
# manifests are applied unchanged with gannetctl; every request comes from an
# external client namespace on the fabric. Checks:
#  - Host helloworld-v1/-v2.example.com land on their Deployment (backends
#    answer "Hello version: vN, instance: <pod>"), pods on both nodes
#    answer; unknown host 404; status.loadBalancer = node1's address;
#    gannetctl get/describe ingress show hosts, paths, backends, address;
#  - IngressClass served by the API server (gannetctl and kubectl get
#    ingressclass); an Ingress without a class is ignored until an
#    IngressClass of our controller is annotated is-default-class; an
#    Ingress of another class is never served;
#  - paths (Prefix) and spec.defaultBackend (unmatched path of its host,
#    unknown hosts);
#  - TLS variant (make-tls-secret.sh + examples/ingress/tls): HTTPS with
#    SNI, each host's own certificate (a second Secret for another host),
#    HTTP -> 308 https://, unknown SNI refused;
#  - scaling helloworld-v1 to 4: all 4 replicas answer; back to 2;
#  - a rolling update (gannetctl rollout restart) while the client sends
#    requests continuously: every answer 200 (0 lost), new pods answer;
#  - upstreams that refuse or are unreachable next to a live one (what a
#    pod dying before the reload looks like): every request answered
#    (proxy_next_upstream), the failures visible in nginx's error log;
#  - an invalid Ingress, an Ingress naming a missing Service and one naming
#    a missing TLS Secret: error annotation + Warning Event InvalidIngress,
#    503 for that route/host only, the others keep working;
#  - SIGTERM: the controller withdraws its address and stops nginx, exit 0.
# A node's host stack reaches remote pods only through a route (the agent
# installs routes to its own pods only): the suite adds one per remote pod
# CIDR on the ingress node (docs/ingress.md).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/cluster.sh
export APISERVER_CONTROLLERS=1
. tests/lib/kubelet.sh
kl_require
cluster_require_bins gannet-ingress-controller gannetctl
command -v nginx >/dev/null || cl_skip "nginx not installed (scripts/deps.sh)"
command -v openssl >/dev/null || cl_skip "openssl not installed"
T0=$SECONDS

kl_up 2
ready_nodes() {
	acurl /api/v1/nodes | jq -e '[.items[] | select(any(.status.conditions[]?; .type=="Ready" and .status=="True"))] | length == 2' >/dev/null
}
t_check "2 nodes registered and Ready" wait_for 20 ready_nodes

NODE_IP=$(node_ip 1)
EPS=/api/v1/namespaces/default/endpoints
INGS=/apis/networking.k8s.io/v1/namespaces/default/ingresses
EX=examples/ingress

# ---------------------------------------------------------------- workloads
t_check "gannetctl apply examples/ingress (Deployments, Services, Ingress) unchanged" \
	gctl apply -f "$EX/10-helloworld-v1.yaml" -f "$EX/10-helloworld-v2.yaml" -f "$EX/20-ingress.yaml"
# ep_n SVC N: Endpoints of SVC list N ready addresses
ep_n() { [ "$(acurl "$EPS/$1" | jq '[.subsets[]?.addresses[]?] | length')" = "$2" ]; }
t_check "helloworld-v1 Endpoints: 2 ready pods" wait_for 90 ep_n helloworld-v1 2
t_check "helloworld-v2 Endpoints: 2 ready pods" wait_for 60 ep_n helloworld-v2 2
# The ingress node's stack reaches the other node's pods: the agent routes
# every peer's pod CIDR via that node's underlay address.
peer_routes() {
	local n name cidr
	for n in $(acurl /api/v1/nodes | jq -r '.items[] | [.metadata.name, .spec.podCIDR] | @tsv' | tr '\t' ,); do
		name=${n%,*} cidr=${n#*,}
		[ "$name" = node1 ] && continue
		in_node 1 ip route show "$cidr" | grep -q "via $(node_ip "${name#node}")" || return 1
	done
}
t_check "agent on node1 routes the other nodes' pod CIDRs via their underlay address" wait_for 20 peer_routes


# ---------------------------------------------------------------- controller
ING_DIR=$CL_DIR/ingress
mkdir -p "$ING_DIR"
# The whole daemon in node1's namespace; the admin kubeconfig names
# 127.0.0.1:<port>, relayed to the API server there (kubelet.sh).
node_bg 1 "$CL_BIN/gannet-ingress-controller" --kubeconfig "$KUBECONFIG" --node node1 \
	--listen-addr "$NODE_IP" --state-dir "$ING_DIR/state" >"$ING_DIR/ctrl.log" 2>&1
CPID=$CL_LAST_PID
cluster_on_exit "kill -TERM $CPID 2>/dev/null; sleep 0.5; [ -s '$ING_DIR/state/nginx.pid' ] && kill -QUIT \$(cat '$ING_DIR/state/nginx.pid') 2>/dev/null"

client_add ext
# get HOST PATH -> body (curl exit status)
get() { in_client ext curl -sS --max-time 5 -H "Host: $1" "http://$NODE_IP$2"; }
# code HOST PATH -> HTTP status
code() { in_client ext curl -s -o /dev/null --max-time 5 -w '%{http_code}' -H "Host: $1" "http://$NODE_IP$2"; }
answers() { get "$1" "$2" | grep -q "^Hello version: $3, instance: helloworld-$3-"; }
code_is() { [ "$(code "$1" "$2")" = "$3" ]; }

t_check "helloworld-v1.example.com -> Deployment helloworld-v1" wait_for 20 answers helloworld-v1.example.com / v1
t_check "helloworld-v2.example.com -> Deployment helloworld-v2" answers helloworld-v2.example.com / v2
t_check "unknown host -> 404 from the ingress" code_is nosuch.example.com / 404
# instances HOST N: N requests, the distinct pods that answered
instances() { for ((k = 0; k < $2; k++)); do get "$1" /; done | sed -n 's/.*instance: //p' | sort -u; }
pods_of() { acurl "/api/v1/namespaces/default/pods?labelSelector=version%3D$1" |
	jq -r '.items[] | select(.metadata.deletionTimestamp == null and .status.podIP != null) | .metadata.name' | sort; }
t_check "both helloworld-v1 replicas answer (pods on node1 and node2)" \
	[ "$(instances helloworld-v1.example.com 20)" = "$(pods_of v1)" ]
acurl "/api/v1/namespaces/default/pods?labelSelector=app%3Dhelloworld" |
	jq -r '.items[] | "#   \(.metadata.name) \(.status.podIP) \(.spec.nodeName)"'
lb_is() { ajq "$INGS/$1" "[.status.loadBalancer.ingress[]?.ip] == $2"; }
t_check "status.loadBalancer.ingress = node1's address" wait_for 10 lb_is helloworld "[\"$NODE_IP\"]"
gout=$(gctl get ingress -o wide)
echo "$gout" | sed 's/^/#   /'
get_ok() { grep '^helloworld ' <<<"$gout" | grep 'helloworld-v1.example.com' | grep -q "$NODE_IP"; }
t_check "gannetctl get ingress: hosts and address" get_ok
gout=$(gctl describe ingress helloworld)
echo "$gout" | sed -n '/^Address/,/^Spec/p' | sed 's/^/#   /'
desc_ok() { grep -q 'helloworld-v2.example.com' <<<"$gout" && grep -q 'helloworld-v2:80' <<<"$gout" && grep -q "$NODE_IP" <<<"$gout"; }
t_check "gannetctl describe ingress: host, path -> backend service:port, address" desc_ok

# ---------------------------------------------------------------- classes
t_check "gannetctl get ingressclass (served by the API server, none yet)" gctl get ingressclass
if command -v kubectl >/dev/null; then
	t_check "kubectl get ingressclass" kubectl --kubeconfig "$KUBECONFIG" get ingressclass
fi
gctl apply -f - >/dev/null <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: noclass}
spec:
  rules:
  - host: noclass.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: helloworld-v1, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: otherclass}
spec:
  ingressClassName: other
  rules:
  - host: other.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: helloworld-v1, port: {number: 80}}}}]}
EOF
sleep 1
t_check "Ingress without a class, no default class -> not served (404)" code_is noclass.example.com / 404
t_check "apply IngressClass gannet (controller gannet.io/ingress-nginx, is-default-class)" \
	gctl apply -f - <<EOF
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: gannet
  annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
spec: {controller: gannet.io/ingress-nginx}
EOF
gout=$(gctl get ingressclass)
echo "$gout" | sed 's/^/#   /'
t_check "gannetctl get ingressclass lists gannet" grep -q '^gannet ' <<<"$gout"
t_check "Ingress without a class now served through the default IngressClass" \
	wait_for 10 answers noclass.example.com / v1
t_check "Ingress of class 'other' never served (404)" code_is other.example.com / 404
t_check "... and its status untouched" ajq "$INGS/otherclass" '(.status.loadBalancer.ingress // []) == []'

# ---------------------------------------------------------------- paths, default backend
gctl apply -f - >/dev/null <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: paths}
spec:
  ingressClassName: gannet
  defaultBackend: {service: {name: helloworld-v2, port: {number: 80}}}
  rules:
  - host: paths.example.com
    http:
      paths:
      - {path: /hello, pathType: Prefix, backend: {service: {name: helloworld-v1, port: {name: http}}}}
EOF
t_check "paths.example.com/hello (Prefix, port by name) -> helloworld-v1" wait_for 10 answers paths.example.com /hello v1
t_check "paths.example.com/ (no rule) -> its defaultBackend helloworld-v2" answers paths.example.com / v2
t_check "unknown host -> the defaultBackend" answers nosuch.example.com / v2
t_check "helloworld-v1.example.com unaffected" answers helloworld-v1.example.com / v1

# ---------------------------------------------------------------- TLS
TLS=$CL_DIR/tls
t_check "make-tls-secret.sh" "$EX/make-tls-secret.sh" "$TLS"
t_check "gannetctl apply the TLS Secret and examples/ingress/tls/" \
	gctl apply -f "$TLS/helloworld-tls-secret.yaml" -f "$EX/tls/"
# a second certificate for paths.example.com: SNI must pick per host
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=paths.example.com \
	-addext subjectAltName=DNS:paths.example.com -keyout "$TLS/paths.key" -out "$TLS/paths.crt" 2>/dev/null
jq -n --arg c "$(base64 -w0 <"$TLS/paths.crt")" --arg k "$(base64 -w0 <"$TLS/paths.key")" \
	'{apiVersion:"v1",kind:"Secret",metadata:{name:"paths-tls"},type:"kubernetes.io/tls",data:{"tls.crt":$c,"tls.key":$k}}' |
	gctl apply -f - >/dev/null
acurl "$INGS/paths" | jq '.spec.tls = [{hosts: ["paths.example.com"], secretName: "paths-tls"}] | del(.status)' |
	acurl -X PUT -H 'Content-Type: application/json' -d @- "$INGS/paths" >/dev/null
# sget HOST PATH CA: HTTPS with SNI HOST, trusting only CA
sget() { in_client ext curl -sS --max-time 5 --cacert "$3" --resolve "$1:443:$NODE_IP" "https://$1$2"; }
sanswers() { sget "$1" / "$3" | grep -q "^Hello version: $2, instance: helloworld-$2-"; }
t_check "https://helloworld-v1.example.com (SNI, verified with the Secret's cert) -> v1" \
	wait_for 10 sanswers helloworld-v1.example.com v1 "$TLS/helloworld.crt"
t_check "https://helloworld-v2.example.com -> v2" sanswers helloworld-v2.example.com v2 "$TLS/helloworld.crt"
paths_tls() { sget paths.example.com /hello "$TLS/paths.crt" | grep -q '^Hello version: v1'; }
t_check "https://paths.example.com/hello verified with its own certificate -> v1" wait_for 10 paths_tls
# peer_fp SNI: sha256 fingerprint of the certificate the ingress presents
peer_fp() {
	in_client ext openssl s_client -connect "$NODE_IP:443" -servername "$1" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null
}
fp_hw=$(openssl x509 -in "$TLS/helloworld.crt" -noout -fingerprint -sha256)
fp_paths=$(openssl x509 -in "$TLS/paths.crt" -noout -fingerprint -sha256)
t_check "SNI helloworld-v2.example.com presents the helloworld-tls certificate" [ "$(peer_fp helloworld-v2.example.com)" = "$fp_hw" ]
t_check "SNI paths.example.com presents the paths-tls certificate" [ "$(peer_fp paths.example.com)" = "$fp_paths" ]
t_check "unknown SNI name: handshake refused (no other host's certificate)" [ -z "$(peer_fp nosuch.example.com)" ]
loc=$(in_client ext curl -s -o /dev/null --max-time 5 -w '%{http_code} %{redirect_url}' -H 'Host: helloworld-v1.example.com' "http://$NODE_IP/x?y=1")
t_check "plain HTTP to a TLS host -> 308 https:// ($loc)" [ "$loc" = "308 https://helloworld-v1.example.com/x?y=1" ]

# ---------------------------------------------------------------- scaling
hv1() { sget helloworld-v1.example.com / "$TLS/helloworld.crt"; }
instances_tls() { for ((k = 0; k < $1; k++)); do hv1; done | sed -n 's/.*instance: //p' | sort -u; }
t_check "gannetctl scale deployment/helloworld-v1 --replicas 4" gctl scale deployment/helloworld-v1 --replicas 4
t_check "4 ready Endpoints" wait_for 60 ep_n helloworld-v1 4
four() { [ "$(instances_tls 40)" = "$(pods_of v1)" ] && [ "$(pods_of v1 | wc -l)" = 4 ]; }
t_check "all 4 replicas answer through the ingress" wait_for 10 four
t_check "scale back to 2" gctl scale deployment/helloworld-v1 --replicas 2
two() { ep_n helloworld-v1 2 && [ "$(instances_tls 20)" = "$(pods_of v1)" ] && [ "$(pods_of v1 | wc -l)" = 2 ]; }
t_check "only the 2 remaining replicas answer" wait_for 30 two

# ---------------------------------------------------------------- rolling update
# The client sends requests back to back (one connection each, through
# TLS) until the stop file appears; every status code is recorded.
STOP=$CL_DIR/loop.stop
nsenter --net="/run/netns/$(client_ns ext)" -- bash -c "while [ -d '$CL_DIR' ] && [ ! -e '$STOP' ]; do curl -s -o /dev/null --max-time 5 -w '%{http_code}\n' \
	--cacert '$TLS/helloworld.crt' --resolve helloworld-v1.example.com:443:$NODE_IP https://helloworld-v1.example.com/; done" \
	>"$CL_DIR/loop.out" 2>&1 &
LOOP=$!
CL_BG_PIDS+=($LOOP)
before=$(pods_of v1)
elog=$ING_DIR/state/logs/error.log
elines=$(wc -l <"$elog")
sleep 1
t_check "gannetctl rollout restart deployment/helloworld-v1 under load" gctl rollout restart deployment/helloworld-v1
t_check "rollout status completes" gctl rollout status deployment/helloworld-v1 --timeout 90s
old_gone() { [ -z "$(comm -12 <(echo "$before") <(acurl "/api/v1/namespaces/default/pods?labelSelector=version%3Dv1" | jq -r '.items[].metadata.name' | sort))" ]; }
t_check "old pods terminated and deleted" wait_for 60 old_gone
sleep 1
touch "$STOP"
wait "$LOOP"
total=$(grep -c . "$CL_DIR/loop.out")
bad=$(grep -vc '^200$' "$CL_DIR/loop.out")
grep -v '^200$' "$CL_DIR/loop.out" | sort | uniq -c | sed 's/^/#   non-200: /'
echo "# rolling update: $total requests, $bad not 200"
# what nginx met and retried meanwhile (upstream errors in its log)
tail -n +"$((elines + 1))" "$elog" | grep -o '[a-z()]* failed ([0-9]*: [^)]*)\|timed out ([0-9]*: [^)]*)' |
	sort | uniq -c | sed 's/^/#   nginx upstream errors: /'
if [ "$bad" != 0 ]; then
	tail -n +"$((elines + 1))" "$elog" | grep 'upstream' | cut -c1-260 | sed 's/^/#   /'
fi
t_check "continuous requests during the rollout: $total sent (>= 30)" [ "$total" -ge 30 ]
t_check "no request lost during the rolling update ($bad non-200 of $total)" [ "$bad" = 0 ]
new_only() { [ -z "$(comm -12 <(echo "$before") <(instances_tls 20))" ] && [ -n "$(instances_tls 4)" ]; }
t_check "only the new pods answer afterwards" new_only

# ---------------------------------------------------------------- retries
# What covers a pod that dies before nginx reloads: proxy_next_upstream.
# A selector-less Service whose Endpoints list a live pod, the same pod on
# a closed port (connection refused) and an unused address of node1's pod
# CIDR (network unreachable): every request still gets the live pod.
live=$(acurl "/api/v1/namespaces/default/pods?labelSelector=version%3Dv2" | jq -r '[.items[] | select(.status.podIP != null and .metadata.deletionTimestamp == null)][0].status.podIP')
cidr1=$(acurl /api/v1/nodes/node1 | jq -r .spec.podCIDR)
unused=${cidr1%.*}.250
gctl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: retry}
spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: retry}
subsets:
- {addresses: [{ip: $live}], ports: [{name: http, port: 8080}]}
- {addresses: [{ip: $live}], ports: [{name: http, port: 8081}]}
- {addresses: [{ip: $unused}], ports: [{name: http, port: 8080}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: retry}
spec:
  ingressClassName: gannet
  rules:
  - host: retry.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: retry, port: {number: 80}}}}]}
EOF
t_check "retry.example.com served" wait_for 10 answers retry.example.com / v2
# all_live N: N requests, every one answered by the live pod
all_live() { local k; for ((k = 0; k < $1; k++)); do answers retry.example.com / v2 || return 1; done; }
t_check "upstreams $live:8081 (refused) and $unused:8080 (unreachable) next to a live one: 30 of 30 answered" all_live 30
t_check "nginx met the refused upstream and retried (error.log)" grep -q "Connection refused.*upstream: \"http://$live:8081" "$elog"
t_check "nginx met the unreachable upstream and retried (error.log)" grep -q "upstream: \"http://$unused:8080" "$elog"

# ---------------------------------------------------------------- bad input
gctl apply -f - >/dev/null <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: invalid}
spec:
  ingressClassName: gannet
  rules:
  - host: invalid.example.com
    http:
      paths:
      - {path: '/x;return 200 pwned;', pathType: Prefix, backend: {service: {name: helloworld-v1, port: {number: 80}}}}
      - {path: /hello, pathType: Prefix, backend: {service: {name: helloworld-v2, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: nosvc}
spec:
  ingressClassName: gannet
  rules:
  - host: nosvc.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: helloworld-v2, port: {number: 80}}}}
      - {path: /missing, pathType: Prefix, backend: {service: {name: nosuch, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: nosecret}
spec:
  ingressClassName: gannet
  tls: [{hosts: [nosecret.example.com], secretName: nosuch-tls}]
  rules:
  - host: nosecret.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: helloworld-v2, port: {number: 80}}}}]}
EOF
ann() { acurl "$INGS/$1" | jq -r '.metadata.annotations["ingress.gannet.io/errors"] // ""'; }
has_err() { ann "$1" | grep -q "$2"; }
t_check "invalid Ingress: its valid path served" wait_for 10 answers invalid.example.com /hello v2
t_check "invalid Ingress: the invalid path is refused, not injected (404)" code_is invalid.example.com '/x;return' 404
t_check "invalid Ingress: error annotation names the path" wait_for 10 has_err invalid 'path'
t_check "missing Service: 503 for that route" code_is nosvc.example.com /missing/x 503
t_check "missing Service: the Ingress's other route serves" answers nosvc.example.com / v2
t_check "missing Service: error annotation" wait_for 10 has_err nosvc 'service default/nosuch not found'
t_check "missing TLS Secret: 503 for its host (no plain-HTTP downgrade)" code_is nosecret.example.com / 503
t_check "missing TLS Secret: error annotation" wait_for 10 has_err nosecret 'secret default/nosuch-tls'
events() { acurl /api/v1/namespaces/default/events | jq -r '.items[] | select(.reason == "InvalidIngress") | .involvedObject.name' | sort -u | tr '\n' ' '; }
events_ok() { [ "$(events)" = 'invalid nosecret nosvc ' ]; }
t_check "Warning Events InvalidIngress for the three" wait_for 10 events_ok
gout=$(gctl describe ingress nosvc)
t_check "gannetctl describe ingress nosvc shows the error" grep -q 'service default/nosuch not found' <<<"$gout"
hv1_ok() { hv1 | grep -q '^Hello version: v1'; }
t_check "the others keep working: helloworld-v1 over TLS" hv1_ok
t_check "the others keep working: paths.example.com/hello over TLS" paths_tls
# the Service created: the error goes, the route serves
gctl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: nosuch}
spec: {selector: {app: helloworld, version: v1}, ports: [{port: 80, targetPort: http}]}
EOF
# (busybox httpd has no /missing: its own 404 page, not nginx's 503 or 404)
from_backend() { get nosvc.example.com /missing | grep -q 'The requested URL was not found'; }
t_check "Service created -> /missing reaches its pods" wait_for 20 from_backend
no_err() { [ -z "$(ann nosvc)" ]; }
t_check "... and the error annotation is removed" wait_for 10 no_err

# ---------------------------------------------------------------- shutdown
kill -TERM "$CPID"
rc=0
wait "$CPID" || rc=$?
t_check "controller SIGTERM -> exit 0" [ "$rc" = 0 ]
t_check "its address withdrawn from status.loadBalancer" lb_is helloworld '[]'
nginx_gone() { ! in_client ext curl -s --max-time 2 "http://$NODE_IP/" >/dev/null 2>&1; }
t_check "nginx stopped (nothing answers on $NODE_IP:80)" nginx_gone
if [ "$T_FAIL" != 0 ]; then
	echo "# controller log (tail):"
	tail -n 30 "$ING_DIR/ctrl.log" | sed 's/^/#   /'
fi
echo "# suite time: $((SECONDS - T0)) s"
t_done
