#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Ingress controller core against a real nginx (root): everything runs in a
# throwaway network namespace made here (lo only; "pod IPs" are 127.0.1.x on
# its lo). Self-identifying socat backends, nginx started and reloaded by
# gannet-ingress-render --apply (the manager in ingress/nginx.c) from YAML
# snapshots. Checks: Host/path routing (Prefix, Exact, element-wise), HTTPS
# with SNI presenting the right self-signed certificate per host, HTTP->HTTPS
# 308, a missing Service -> 503 for that route only with a status message, a
# missing Secret -> 503 for that host only, graceful reload with changed
# upstreams under a request loop (no failed request, master kept, workers
# replaced, change visible within 1 s), an unchanged snapshot -> no reload, a
# config nginx -t rejects (bad port, unbindable address) -> old config keeps
# serving, stop.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
CLI=$PWD/$BUILD/bin/gannet-ingress-render

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
command -v nginx >/dev/null || skip "nginx not installed (scripts/deps.sh)"
command -v socat >/dev/null || skip "socat not installed"
command -v openssl >/dev/null || skip "openssl not installed"
[ -x "$CLI" ] || { echo "missing $CLI (run make)"; exit 1; }

NS=gnt-ing-$$-$RANDOM
T=$(mktemp -d /tmp/gnt-ing-$$-XXXX)
PFX=$T/nginx
BPIDS=()
nx() { ip netns exec "$NS" "$@"; }
APPLY=(-d -l 127.0.0.1:8080 -s 127.0.0.1:8443 --https-port 8443 -p "$PFX" --nginx "$(command -v nginx)")

cleanup() {
	set +e
	[ -d "$PFX" ] && nx "$CLI" -p "$PFX" --stop >/dev/null 2>&1
	for p in "${BPIDS[@]}"; do kill "$p" 2>/dev/null; done
	# Whatever is still inside our namespace was started by this suite.
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
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

ip netns add "$NS" || { echo "FAIL: ip netns add"; exit 1; }
nx ip link set lo up

# Backend: answers every request with "<name> <path>", after reading the
# whole request head (closing with unread data would RST the proxy).
cat >"$T/backend.sh" <<'EOF'
#!/bin/bash
name=$1
IFS= read -r line || exit 0
set -- $line
path=$2
while IFS= read -r h; do h=${h%$'\r'}; [ -z "$h" ] && break; done
body="$name $path"
printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s\n' \
	$((${#body} + 1)) "$body"
EOF
chmod +x "$T/backend.sh"
start_backend() { # name ip
	nx socat -T5 TCP-LISTEN:8080,bind="$2",reuseaddr,fork,backlog=256 \
		EXEC:"$T/backend.sh $1" 2>/dev/null &
	BPIDS+=($!)
}
start_backend a1 127.0.1.1
start_backend b1 127.0.1.2
start_backend b2 127.0.1.3

for h in a s; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-subj "/CN=$h.test" -addext "subjectAltName=DNS:$h.test" \
		-keyout "$T/$h.key" -out "$T/$h.crt" 2>/dev/null || { echo "FAIL: openssl"; exit 1; }
done

# snapshot B_IPS: svc-a -> a1; svc-b -> the given addresses.
snapshot() {
	local out=$1 bips=$2
	cat >"$out" <<EOF
apiVersion: v1
kind: Service
metadata: {name: svc-a, namespace: default}
spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: svc-a, namespace: default}
subsets: [{addresses: [{ip: 127.0.1.1}], ports: [{name: http, port: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: svc-b, namespace: default}
spec: {ports: [{name: web, port: 8000, targetPort: web}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: svc-b, namespace: default}
subsets: [{addresses: [$bips], ports: [{name: web, port: 8080}]}]
---
apiVersion: v1
kind: Secret
metadata: {name: tls-a, namespace: default}
type: kubernetes.io/tls
data: {tls.crt: $(base64 -w0 "$T/a.crt"), tls.key: $(base64 -w0 "$T/a.key")}
---
apiVersion: v1
kind: Secret
metadata: {name: tls-s, namespace: default}
type: kubernetes.io/tls
data: {tls.crt: $(base64 -w0 "$T/s.crt"), tls.key: $(base64 -w0 "$T/s.key")}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing-a, namespace: default, creationTimestamp: "2024-01-01T00:00:00Z"}
spec:
  tls:
  - {hosts: [a.test], secretName: tls-a}
  - {hosts: [s.test], secretName: tls-s}
  rules:
  - host: a.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: svc-a, port: {number: 80}}}}]}
  - host: s.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: svc-a, port: {name: http}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing-b, namespace: default, creationTimestamp: "2024-01-01T00:00:01Z"}
