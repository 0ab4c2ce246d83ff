#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cluster DNS against real dnsmasq (root). Two throwaway network namespaces
# made here: a "node" (10.96.0.10/32 on its lo, where the front dnsmasq
# listens, as on a real node) and a "pod" behind a veth whose default route
# points at the node, so queries take the pod -> node path. dnsmasq is run by
# gannet-dns-render apply (the manager in agent/dns/dnsmasq.c) from YAML
# snapshots; no upstream server, nothing leaves the namespaces.
# Checks, from the pod: service name -> ClusterIP (UDP and TCP), PTR, short
# names through the rendered resolv.conf search path (glibc getent in a
# private mount namespace with that file on /etc/resolv.conf), headless ->
# ready pod IPs only, per-pod hostname records, SRV for named ports
# (ClusterIP and headless), ExternalName -> CNAME, unknown -> NXDOMAIN
# (never forwarded), wget by service name (short and full) from the pod,
# an added service (A only: hostsdir/inotify; with SRV:
# back switch) resolving within 2 s (latency printed), no failed query
# during back switches under a query loop, re-apply of the same snapshot
# keeps both processes (adoption), a removed service -> NXDOMAIN, upstream
# forwarding of other names only (never cluster names), stop.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
CLI=$PWD/$BUILD/bin/gannet-dns-render

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
[ -x /usr/sbin/dnsmasq ] || skip "dnsmasq not installed (dnsmasq-base, scripts/deps.sh)"
command -v dig >/dev/null || skip "dig not installed (dnsutils, scripts/deps.sh)"
command -v unshare >/dev/null || skip "unshare not installed"
[ -x "$CLI" ] || { echo "missing $CLI (run make)"; exit 1; }

NODE=gnt-dnsn-$$-$RANDOM
POD=gnt-dnsp-$$-$RANDOM
T=$(mktemp -d /tmp/gnt-dns-$$-XXXX)
chmod 755 "$T"
D=$T/state
APPLY=(apply --dir "$D" --netns "/run/netns/$NODE" -l 10.96.0.10 --back-port 10053)

