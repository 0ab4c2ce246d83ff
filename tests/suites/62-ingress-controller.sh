#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Ingress controller end to end (root): a live gannet-apiserver on
# 127.0.0.1, gannet-ingress-controller with nginx in a throwaway ingress-node
# namespace on a bridge "fabric", pods (nginx identifying themselves) in
# their own namespaces and an external client namespace. Services have no
# selector and hand-written Endpoints (no Endpoints controller needed).
# Checks: Host/path routing from the client, HTTPS SNI certificates, a
# second ingress node (status lists both, withdrawn on its stop),
# status.loadBalancer, Endpoints add/remove changing the upstreams with no
# failed request under a continuous loop, apply-to-effect time, an invalid
# Ingress (missing Service, missing Secret) reported in annotations + an
# Event and answering 503 for its routes only, gannetctl get/describe,
# 410 + re-list after an API server restart, graceful stop withdrawing the address.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
CTRL=$PWD/$BUILD/bin/gannet-ingress-controller
CTL=$PWD/$BUILD/bin/gannetctl

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
for c in nginx openssl curl jq nsenter; do
	command -v $c >/dev/null || skip "$c not installed (scripts/deps.sh)"
done
for b in "$CTRL" "$CTL" "$PWD/$BUILD/bin/gannet-apiserver"; do
	[ -x "$b" ] || { echo "missing $b (run make)"; exit 1; }
done

. tests/lib/apiserver.sh
. tests/lib/ingressnet.sh
T=$INGNET_DIR
CPID=
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
cleanup() {
	set +e
	[ -n "$CPID" ] && kill -KILL "$CPID" 2>/dev/null
	[ -n "${CPID2:-}" ] && kill -KILL "$CPID2" 2>/dev/null
	[ -s "$T/ing2/nginx.pid" ] && kill -QUIT "$(cat "$T/ing2/nginx.pid")" 2>/dev/null
	[ -s "$T/ing/nginx.pid" ] && kill -QUIT "$(cat "$T/ing/nginx.pid")" 2>/dev/null
	ingnet_cleanup
	apiserver_cleanup
}
APISERVER_NO_TRAP=1
trap cleanup EXIT
trap "exit 130" INT TERM HUP

apiserver_start --watch-cache-size 40 || exit 1
ingnet_setup || { echo "namespace setup failed"; exit 1; }
for p in "p1 11" "p2 12" "p3 13"; do
	# shellcheck disable=SC2086
	ingnet_pod $p || { echo "pod $p failed"; exit 1; }
done
NODE_IP=$INGNET_PFX.2
kapply() { "$CTL" --kubeconfig "$KUBECONFIG" apply -f - >/dev/null; }
# cget HOST PATH [curl args] -> body (from the external client namespace)
cget() { inx "$INGNET_CLIENT" curl -s -m 3 -H "Host: $1" "${@:3}" "http://$NODE_IP$2"; }
ccode() { inx "$INGNET_CLIENT" curl -s -o /dev/null -w '%{http_code}' -m 3 -H "Host: $1" "${@:3}" "http://$NODE_IP$2"; }
# wait_for CMD...: up to 10 s for CMD to succeed. wait_until 'SHELL TEXT':
# the same, re-evaluating the text each time.
wait_for() {
	local i
	for i in $(seq 1 200); do "$@" && return 0; sleep 0.05; done
	return 1
}
wait_until() { wait_for eval "$1"; }
body_is() { [ "$(cget "$1" "$2")" = "$3" ]; }
ep() { # NAME IP... (web2's Service port is named "http": so is its Endpoints port)
	local n=$1 addrs="" ip pn=""; shift
	[ "$n" = web2 ] && pn='"name":"http",'
	for ip in "$@"; do addrs="$addrs{\"ip\": \"$ip\"},"; done
	printf '{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"%s","namespace":"default"},"subsets":[{"addresses":[%s],"ports":[{%s"port":8080}]}]}\n' \
		"$n" "${addrs%,}" "$pn" | kapply
}

# --- TLS material: a self-signed certificate per host ---
mkcert() { # host
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" \
		-addext "subjectAltName=DNS:$1" -keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null
}
mkcert secure.example.com && mkcert other.example.com || { echo "openssl failed"; exit 1; }
b64() { base64 -w0 <"$1"; }