spec:
  rules:
  - host: b.test
    http:
      paths:
      - {path: /api, pathType: Prefix, backend: {service: {name: svc-b, port: {name: web}}}}
      - {path: /exact, pathType: Exact, backend: {service: {name: svc-a, port: {number: 80}}}}
      - {path: /gone, pathType: Prefix, backend: {service: {name: ghost, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing-bad, namespace: default, creationTimestamp: "2024-01-01T00:00:02Z"}
spec:
  tls: [{hosts: [d.test], secretName: no-such-secret}]
  rules:
  - host: d.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: svc-a, port: {number: 80}}}}]}
  - host: "bad_host!"
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: svc-a, port: {number: 80}}}}]}
EOF
}

get() { # host path -> "code body"
	nx curl -s -m 5 -o "$T/body" -w '%{http_code}' -H "Host: $1" "http://127.0.0.1:8080$2" >"$T/code" 2>/dev/null
	echo "$(cat "$T/code") $(cat "$T/body" 2>/dev/null)"
}
code() { get "$@" | head -n1 | cut -d' ' -f1; }

snapshot "$T/s1.yaml" "{ip: 127.0.1.2}"
if ! nx "$CLI" "${APPLY[@]}" -q --status "$T/status.json" --apply "$T/s1.yaml"; then
	echo "FAIL: first apply"; cat "$PFX/logs/cmd.log" "$PFX/logs/error.log" 2>/dev/null; exit 1
fi
master=$(cat "$PFX/nginx.pid")
[ -n "$master" ] && [ -d "/proc/$master" ] && ok "nginx started by the manager (master $master)" || bad "no master"
# Backends must be up before routing checks.
for i in $(seq 50); do [ "$(get b.test /api/ready)" = "200 b1 /api/ready" ] && break; sleep 0.1; done

expect "b.test Prefix /api/x -> svc-b" "200 b1 /api/x" "$(get b.test /api/x)"
expect "b.test Prefix /api -> svc-b" "200 b1 /api" "$(get b.test /api)"
expect "b.test /apix is not under /api" "404" "$(code b.test /apix)"
expect "b.test Exact /exact -> svc-a" "200 a1 /exact" "$(get b.test /exact)"
expect "b.test Exact /exact/x not matched" "404" "$(code b.test /exact/x)"
expect "unknown host -> 404" "404" "$(code nowhere.test /)"
expect "missing service -> 503 for that route" "503" "$(code b.test /gone/x)"
expect "missing secret -> 503 for that host" "503" "$(code d.test /)"
jq -e '."default/ing-b".errors | index("service default/ghost not found (503)")' "$T/status.json" >/dev/null &&
	ok "status names the missing service" || bad "status: $(cat "$T/status.json")"
jq -e '."default/ing-bad".errors | map(select(test("secret default/no-such-secret missing"))) | length == 1' \
	"$T/status.json" >/dev/null && ok "status names the missing secret" || bad "status (secret)"
jq -e '."default/ing-bad".errors | map(select(test("invalid host"))) | length == 1' "$T/status.json" >/dev/null &&
	ok "status names the invalid host" || bad "status (host)"