cleanup() {
	set +e
	[ -n "${LOOP_PID:-}" ] && kill "$LOOP_PID" 2>/dev/null
	"$CLI" stop --dir "$D" --back-port 10053 >/dev/null 2>&1
	# Whatever is still inside our namespaces was started by this suite.
	for n in "$NODE" "$POD"; do
		for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap "exit 130" INT TERM HUP

fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
expect() { # name, expected, actual
	if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: expected '$2', got '$3'"; fi
}
inpod() { nsenter --net=/run/netns/$POD "$@"; }
q() { inpod dig +time=1 +tries=2 @10.96.0.10 "$@"; }
qs() { q +short "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }
status() { q "$@" | sed -n 's/.*status: \([A-Z]*\).*/\1/p'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# Polls until "dig +short ARGS" prints something matching $1; prints ms.
wait_for() {
	local want=$1 t0 out; shift
	t0=$(now_ms)
	while :; do
		out=$(inpod dig +short +time=1 +tries=1 @10.96.0.10 "$@" 2>/dev/null)
		if [[ "$out" == *"$want"* ]]; then echo $(( $(now_ms) - t0 )); return 0; fi
		[ $(( $(now_ms) - t0 )) -gt 5000 ] && { echo 99999; return 1; }
	done
}

ip netns add "$NODE" && ip netns add "$POD" || { echo "FAIL: ip netns add"; exit 1; }
ip -n "$NODE" link set lo up
ip -n "$POD" link set lo up
ip -n "$NODE" addr add 10.96.0.10/32 dev lo
ip link add gdn$$ netns "$NODE" type veth peer name eth0 netns "$POD"
ip -n "$NODE" link set gdn$$ up
ip -n "$NODE" addr add 10.244.0.1/24 dev gdn$$
ip -n "$POD" link set eth0 up
ip -n "$POD" addr add 10.244.0.5/24 dev eth0
ip -n "$POD" route add default via 10.244.0.1

# ---- snapshot 1
cat >"$T/s1.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  clusterIP: 10.96.5.5
  ports: [{name: http, port: 80, protocol: TCP}, {port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: prod}
spec:
  clusterIP: None
  ports: [{name: pg, port: 5432}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: db, namespace: prod}
subsets:
- addresses: [{ip: 10.244.1.5, hostname: db-0}, {ip: 10.244.2.6}]
  notReadyAddresses: [{ip: 10.244.3.7, hostname: db-2}]
  ports: [{name: pg, port: 5432, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: default}
spec: {type: ExternalName, externalName: www.example.com}
---
apiVersion: v1
kind: Service
metadata: {name: "evil\nserver=10.0.0.1", namespace: default}
spec: {clusterIP: 10.96.6.6}
EOF

out=$("$CLI" "${APPLY[@]}" "$T/s1.yaml" 2>"$T/apply.err")
rc=$?
echo "apply: $out"
[ $rc = 0 ] || { cat "$T/apply.err" "$D"/*.err 2>/dev/null; echo "FAIL apply"; exit 1; }
grep -q "not a DNS-1123 label" "$T/apply.err" && ok "invalid service name reported" ||
	bad "invalid service name not reported"
FRONT=$(cat "$D/front.pid")
BACK=$(cat "$D/back-10053.pid")

expect "A web.default (UDP)" "10.96.5.5" "$(qs web.default.svc.cluster.local)"
expect "A web.default (TCP)" "10.96.5.5" "$(qs +tcp web.default.svc.cluster.local)"
expect "PTR 10.96.5.5" "web.default.svc.cluster.local." "$(qs -x 10.96.5.5)"
expect "headless -> ready pod IPs" "10.244.1.5 10.244.2.6" "$(qs db.prod.svc.cluster.local)"
expect "headless hostname" "10.244.1.5" "$(qs db-0.db.prod.svc.cluster.local)"
expect "headless dashed-IP name" "10.244.2.6" "$(qs 10-244-2-6.db.prod.svc.cluster.local)"
expect "not-ready pod has no record" "NXDOMAIN" "$(status db-2.db.prod.svc.cluster.local)"
expect "SRV ClusterIP named port" "0 100 80 web.default.svc.cluster.local." \
	"$(qs SRV _http._tcp.web.default.svc.cluster.local)"
expect "SRV headless per endpoint" \
	"0 100 5432 10-244-2-6.db.prod.svc.cluster.local. 0 100 5432 db-0.db.prod.svc.cluster.local." \
	"$(qs SRV _pg._tcp.db.prod.svc.cluster.local)"
expect "no SRV for a wrong protocol" "NXDOMAIN" "$(status SRV _http._udp.web.default.svc.cluster.local)"
expect "ExternalName -> CNAME" "www.example.com." "$(qs CNAME ext.default.svc.cluster.local)"
expect "unknown cluster name -> NXDOMAIN" "NXDOMAIN" "$(status nope.default.svc.cluster.local)"
expect "unknown namespace -> NXDOMAIN" "NXDOMAIN" "$(status web.nope.svc.cluster.local)"
expect "AAAA of an IPv4-only service -> NOERROR/no data" "NOERROR" \
	"$(status AAAA web.default.svc.cluster.local)"
expect "injected name not served" "NXDOMAIN" "$(status evil.default.svc.cluster.local)"
grep -q "10.0.0.1" "$D/servers.conf" && bad "injected server line reached servers.conf" ||
	ok "no injected server line"
# No upstream: names outside the cluster domain are refused, not forwarded.
st=$(status example.com)
[ "$st" = REFUSED ] || [ "$st" = SERVFAIL ] && ok "non-cluster name not forwarded ($st)" ||
	bad "non-cluster name: status '$st'"

# ---- short names through the pod's resolv.conf (glibc, search + ndots:5)
for ns in default prod; do
	"$CLI" resolv -n $ns >"$T/resolv-$ns.conf" || bad "resolv -n $ns"
done
expect "rendered resolv.conf" \
	"search default.svc.cluster.local svc.cluster.local cluster.local|nameserver 10.96.0.10|options ndots:5" \
	"$(tr '\n' '|' <"$T/resolv-default.conf" | sed 's/|$//')"
getent_pod() { # ns name: getent hosts in the pod netns with that resolv.conf
	unshare -m --propagation private sh -c \
		'mount --bind "$1" /etc/resolv.conf && exec nsenter --net="$2" getent ahostsv4 "$3"' \
		_ "$T/resolv-$1.conf" "/run/netns/$POD" "$2" | awk '{print $1}' | sort -u |
		tr '\n' ' ' | sed 's/ $//'
}
expect "short name 'web' from default" "10.96.5.5" "$(getent_pod default web)"
expect "'web.default' from prod" "10.96.5.5" "$(getent_pod prod web.default)"
expect "'db' from prod (headless)" "10.244.1.5 10.244.2.6" "$(getent_pod prod db)"
expect "'db' from default -> not found" "" "$(getent_pod default db)"
expect "FQDN with trailing dot" "10.96.5.5" "$(getent_pod prod web.default.svc.cluster.local.)"
# busybox's resolver (what busybox images use) reads the same file.
if [ -x /bin/busybox ]; then
	bb=$(unshare -m --propagation private sh -c \
		'mount --bind "$1" /etc/resolv.conf && exec nsenter --net="$2" busybox nslookup web.default.svc.cluster.local' \
		_ "$T/resolv-default.conf" "/run/netns/$POD" 2>&1)
	[[ "$bb" == *"10.96.5.5"* ]] && ok "busybox nslookup via resolv.conf" ||
		bad "busybox nslookup: $bb"
fi

# ---- wget by service name from the pod (issue 5's acceptance shape). No
# services datapath here: the "ClusterIP" is an address of the node with a
# busybox httpd on it, so this checks name -> IP -> connection. (No wget -T:
# this busybox segfaults with it; timeout(1) bounds the request.)
if [ -x /bin/busybox ]; then
	ip -n "$NODE" addr add 10.96.5.5/32 dev lo
	mkdir -p "$T/www" && echo "hello from web" >"$T/www/index.html"
	nsenter --net=/run/netns/$NODE busybox httpd -p 10.96.5.5:80 -h "$T/www"
	for u in http://web.default.svc.cluster.local/ http://web/; do
		got=$(unshare -m --propagation private sh -c \
			'mount --bind "$1" /etc/resolv.conf && exec timeout 5 nsenter --net="$2" busybox wget -q -O - "$3"' \
			_ "$T/resolv-default.conf" "/run/netns/$POD" "$u" 2>&1)
		expect "wget $u from a pod" "hello from web" "$got"
	done
fi

# ---- re-apply of the same snapshot: nothing restarted
out=$("$CLI" "${APPLY[@]}" "$T/s1.yaml" 2>/dev/null)
[[ "$out" == *"records unchanged"* ]] && ok "same snapshot: records unchanged" ||
	bad "same snapshot: $out"
expect "front kept" "$FRONT" "$(cat "$D/front.pid")"
expect "back kept" "$BACK" "$(cat "$D/back-10053.pid" 2>/dev/null)"

# ---- update 1: a new service without named ports (A record only)
cp "$T/s1.yaml" "$T/s2.yaml"
cat >>"$T/s2.yaml" <<'EOF'
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: default}
spec: {clusterIP: 10.96.7.7, ports: [{port: 443}]}
EOF
expect "api before update" "NXDOMAIN" "$(status api.default.svc.cluster.local)"
t0=$(now_ms)
out=$("$CLI" "${APPLY[@]}" "$T/s2.yaml" 2>/dev/null) || bad "apply s2"
ms=$(wait_for 10.96.7.7 api.default.svc.cluster.local)
lat_a=$(( $(now_ms) - t0 ))
echo "update (A only): $out; answered ${lat_a} ms after apply started (${ms} ms after it returned)"
[ "$lat_a" -lt 2000 ] && ok "new service resolves within 2 s (${lat_a} ms)" ||
	bad "new service took ${lat_a} ms"
[[ "$out" == *"records unchanged"* ]] && ok "A-only update needs no back switch" ||
	bad "A-only update: $out"
expect "front never restarted" "$FRONT" "$(cat "$D/front.pid")"

# ---- update 2: a named port (SRV) under a query loop: back switch, no failure
cat >"$T/loop.sh" <<'EOF'
#!/bin/bash
# Counts failed queries (no answer / not NOERROR) until killed.
fail=0 n=0
trap 'echo "$n $fail" >"$1"; exit 0' TERM
while :; do
	s=$(dig +time=1 +tries=1 @10.96.0.10 SRV _http._tcp.web.default.svc.cluster.local 2>&1 |
	    sed -n 's/.*status: \([A-Z]*\).*/\1/p')
	n=$((n + 1))
	[ "$s" = NOERROR ] || fail=$((fail + 1))
done
EOF
chmod +x "$T/loop.sh"
nsenter --net=/run/netns/$POD "$T/loop.sh" "$T/loop.out" &
LOOP_PID=$!
sleep 0.3
cat "$T/s2.yaml" >"$T/s3.yaml"
cat >>"$T/s3.yaml" <<'EOF'
---
apiVersion: v1
kind: Service
metadata: {name: grpc, namespace: default}
spec: {clusterIP: 10.96.8.8, ports: [{name: grpc, port: 9000, protocol: TCP}]}
EOF
t0=$(now_ms)
out=$("$CLI" "${APPLY[@]}" "$T/s3.yaml" 2>"$T/apply.err") || { cat "$T/apply.err"; bad "apply s3"; }
ms=$(wait_for "9000 grpc" SRV _grpc._tcp.grpc.default.svc.cluster.local)
lat_srv=$(( $(now_ms) - t0 ))
echo "update (SRV): $out; answered ${lat_srv} ms after apply started"
[[ "$out" == *"port 10054 records switched"* ]] && ok "SRV update switched back to port 10054" ||
	bad "SRV update: $out"
[ "$lat_srv" -lt 2000 ] && ok "new SRV record within 2 s (${lat_srv} ms)" ||
	bad "new SRV took ${lat_srv} ms"
# switch back and forth a few more times while the loop runs
for i in 1 2 3; do
	f=$T/s2.yaml; [ $((i % 2)) = 1 ] || f=$T/s3.yaml
	"$CLI" "${APPLY[@]}" "$f" >/dev/null 2>&1 || bad "apply switch $i"
	sleep 0.2
done
sleep 0.3
kill "$LOOP_PID"; wait "$LOOP_PID" 2>/dev/null; LOOP_PID=
read -r nq nfail <"$T/loop.out"
echo "query loop during 4 back switches: $nq queries, $nfail failed"
[ "${nq:-0}" -gt 10 ] && [ "${nfail:-1}" = 0 ] && ok "no failed query during back switches" ||
	bad "query loop: $nq queries, $nfail failed"
expect "front still the same process" "$FRONT" "$(cat "$D/front.pid")"
[ -e "$D/back-10053.pid" ] && [ -e "$D/back-10054.pid" ] && bad "two backs left running" ||
	ok "old back stopped"

# ---- removal: web disappears (hostsdir drops records without a signal)
grep -v -e '^$' "$T/s3.yaml" | awk 'BEGIN{RS="---\n"; ORS="---\n"} !/name: web,/' >"$T/s4.yaml"
"$CLI" "${APPLY[@]}" "$T/s4.yaml" >/dev/null 2>&1 || bad "apply s4"
t0=$(now_ms)
while [ "$(status web.default.svc.cluster.local)" != NXDOMAIN ] && [ $(( $(now_ms) - t0 )) -lt 3000 ]; do :; done
expect "removed service -> NXDOMAIN" "NXDOMAIN" "$(status web.default.svc.cluster.local)"
expect "other services still there" "10.96.7.7" "$(qs api.default.svc.cluster.local)"

# ---- upstream: other names are forwarded, cluster names never are. The
# "upstream" is a dnsmasq on the node's 127.0.0.53 that would answer cluster
# names with a bogus address if it were ever asked.
nsenter --net=/run/netns/$NODE /usr/sbin/dnsmasq --conf-file=/dev/null --no-resolv --no-hosts \
	--bind-interfaces --listen-address=127.0.0.53 --pid-file="$T/upstream.pid" \
	--address=/example.org/192.0.2.7 --address=/cluster.local/192.0.2.66 ||
	bad "upstream dnsmasq did not start"
"$CLI" "${APPLY[@]}" --upstream 127.0.0.53 "$T/s4.yaml" >/dev/null 2>&1 || bad "apply with upstream"
expect "non-cluster name forwarded upstream" "192.0.2.7" "$(qs www.example.org)"
expect "unknown cluster name still NXDOMAIN (not forwarded)" "NXDOMAIN" \
	"$(status nope.default.svc.cluster.local)"
expect "unknown SRV still NXDOMAIN" "NXDOMAIN" "$(status SRV _x._tcp.nope.default.svc.cluster.local)"
expect "cluster names still local" "10.96.7.7" "$(qs api.default.svc.cluster.local)"
expect "front kept across an upstream change" "$FRONT" "$(cat "$D/front.pid")"
kill "$(cat "$T/upstream.pid")" 2>/dev/null

# ---- a listen address the node does not have: dnsmasq's own message,
# nothing left running for that state dir
out=$("$CLI" apply --dir "$T/bad" --netns /run/netns/$NODE -l 10.99.99.99 --back-port 10153 \
	"$T/s4.yaml" 2>&1)
rc=$?
[ $rc != 0 ] && [[ "$out" == *"annot assign requested address"* ]] &&
	ok "unbindable listen address reported" || bad "unbindable listen address: rc=$rc $out"
"$CLI" stop --dir "$T/bad" --back-port 10153 >/dev/null 2>&1
expect "served addresses unaffected" "10.96.7.7" "$(qs api.default.svc.cluster.local)"

# ---- stop
"$CLI" stop --dir "$D" --back-port 10053 || bad "stop"
sleep 0.1
alive=0
for p in "$FRONT" $(cat "$D"/back-*.pid 2>/dev/null); do
	grep -qs dnsmasq /proc/$p/comm && [ "$(awk '{print $3}' /proc/$p/stat 2>/dev/null)" != Z ] && alive=1
done
expect "stop leaves no dnsmasq" 0 "$alive"

echo "figures: A-only update ${lat_a} ms, SRV update (back switch) ${lat_srv} ms"
[ $fails = 0 ] && echo "all DNS checks passed" || echo "$fails DNS checks failed"
[ $fails = 0 ]