# (No IngressClass object: spec.ingressClassName equal to our class name is
# enough; IngressClass objects and the default class are exercised by
# suite 72.)
kapply <<EOF
apiVersion: v1
kind: Service
metadata: {name: web1, namespace: default}
spec: {ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web2, namespace: default}
spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Secret
metadata: {name: secure-tls, namespace: default}
type: kubernetes.io/tls
data: {tls.crt: $(b64 "$T/secure.example.com.crt"), tls.key: $(b64 "$T/secure.example.com.key")}
---
apiVersion: v1
kind: Secret
metadata: {name: other-tls, namespace: default}
type: kubernetes.io/tls
data: {tls.crt: $(b64 "$T/other.example.com.crt"), tls.key: $(b64 "$T/other.example.com.key")}
EOF
[ $? = 0 ] || { echo "apply of base objects failed"; exit 1; }
ep web1 "$INGNET_PFX.11"
ep web2 "$INGNET_PFX.12"

# --- controller --- (-v: the shared informers log their 410 re-lists at
# debug level; the restart check below looks for them)
"$CTRL" -v --kubeconfig "$KUBECONFIG" --node ing1 --listen-addr "$NODE_IP" \
	--state-dir "$T/ing" --netns "/run/netns/$INGNET_NODE" >"$T/ctrl.log" 2>&1 &
CPID=$!

kapply <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: hello, namespace: default}
spec:
  ingressClassName: gannet
  rules:
  - host: v1.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web1, port: {number: 80}}}}
      - {path: /api, pathType: Prefix, backend: {service: {name: web2, port: {name: http}}}}
  - host: v2.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web2, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: secure, namespace: default}
spec:
  ingressClassName: gannet
  tls: [{hosts: [secure.example.com], secretName: secure-tls}, {hosts: [other.example.com], secretName: other-tls}]
  rules:
  - host: secure.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web1, port: {number: 80}}}}]}
  - host: other.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web2, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: foreign, namespace: default}
spec:
  ingressClassName: someone-else
  rules:
  - host: foreign.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web1, port: {number: 80}}}}]}
EOF

# --- routing ---
if wait_for body_is v1.example.com / p1; then ok "v1.example.com / -> p1"; else
	bad "v1.example.com / -> '$(cget v1.example.com /)'"; tail -n 20 "$T/ctrl.log"; fi
[ "$(cget v1.example.com /api/x)" = p2 ] && ok "v1.example.com /api/x -> p2 (path, named port)" ||
	bad "v1.example.com /api/x -> '$(cget v1.example.com /api/x)'"
[ "$(cget v1.example.com /apix)" = p1 ] && ok "v1.example.com /apix -> p1 (element-wise prefix)" ||
	bad "/apix -> '$(cget v1.example.com /apix)'"
[ "$(cget v2.example.com /)" = p2 ] && ok "v2.example.com -> p2" || bad "v2 -> '$(cget v2.example.com /)'"
c=$(ccode nowhere.example.com /)
[ "$c" = 404 ] && ok "unknown host -> 404" || bad "unknown host -> $c"
c=$(ccode foreign.example.com /)
[ "$c" = 404 ] && ok "Ingress of another class ignored (404)" || bad "foreign class -> $c"
seen=$(inx "$INGNET_CLIENT" curl -s -m 3 -D - -o /dev/null -H "Host: v1.example.com" "http://$NODE_IP/q?a=1" |
	tr -d '\r' | awk -F': ' '/^X-Seen-/ { printf "%s=%s ", $1, $2 }')
[ "$seen" = "X-Seen-Host=v1.example.com X-Seen-Uri=/q?a=1 " ] && ok "Host and URI passed to the pod" ||
	bad "pod saw: $seen"

# --- HTTPS / SNI ---
sget() { inx "$INGNET_CLIENT" curl -s -m 3 --cacert "$T/$1.crt" --resolve "$1:443:$NODE_IP" "https://$1/"; }
if wait_until '[ "$(sget secure.example.com)" = p1 ]'; then ok "HTTPS secure.example.com -> p1 (verified with its own CA)"; else
	bad "HTTPS secure -> '$(sget secure.example.com)'"; fi
[ "$(sget other.example.com)" = p2 ] && ok "HTTPS other.example.com -> p2 (its own certificate by SNI)" ||
	bad "HTTPS other -> '$(sget other.example.com)'"
cn=$(inx "$INGNET_CLIENT" openssl s_client -connect "$NODE_IP:443" -servername other.example.com </dev/null 2>/dev/null |
	openssl x509 -noout -subject 2>/dev/null)