# HTTP -> HTTPS for TLS hosts.
loc=$(nx curl -s -m 5 -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Host: a.test' http://127.0.0.1:8080/p?q=1)
expect "a.test HTTP -> 308 to HTTPS" "308 https://a.test:8443/p?q=1" "$loc"
# SNI: each host presents its own certificate (verified with only that CA).
https() { # host ca path
	nx curl -s -m 5 --cacert "$T/$2.crt" --resolve "$1:8443:127.0.0.1" "https://$1:8443$3" 2>/dev/null
}
expect "https a.test with cert a" "a1 /x" "$(https a.test a /x)"
expect "https s.test with cert s" "a1 /y" "$(https s.test s /y)"
if https s.test a /y >/dev/null; then bad "s.test presented cert a"; else ok "s.test does not present cert a"; fi
subj=$(nx sh -c "openssl s_client -connect 127.0.0.1:8443 -servername s.test </dev/null 2>/dev/null | openssl x509 -noout -subject")
expect "s_client SNI s.test subject" "subject=CN = s.test" "$subj"
if nx openssl s_client -connect 127.0.0.1:8443 -servername unknown.test </dev/null >/dev/null 2>&1; then
	bad "unknown SNI got a handshake"
else
	ok "unknown SNI refused"
fi

# Unchanged snapshot: no reload.
w1=$(pgrep -P "$master" | sort | tr '\n' ' ')
out=$(nx "$CLI" "${APPLY[@]}" -q --apply "$T/s1.yaml" 2>&1)
w2=$(pgrep -P "$master" | sort | tr '\n' ' ')
expect "unchanged snapshot -> no reload" "gannet-ingress: unchanged|$w1" "$out|$w2"

# Graceful reloads under load: svc-b moves b1 -> b1+b2 -> b2 while a loop
# of requests runs; none may fail.
snapshot "$T/s2.yaml" "{ip: 127.0.1.2}, {ip: 127.0.1.3}"
snapshot "$T/s3.yaml" "{ip: 127.0.1.3}"
cat >"$T/load.sh" <<EOF
#!/bin/bash
n=0; f=0
while [ ! -e "$T/stop" ]; do
	c=\$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H 'Host: b.test' http://127.0.0.1:8080/api/load)
	n=\$((n + 1)); [ "\$c" = 200 ] || f=\$((f + 1))
done
echo "\$n \$f" >"$T/load.out"
EOF
chmod +x "$T/load.sh"
nx "$T/load.sh" &
lp=$!
BPIDS+=($lp)
sleep 0.5
rl_ok=1
for s in s2 s3 s2 s3; do
	nx "$CLI" "${APPLY[@]}" -q --apply "$T/$s.yaml" 2>"$T/apply.err" || { rl_ok=0; cat "$T/apply.err"; }
	sleep 0.3
done
t0=$(date +%s%N)
b=""
for i in $(seq 40); do
	b=$(get b.test /api/after); [ "$b" = "200 b2 /api/after" ] && break; sleep 0.025
done
dt=$(( ($(date +%s%N) - t0) / 1000000 ))
sleep 0.3
touch "$T/stop"
wait "$lp"
read -r n f <"$T/load.out"
[ $rl_ok = 1 ] && ok "4 reloads applied" || bad "a reload failed"
if [ "${n:-0}" -ge 20 ] && [ "${f:-1}" = 0 ]; then ok "no failed request during reloads ($n requests)"; else bad "requests during reloads: $n sent, $f failed"; fi
expect "upstream change effective within 1 s (${dt} ms after apply)" "200 b2 /api/after" "$b"
[ "$dt" -lt 1000 ] || bad "change took ${dt} ms"
expect "master kept across reloads" "$master" "$(cat "$PFX/nginx.pid")"
w3=$(pgrep -P "$master" -f 'worker process$' | sort | tr '\n' ' ')
[ -n "$w3" ] && [ "$w3" != "$w1" ] && ok "workers replaced ($w1-> $w3)" || bad "workers not replaced ($w1 / $w3)"

# A configuration nginx -t rejects (port out of range) is not installed
# and the running one keeps serving.
cp "$PFX/nginx.conf" "$T/live.conf"
nx "$CLI" -d -l 127.0.0.1:99999 -p "$PFX" -q --apply "$T/s1.yaml" 2>"$T/apply.err"
rc=$?
expect "rejected config -> exit 3" 3 "$rc"
grep -q 'nginx -t rejected the configuration' "$T/apply.err" && ok "error quotes nginx -t" || bad "error: $(cat "$T/apply.err")"
cmp -s "$PFX/nginx.conf" "$T/live.conf" && ok "live config file untouched" || bad "live config changed"
expect "still serving after a rejected config" "200 b2 /api/x" "$(get b.test /api/x)"

# An address this netns does not have: nginx -t's bind() check refuses it
# and nothing changes.
nx "$CLI" -d -l 10.99.99.99:8080 -p "$PFX" -q --apply "$T/s1.yaml" 2>"$T/apply.err"
expect "unbindable listen address -> exit 3" 3 "$?"
grep -q 'rejected the configuration.*bind()' "$T/apply.err" && ok "error names the bind() failure" ||
	bad "error: $(cat "$T/apply.err")"
cmp -s "$PFX/nginx.conf" "$T/live.conf" && ok "live config file untouched" || bad "config changed"
expect "still serving" "200 b2 /api/y" "$(get b.test /api/y)"
expect "master kept" "$master" "$(cat "$PFX/nginx.pid")"

nx "$CLI" -p "$PFX" --stop && ok "stop" || bad "stop failed"
sleep 0.1
# Gone or a zombie (nothing may reap it in a container without init).
st=$(awk '{print $3}' "/proc/$master/stat" 2>/dev/null)
[ -z "$st" ] || [ "$st" = Z ] && ok "master gone" || bad "master still running ($st)"

echo
if [ $fails -gt 0 ]; then
	echo "FAIL: $fails check(s) failed"
	echo "--- nginx error.log"; tail -n 20 "$PFX/logs/error.log" 2>/dev/null
	exit 1
fi
echo "all ingress nginx checks passed"
