#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Services on the control-plane side, against a live gannet-apiserver with
# its in-process controllers: ClusterIP allocation (range, uniqueness over
# 50 Services, requested IPs, conflicts, release on delete, survival across
# a restart), NodePort allocation and its errors, Service validation (port
# clash, bad selector, sessionAffinity, externalTrafficPolicy), headless and
# the `kubernetes` Service, and the Endpoints controller following pods'
# readiness (a fake kubelet writes pod status), named targetPorts resolved
# per pod, terminating pods, selector-less Services and Service deletion.
# Everything listens on 127.0.0.1; no network namespaces are needed.
set -u
cd "$(dirname "$0")/../.."
export GANNET_ROOT=$PWD
: "${BUILD:=build}"
export BUILD
command -v jq >/dev/null || { echo "jq missing"; exit 77; }
. tests/lib/apiserver.sh

fails=0
ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails+1)); }
expect() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: want '$2' got '$3'"; fi; }
contains() { if [[ "$3" == *"$2"* ]]; then ok "$1"; else fail "$1: '$2' not in: ${3:0:400}"; fi; }

export APISERVER_CONTROLLERS=1
apiserver_start --controllers endpoints || exit 1

J='Content-Type: application/json'
S=/api/v1/namespaces/default/services
E=/api/v1/namespaces/default/endpoints
P=/api/v1/namespaces/default/pods

svc() {   # name type [extra spec JSON merged in]
	local extra=${3:-'{}'}
	jq -cn --arg n "$1" --arg t "$2" --argjson x "$extra" \
		'{apiVersion:"v1",kind:"Service",metadata:{name:$n},
		  spec:({type:$t,selector:{app:$n},ports:[{port:80,targetPort:8080}]} + $x)}'
}
post() { acurl -X POST -H "$J" -w '\n%{http_code}' -d "$2" "$1"; }
code() { echo "${1##*$'\n'}"; }
body() { echo "${1%$'\n'*}"; }
# 10.96.0.0/12 = 10.96.0.0 - 10.111.255.255
in_range() { [[ "$1" =~ ^10\.(9[6-9]|10[0-9]|11[01])\.[0-9]+\.[0-9]+$ ]]; }

# ---- the kubernetes Service -------------------------------------------------------------
out=$(acurl $S/kubernetes)
expect "kubernetes Service has 10.96.0.1" 10.96.0.1 "$(jq -r .spec.clusterIP <<<"$out")"
expect "kubernetes Service port 443" 443 "$(jq -r '.spec.ports[0].port' <<<"$out")"
out=$(acurl $E/kubernetes)
expect "kubernetes Endpoints -> the server" "127.0.0.1:$APISERVER_PORT" \
	"$(jq -r '.subsets[0].addresses[0].ip + ":" + (.subsets[0].ports[0].port|tostring)' <<<"$out")"

# ---- ClusterIP allocation --------------------------------------------------------------
ips=()
bad=0
for i in $(seq 1 50); do
	out=$(post $S "$(svc "s$i" ClusterIP)")
	ip=$(body "$out" | jq -r .spec.clusterIP)
	[ "$(code "$out")" = 201 ] && in_range "$ip" || { bad=$((bad+1)); echo "  s$i: $(code "$out") $ip"; }
	[ "$ip" = 10.96.0.1 ] || [ "$ip" = 10.96.0.10 ] && bad=$((bad+1))
	ips+=("$ip")
done
expect "50 Services get a ClusterIP in 10.96.0.0/12 (not .1/.10)" 0 "$bad"
expect "50 ClusterIPs are unique" 50 "$(printf '%s\n' "${ips[@]}" | sort -u | wc -l)"
expect "clusterIPs mirrors clusterIP" "${ips[0]}" "$(acurl $S/s1 | jq -r '.spec.clusterIPs[0]')"