case "$cn" in *other.example.com*) ok "s_client SNI other.example.com presents $cn";; *) bad "SNI cert: '$cn'";; esac
c=$(ccode secure.example.com /)
[ "$c" = 308 ] && ok "HTTP on a TLS host -> 308" || bad "HTTP on TLS host -> $c"

# --- status.loadBalancer ---
lbip() { acurl "/apis/networking.k8s.io/v1/namespaces/default/ingresses/$1" | jq -r '[.status.loadBalancer.ingress[]?.ip] | join(",")'; }
if wait_until '[ "$(lbip hello)" = "$NODE_IP" ]'; then ok "status.loadBalancer.ingress = $NODE_IP"; else
	bad "hello status: '$(lbip hello)'"; fi
[ "$(lbip foreign)" = "" ] && ok "foreign Ingress status untouched" || bad "foreign status: $(lbip foreign)"

# --- a second ingress node: both addresses in the status, both serve ---
ingnet_node2 || bad "second node namespace"
"$CTRL" --kubeconfig "$KUBECONFIG" --node ing2 --listen-addr "$INGNET_PFX.3" \
	--state-dir "$T/ing2" --netns "/run/netns/$INGNET_NODE2" >"$T/ctrl2.log" 2>&1 &
CPID2=$!
if wait_until '[ "$(lbip hello)" = "$NODE_IP,$INGNET_PFX.3" ]' &&
   [ "$(inx "$INGNET_CLIENT" curl -s -m 3 -H "Host: v2.example.com" "http://$INGNET_PFX.3/")" = p2 ]; then
	ok "second ingress node: status lists both addresses, node 2 serves too"
else
	bad "two nodes: status '$(lbip hello)'"; tail -n 5 "$T/ctrl2.log"
fi
kill -TERM "$CPID2"; wait "$CPID2"; CPID2=
if wait_until '[ "$(lbip hello)" = "$NODE_IP" ]'; then ok "node 2 stopped: its address withdrawn, node 1's kept"; else
	bad "after node 2 stop: '$(lbip hello)'"; fi

# --- Endpoints changes under a continuous request loop ---
inx "$INGNET_CLIENT" bash -c 'end=$((SECONDS + 60)); while [ $SECONDS -lt $end ] && [ ! -e '"$T"'/stoploop ]; do
	curl -s -m 3 -o /dev/null -w "%{http_code}\n" -H "Host: v1.example.com" http://'"$NODE_IP"'/; done' >"$T/loop.codes" &
LOOP=$!
sleep 0.3
t0=$(date +%s%N)
ep web1 "$INGNET_PFX.11" "$INGNET_PFX.13"
both() { local i s=""; for i in 1 2 3 4 5 6 7 8; do s="$s $(cget v1.example.com /)"; done
	case "$s" in *p1*p3*|*p3*p1*) return 0;; esac; return 1; }
if wait_for both; then ok "endpoint p3 added: both p1 and p3 answer ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"; else bad "p3 never seen"; fi
ep web1 "$INGNET_PFX.13"
only3() { local i; for i in 1 2 3 4 5 6; do [ "$(cget v1.example.com /)" = p3 ] || return 1; done; }
if wait_for only3; then ok "endpoint p1 removed: only p3 answers"; else bad "p1 still answering"; fi
# apply-to-effect times over a few flips (the benchmark does 50)
lat=()
for i in 1 2 3 4 5 6; do
	if [ $((i % 2)) = 1 ]; then want=p2; ip=12; else want=p3; ip=13; fi
	t0=$(date +%s%N)
	ep web1 "$INGNET_PFX.$ip"
	wait_for body_is v1.example.com / $want || { bad "flip $i to $want not effective"; break; }
	lat+=($(( ($(date +%s%N) - t0) / 1000000 )))
done
maxl=$(printf '%s\n' "${lat[@]}" | sort -n | tail -1)
[ "${maxl:-9999}" -lt 1000 ] && ok "Endpoints change effective in ${lat[*]} ms (max $maxl < 1000)" ||
	bad "Endpoints change effective times: ${lat[*]} ms"