out=$(post $S "$(svc dns ClusterIP '{"clusterIP":"10.96.0.10"}')")
expect "requested 10.96.0.10 honoured" "201 10.96.0.10" "$(code "$out") $(body "$out" | jq -r .spec.clusterIP)"
out=$(post $S "$(svc dup ClusterIP "{\"clusterIP\":\"${ips[3]}\"}")")
expect "requested IP in use -> 422" 422 "$(code "$out")"
contains "conflict message" "spec.clusterIPs: Invalid value: [\\\"${ips[3]}\\\"]: failed to allocate IP ${ips[3]}: provided IP is already allocated" "$out"
out=$(post $S "$(svc outside ClusterIP '{"clusterIP":"192.168.7.7"}')")
expect "requested IP out of range -> 422" 422 "$(code "$out")"
contains "out-of-range message" "The range of valid IPs is 10.96.0.0/12" "$out"
out=$(post $S "$(svc notip ClusterIP '{"clusterIP":"10.96.300.1"}')")
contains "malformed IP -> spec.clusterIPs[0]" "spec.clusterIPs[0]: Invalid value: \\\"10.96.300.1\\\": must be a valid IP address" "$out"

# immutability
out=$(acurl -X PATCH -H 'Content-Type: application/merge-patch+json' -w '\n%{http_code}' \
	-d '{"spec":{"clusterIP":"10.96.5.5"}}' $S/s2)
expect "clusterIP change -> 422" 422 "$(code "$out")"
contains "immutable message" "spec.clusterIP: Invalid value: \\\"10.96.5.5\\\": field is immutable" "$out"
# a PUT without clusterIP keeps it
cur=$(acurl $S/s2 | jq -c 'del(.spec.clusterIP, .spec.clusterIPs)')
out=$(acurl -X PUT -H "$J" -d "$cur" $S/s2)
expect "PUT without clusterIP keeps it" "${ips[1]}" "$(jq -r .spec.clusterIP <<<"$out")"

# release and reuse
expect "delete s4" 200 "$(acurl_code -X DELETE $S/s4)"
out=$(post $S "$(svc reuse ClusterIP "{\"clusterIP\":\"${ips[3]}\"}")")
expect "released IP can be requested again" "201 ${ips[3]}" "$(code "$out") $(body "$out" | jq -r .spec.clusterIP)"

# headless
out=$(post $S "$(svc hl ClusterIP '{"clusterIP":"None"}')")
expect "headless: 201, clusterIP None" "201 None" "$(code "$out") $(body "$out" | jq -r .spec.clusterIP)"
out=$(post $S '{"apiVersion":"v1","kind":"Service","metadata":{"name":"hl2"},"spec":{"clusterIP":"None","selector":{"app":"x"}}}')
expect "headless without ports accepted" 201 "$(code "$out")"
out=$(post $S '{"apiVersion":"v1","kind":"Service","metadata":{"name":"ext"},"spec":{"type":"ExternalName","externalName":"db.example.com"}}')
expect "ExternalName: 201, no clusterIP" "201 null" "$(code "$out") $(body "$out" | jq -r .spec.clusterIP)"

# ---- NodePort ------------------------------------------------------------------------
out=$(post $S "$(svc np1 NodePort)")
np=$(body "$out" | jq -r '.spec.ports[0].nodePort')
if [ "$(code "$out")" = 201 ] && [ "$np" -ge 30000 ] && [ "$np" -le 32767 ]; then
	ok "NodePort allocated in 30000-32767 ($np)"
else
	fail "NodePort allocation: $out"
fi
expect "NodePort default externalTrafficPolicy" Cluster "$(body "$out" | jq -r .spec.externalTrafficPolicy)"
out=$(post $S "$(svc np2 NodePort "{\"ports\":[{\"port\":80,\"nodePort\":$np}]}")")
expect "duplicate nodePort -> 422" 422 "$(code "$out")"
contains "duplicate nodePort message" "spec.ports[0].nodePort: Invalid value: $np: provided port is already allocated" "$out"
out=$(post $S "$(svc np3 NodePort '{"ports":[{"port":80,"nodePort":40000}]}')")
expect "nodePort out of range -> 422" 422 "$(code "$out")"
contains "out-of-range nodePort message" "spec.ports[0].nodePort: Invalid value: 40000: provided port is not in the valid range. The range of valid ports is 30000-32767" "$out"
expect "out-of-range cause has field path" "spec.ports[0].nodePort" \
	"$(body "$out" | jq -r '.details.causes[0].field')"
out=$(post $S "$(svc np4 NodePort '{"ports":[{"port":80,"nodePort":31234}]}')")
expect "requested nodePort honoured" "201 31234" "$(code "$out") $(body "$out" | jq -r '.spec.ports[0].nodePort')"
out=$(post $S "$(svc lb LoadBalancer '{"externalTrafficPolicy":"Local"}')")
expect "LoadBalancer Local: nodePort + healthCheckNodePort" "201 true true" \
	"$(code "$out") $(body "$out" | jq '.spec.ports[0].nodePort > 0') $(body "$out" | jq '.spec.healthCheckNodePort >= 30000')"
out=$(post $S "$(svc cnp ClusterIP '{"ports":[{"port":80,"nodePort":30555}]}')")
contains "nodePort on ClusterIP forbidden" "spec.ports[0].nodePort: Forbidden" "$out"
# release: delete np4, its port is reusable
acurl -X DELETE $S/np4 >/dev/null
out=$(post $S "$(svc np5 NodePort '{"ports":[{"port":80,"nodePort":31234}]}')")
expect "released nodePort reusable" 201 "$(code "$out")"
# NodePort -> ClusterIP drops the ports
out=$(acurl -X PATCH -H 'Content-Type: application/merge-patch+json' -w '\n%{http_code}' \
	-d '{"spec":{"type":"ClusterIP","externalTrafficPolicy":null}}' $S/np5)
expect "NodePort -> ClusterIP drops nodePort" "200 null" "$(code "$out") $(body "$out" | jq -r '.spec.ports[0].nodePort')"
out=$(post $S "$(svc np6 NodePort '{"ports":[{"port":80,"nodePort":31234}]}')")
expect "nodePort freed by the type change" 201 "$(code "$out")"

# ---- validation -----------------------------------------------------------------------
out=$(post $S "$(svc clash ClusterIP '{"ports":[{"name":"a","port":80},{"name":"b","port":80}]}')")
expect "port clash -> 422" 422 "$(code "$out")"
contains "port clash message" "spec.ports[1]: Duplicate value: port 80/TCP: port clash with spec.ports[0]" "$out"
out=$(post $S "$(svc twoudp ClusterIP '{"ports":[{"name":"a","port":53,"protocol":"UDP"},{"name":"b","port":53,"protocol":"TCP"}]}')")
expect "same port, different protocols ok" 201 "$(code "$out")"
out=$(post $S "$(svc unnamed ClusterIP '{"ports":[{"port":80},{"port":81}]}')")
contains "names required with >1 port" "spec.ports[0].name: Required value" "$out"
out=$(post $S "$(svc samename ClusterIP '{"ports":[{"name":"a","port":80},{"name":"a","port":81}]}')")
contains "duplicate port name" "spec.ports[1].name: Duplicate value" "$out"
out=$(post $S "$(svc badsel ClusterIP '{"selector":{"app":"no spaces!"}}')")
expect "bad selector -> 422" 422 "$(code "$out")"
contains "bad selector message" "spec.selector: Invalid value: \\\"no spaces!\\\"" "$out"
out=$(post $S "$(svc badkey ClusterIP '{"selector":{"-bad":"x"}}')")
contains "bad selector key" "spec.selector: Invalid value: \\\"-bad\\\"" "$out"
out=$(post $S "$(svc badtp ClusterIP '{"ports":[{"port":80,"targetPort":"Not_A_Name"}]}')")
contains "bad named targetPort" "spec.ports[0].targetPort: Invalid value: \\\"Not_A_Name\\\"" "$out"
out=$(post $S "$(svc badport ClusterIP '{"ports":[{"port":70000}]}')")
contains "port out of range" "spec.ports[0].port: Invalid value: must be between 1 and 65535" "$out"
out=$(post $S "$(svc badproto ClusterIP '{"ports":[{"port":80,"protocol":"ICMP"}]}')")
contains "bad protocol" "spec.ports[0].protocol: Unsupported value" "$out"
out=$(post $S '{"apiVersion":"v1","kind":"Service","metadata":{"name":"noports"},"spec":{"selector":{"a":"b"}}}')
contains "ports required" "spec.ports: Required value" "$out"
out=$(post $S "$(svc aff ClusterIP '{"sessionAffinity":"ClientIP"}')")
expect "ClientIP affinity default timeout 10800" "201 10800" \
	"$(code "$out") $(body "$out" | jq -r .spec.sessionAffinityConfig.clientIP.timeoutSeconds)"
out=$(post $S "$(svc aff2 ClusterIP '{"sessionAffinity":"ClientIP","sessionAffinityConfig":{"clientIP":{"timeoutSeconds":90000}}}')")
contains "affinity timeout > 86400" "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value" "$out"
out=$(post $S "$(svc aff3 ClusterIP '{"sessionAffinity":"Sticky"}')")
contains "bad sessionAffinity" "spec.sessionAffinity: Unsupported value: \\\"Sticky\\\"" "$out"
out=$(post $S "$(svc etp ClusterIP '{"externalTrafficPolicy":"Local"}')")
contains "externalTrafficPolicy on ClusterIP" "spec.externalTrafficPolicy: Invalid value: \\\"Local\\\": may only be set for externally-accessible services" "$out"
out=$(post $S "$(svc etp2 NodePort '{"externalTrafficPolicy":"Nearest"}')")
contains "bad externalTrafficPolicy" "spec.externalTrafficPolicy: Unsupported value: \\\"Nearest\\\"" "$out"
out=$(post $S "$(svc hlnp NodePort '{"clusterIP":"None"}')")
contains "headless NodePort rejected" "may not be set to 'None' for NodePort services" "$out"

# ---- Endpoints controller ---------------------------------------------------------------
pod() {   # name ip webport-number
	jq -cn --arg n "$1" --argjson p "$3" \
		'{apiVersion:"v1",kind:"Pod",metadata:{name:$n,labels:{app:"web"}},
		  spec:{nodeName:"node-a",containers:[{name:"c",image:"busybox",
		        ports:[{name:"http",containerPort:$p},{name:"metrics",containerPort:9100}]}]}}'
}
setstatus() {   # name ip ready(True/False)
	local rv st
	st=$(jq -cn --arg ip "$2" --arg r "$3" \
		'{status:{phase:"Running",podIP:$ip,podIPs:[{ip:$ip}],
		  conditions:[{type:"Ready",status:$r}]}}')
	acurl -X PATCH -H 'Content-Type: application/merge-patch+json' -o /dev/null -w '%{http_code}' \
		-d "$st" "$P/$1/status"
}
wait_ep() {   # name jq-expr expected
	local i got=
	for i in $(seq 1 100); do
		got=$(acurl "$E/$1" 2>/dev/null | jq -c "$2" 2>/dev/null)
		[ "$got" = "$3" ] && { echo "$got"; return 0; }
		sleep 0.1
	done
	echo "$got"
	return 1
}

post $S '{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","labels":{"tier":"fe"}},"spec":{"selector":{"app":"web"},"ports":[{"name":"http","port":80,"targetPort":"http"},{"name":"m","port":9100,"targetPort":9100}]}}' >/dev/null
post $P "$(pod w1 10.244.1.11 8080)" >/dev/null
post $P "$(pod w2 10.244.1.12 8080)" >/dev/null
post $P "$(pod w3 10.244.1.13 8081)" >/dev/null
setstatus w1 10.244.1.11 True >/dev/null
setstatus w2 10.244.1.12 False >/dev/null
setstatus w3 10.244.1.13 True >/dev/null
Q='[.subsets[] | {p:([.ports[]|"\(.name):\(.port)"]|sort|join(",")), r:[.addresses[]?.ip], n:[.notReadyAddresses[]?.ip]}]'
want='[{"p":"http:8080,m:9100","r":["10.244.1.11"],"n":["10.244.1.12"]},{"p":"http:8081,m:9100","r":["10.244.1.13"],"n":[]}]'
got=$(wait_ep web "$Q" "$want")
expect "Endpoints: ready/notReady split, named port resolved per pod (two subsets)" "$want" "$got"
out=$(acurl $E/web)
expect "address has nodeName and targetRef" "node-a Pod w1" \
	"$(jq -r '[.subsets[0].addresses[0] | .nodeName, .targetRef.kind, .targetRef.name] | join(" ")' <<<"$out")"
expect "Endpoints carry the Service labels" fe "$(jq -r .metadata.labels.tier <<<"$out")"
rv1=$(jq -r .metadata.resourceVersion <<<"$out")

setstatus w2 10.244.1.12 True >/dev/null
want='[{"p":"http:8080,m:9100","r":["10.244.1.11","10.244.1.12"],"n":[]},{"p":"http:8081,m:9100","r":["10.244.1.13"],"n":[]}]'
got=$(wait_ep web "$Q" "$want")
expect "pod turning Ready joins addresses" "$want" "$got"
setstatus w1 10.244.1.11 False >/dev/null
want='[{"p":"http:8080,m:9100","r":["10.244.1.12"],"n":["10.244.1.11"]},{"p":"http:8081,m:9100","r":["10.244.1.13"],"n":[]}]'
got=$(wait_ep web "$Q" "$want")
expect "pod turning not Ready leaves addresses" "$want" "$got"

# terminating: a finalizer keeps the pod with a deletionTimestamp
acurl -X PATCH -H 'Content-Type: application/merge-patch+json' -o /dev/null \
	-d '{"metadata":{"finalizers":["test/hold"]}}' $P/w3
acurl -X DELETE -o /dev/null $P/w3
want='[{"p":"http:8080,m:9100","r":["10.244.1.12"],"n":["10.244.1.11"]},{"p":"http:8081,m:9100","r":[],"n":["10.244.1.13"]}]'
got=$(wait_ep web "$Q" "$want")
expect "terminating pod leaves the ready set" "$want" "$got"
acurl -X PATCH -H 'Content-Type: application/merge-patch+json' -o /dev/null \
	-d '{"metadata":{"finalizers":null}}' $P/w3
want='[{"p":"http:8080,m:9100","r":["10.244.1.12"],"n":["10.244.1.11"]}]'
got=$(wait_ep web "$Q" "$want")
expect "deleted pod leaves Endpoints" "$want" "$got"

# no write storm: an unrelated pod change does not rewrite the Endpoints
rv2=$(acurl $E/web | jq -r .metadata.resourceVersion)
acurl -X PATCH -H 'Content-Type: application/merge-patch+json' -o /dev/null \
	-d '{"metadata":{"annotations":{"x":"y"}}}' $P/w1
sleep 1
expect "unchanged Endpoints are not rewritten" "$rv2" "$(acurl $E/web | jq -r .metadata.resourceVersion)"
[ "$rv1" != "$rv2" ] && ok "Endpoints were rewritten on real changes" || fail "rv never moved"

# headless with selector: Endpoints with hostname for subdomain pods
post $S '{"apiVersion":"v1","kind":"Service","metadata":{"name":"db"},"spec":{"clusterIP":"None","selector":{"app":"db"},"ports":[{"port":5432}]}}' >/dev/null
post $P '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"db-0","labels":{"app":"db"}},"spec":{"hostname":"db-0","subdomain":"db","containers":[{"name":"c","image":"busybox"}]}}' >/dev/null
setstatus db-0 10.244.2.20 True >/dev/null
got=$(wait_ep db '[.subsets[0].addresses[0] | .ip, .hostname]' '["10.244.2.20","db-0"]')
expect "headless Endpoints with hostname" '["10.244.2.20","db-0"]' "$got"
expect "headless label" '""' "$(acurl $E/db | jq -c '.metadata.labels["service.kubernetes.io/headless"]')"

# selector-less Service keeps hand-written Endpoints
post $S '{"apiVersion":"v1","kind":"Service","metadata":{"name":"manual"},"spec":{"ports":[{"port":5000}]}}' >/dev/null
post $E '{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"manual"},"subsets":[{"addresses":[{"ip":"192.0.2.5"}],"ports":[{"port":5000}]}]}' >/dev/null
sleep 1
expect "hand-written Endpoints kept" 192.0.2.5 "$(acurl $E/manual | jq -r '.subsets[0].addresses[0].ip')"

# deleting a Service deletes its Endpoints
acurl -X DELETE -o /dev/null $S/web
for _ in $(seq 1 50); do
	[ "$(acurl_code $E/web)" = 404 ] && break
	sleep 0.1
done
expect "Service delete removes its Endpoints" 404 "$(acurl_code $E/web)"

# ---- restart keeps allocations -----------------------------------------------------------
before=$(acurl $S | jq -r '.items[].spec.clusterIP' | grep -v None | sort)
apiserver_stop
apiserver_restart --controllers endpoints || { fail "restart"; exit 1; }
after=$(acurl $S | jq -r '.items[].spec.clusterIP' | grep -v None | sort)
expect "ClusterIPs unchanged across restart" "$before" "$after"
bad=0
for i in $(seq 51 70); do
	ip=$(post $S "$(svc "s$i" ClusterIP)" | head -n -1 | jq -r .spec.clusterIP)
	grep -qxF "$ip" <<<"$after" && bad=$((bad+1))
done
expect "no duplicate ClusterIP after restart (20 more)" 0 "$bad"
out=$(post $S "$(svc np7 NodePort "{\"ports\":[{\"port\":80,\"nodePort\":$np}]}")")
expect "nodePort still taken after restart" 422 "$(code "$out")"

# concurrent creates: 20 in parallel, all unique
pids=()
for i in $(seq 1 20); do
	post $S "$(svc "c$i" NodePort)" >"$APISERVER_DATA/c$i.out" &
	pids+=($!)
done
wait "${pids[@]}"   # not a bare wait: the server is a child too
created=$(for f in "$APISERVER_DATA"/c*.out; do head -n -1 "$f"; done)
uniq_ips=$(jq -r .spec.clusterIP <<<"$created" | grep -v null | sort -u | wc -l)
uniq_np=$(jq -r '.spec.ports[0].nodePort' <<<"$created" | grep -v null | sort -u | wc -l)
expect "20 concurrent creates: unique IPs and nodePorts" "20 20" "$uniq_ips $uniq_np"
all_ips=$(acurl $S | jq -r '.items[].spec.clusterIP' | grep -v -e None -e null)
expect "no duplicate ClusterIP among all Services" 0 "$(sort <<<"$all_ips" | uniq -d | wc -l)"

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	tail -n 20 "$APISERVER_LOG"
	exit 1
fi
echo "all ok"