touch "$T/stoploop"
wait $LOOP
n=$(wc -l <"$T/loop.codes")
nok=$(grep -c '^200$' "$T/loop.codes")
[ "$n" -gt 20 ] && [ "$n" = "$nok" ] && ok "continuous loop: $nok/$n requests 200 during 8 endpoint changes" ||
	bad "continuous loop: $nok/$n 200s: $(sort "$T/loop.codes" | uniq -c | tr '\n' ' ')"

# --- invalid Ingress: reported, 503 for its routes only ---
kapply <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: broken, namespace: default}
spec:
  ingressClassName: gannet
  tls: [{hosts: [badtls.example.com], secretName: nosuch-tls}]
  rules:
  - host: bad.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: nosuch, port: {number: 80}}}}]}
  - host: badtls.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web2, port: {number: 80}}}}]}
EOF
ann() { acurl "/apis/networking.k8s.io/v1/namespaces/default/ingresses/$1" | jq -r ".metadata.annotations[\"ingress.gannet.io/$2\"] // \"\""; }
has_err() { case "$(ann broken errors)" in *nosuch*) return 0;; esac; return 1; }
if wait_for has_err; then ok "errors annotation: $(ann broken errors | tr '\n' '|')"; else bad "no errors annotation: $(ann broken errors)"; fi
case "$(ann broken errors)" in *nosuch-tls*) ok "missing Secret reported";; *) bad "missing Secret not reported";; esac
c=$(ccode bad.example.com /)
[ "$c" = 503 ] && ok "route with missing Service -> 503" || bad "bad route -> $c"
c=$(inx "$INGNET_CLIENT" curl -sk -o /dev/null -w '%{http_code}' -m 3 --resolve "badtls.example.com:443:$NODE_IP" https://badtls.example.com/)
[ "$c" != 200 ] && ok "host with missing TLS Secret not served in clear or with a wrong cert ($c)" || bad "badtls served 200"
[ "$(cget v2.example.com /)" = p2 ] && [ "$(sget secure.example.com)" = p3 ] &&
	ok "other Ingresses keep working" || bad "others broken by the invalid Ingress: v2=$(cget v2.example.com /) secure=$(sget secure.example.com)"
[ "$(ann hello errors)" = "" ] && ok "valid Ingress has no errors annotation" || bad "hello errors: $(ann hello errors)"
evs=$(acurl "/api/v1/namespaces/default/events" | jq -r '[.items[] | select(.involvedObject.kind == "Ingress" and .involvedObject.name == "broken" and .reason == "InvalidIngress" and .type == "Warning")] | length')
[ "${evs:-0}" -ge 1 ] && ok "Warning Event InvalidIngress for default/broken ($evs)" || bad "no Event ($evs)"
# Fixing it clears the annotation.
printf '{"apiVersion":"v1","kind":"Service","metadata":{"name":"nosuch","namespace":"default"},"spec":{"ports":[{"port":80,"targetPort":8080}]}}\n' | kapply
ep nosuch "$INGNET_PFX.12"
only_tls_err() { case "$(ann broken errors)" in *"service default/nosuch"*) return 1;; *nosuch-tls*) return 0;; esac; return 1; }
if wait_for only_tls_err && wait_for body_is bad.example.com / p2; then ok "Service created: route works, its error gone"; else
	bad "after fix: $(ann broken errors) / $(cget bad.example.com /)"; fi

# --- API server restart while the controller is frozen: the broken watches
# (or a 410 for a resourceVersion out of the new watch cache) lead to a
# re-list, and changes made meanwhile take effect ---
kill -STOP "$CPID"
apiserver_stop
apiserver_restart --watch-cache-size 40 || { bad "apiserver restart"; }
for i in $(seq 1 50); do ep churn "$INGNET_PFX.$((20 + i % 5))"; done
ep web1 "$INGNET_PFX.11"
kill -CONT "$CPID"
# The frozen watches resume from a revision older than the restarted
# server's (40-event) watch cache: 410 Expired, then a re-list.
if wait_for body_is v1.example.com / p1 && grep -q "expired, re-listing" "$T/ctrl.log"; then
	ok "API server restart: watches re-listed, change made meanwhile applied ($(grep -c "expired, re-listing" "$T/ctrl.log") of them after a 410)"
else
	bad "after restart: $(cget v1.example.com /); $(grep -c re-listing "$T/ctrl.log") re-lists"
fi

# --- gannetctl ---
out=$("$CTL" --kubeconfig "$KUBECONFIG" get ingress 2>&1)
echo "$out" | grep -E '^hello +gannet +v1.example.com,v2.example.com +'"$NODE_IP"' +80 ' >/dev/null &&
	ok "gannetctl get ingress: hosts, address, ports" || { bad "gannetctl get ingress:"; echo "$out"; }
out=$("$CTL" --kubeconfig "$KUBECONFIG" describe ingress hello 2>&1)
echo "$out" | grep -E 'v1.example.com +/api +web2:http' >/dev/null &&
	echo "$out" | grep -E '^Address: +'"$NODE_IP" >/dev/null &&
	ok "gannetctl describe ingress: rules host/path -> backend, address" ||
	{ bad "gannetctl describe ingress:"; echo "$out"; }

# --- deletion removes the routes ---
"$CTL" --kubeconfig "$KUBECONFIG" delete ingress hello >/dev/null
if wait_until '[ "$(ccode v2.example.com /)" = 404 ]'; then ok "deleted Ingress: v2.example.com -> 404"; else bad "after delete: $(ccode v2.example.com /)"; fi

# --- the repo example (examples/ingress), pods standing in for its Deployments ---
"$CTL" --kubeconfig "$KUBECONFIG" apply -f examples/ingress/ >/dev/null || bad "apply examples/ingress"
for v in "v1 11" "v2 12"; do
	set -- $v
	printf '{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"helloworld-%s","namespace":"default"},"subsets":[{"addresses":[{"ip":"%s"}],"ports":[{"name":"http","port":8080}]}]}\n' \
		"$1" "$INGNET_PFX.$2" | kapply
done
if wait_until 'body_is helloworld-v1.example.com / p1 && body_is helloworld-v2.example.com / p2'; then
	ok "examples/ingress: helloworld-v1/v2 hosts routed"; else
	bad "examples/ingress: v1=$(cget helloworld-v1.example.com /) v2=$(cget helloworld-v2.example.com /)"; fi
examples/ingress/make-tls-secret.sh "$T/hw" >/dev/null &&
	"$CTL" --kubeconfig "$KUBECONFIG" apply -f "$T/hw/helloworld-tls-secret.yaml" -f examples/ingress/tls/ >/dev/null ||
	bad "TLS example apply"
hw() { inx "$INGNET_CLIENT" curl -s -m 3 --cacert "$T/hw/helloworld.crt" --resolve "$1:443:$NODE_IP" "https://$1/"; }
# all three inside the wait: while nginx reloads gracefully, a request can
# still land on an old worker (old configuration) right after one landed on
# a new one
if wait_until '[ "$(hw helloworld-v2.example.com)" = p2 ] && [ "$(hw helloworld-v1.example.com)" = p1 ] &&
   [ "$(ccode helloworld-v1.example.com /)" = 308 ]'; then
	ok "examples/ingress TLS variant: HTTPS with the make-tls-secret.sh certificate, HTTP -> 308"
else
	bad "TLS example: v1=$(hw helloworld-v1.example.com) v2=$(hw helloworld-v2.example.com)"
fi

# --- graceful stop: address withdrawn, nginx gone ---
NGPID=$(cat "$T/ing/nginx.pid" 2>/dev/null)
kill -TERM "$CPID"
rc=0
for i in $(seq 1 200); do kill -0 "$CPID" 2>/dev/null || break; sleep 0.05; done
wait "$CPID"; rc=$?
CPID=
[ "$rc" = 0 ] && ok "controller exits 0 on SIGTERM" || bad "controller exit $rc"
[ "$(lbip secure)" = "" ] && ok "address withdrawn from status on stop" || bad "status after stop: $(lbip secure)"
# (a zombie counts as gone: reaping daemonised nginx is init's business)
st=$(ps -o stat= -p "$NGPID" 2>/dev/null)
[ -n "$NGPID" ] && case "$st" in ""|Z*) true;; *) false;; esac && ok "nginx stopped" ||
	bad "nginx $NGPID still running ($st)"

# With BUILD=build-san the controller is the ASan+UBSan build: any report
# in its log is a failure.
if cat "$T"/ctrl*.log | grep -qE "runtime error|AddressSanitizer|LeakSanitizer"; then
	bad "sanitizer report in the controller log"
else
	ok "no sanitizer report in the controller log"
fi

if [ $fails -gt 0 ]; then
	echo "--- controller log"; tail -n 40 "$T/ctrl.log"
	echo "$fails check(s) failed"; exit 1
fi
echo "all ingress controller checks passed"
