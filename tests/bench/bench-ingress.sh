#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Ingress benchmark (root, not a pass/fail test): in a throwaway netns, a
# "pod" (a plain nginx answering `return 200`) reached directly and through
# the ingress nginx rendered and started by gannet-ingress-render. Prints
# requests/s and latency of both with wrk (curl URL globbing as a fallback:
# sequential keep-alive requests), the ratio (target: ingress overhead
# < 30 %), and the time from the start of an apply with changed endpoints to
# the first request served by the new backend (target: < 1 s), 5 runs.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
CLI=$PWD/$BUILD/bin/gannet-ingress-render
DUR=${BENCH_INGRESS_SECONDS:-3}

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
command -v nginx >/dev/null || skip "nginx not installed"
[ -x "$CLI" ] || { echo "missing $CLI (run make)"; exit 1; }

NS=gnt-ingb-$$-$RANDOM
T=$(mktemp -d /tmp/gnt-ingb-$$-XXXX)
PFX=$T/ingress
nx() { ip netns exec "$NS" "$@"; }
cleanup() {
	set +e
	nx "$CLI" -p "$PFX" --stop >/dev/null 2>&1
	[ -s "$T/pod/nginx.pid" ] && kill -QUIT "$(cat "$T/pod/nginx.pid")" 2>/dev/null
	sleep 0.2
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap "exit 130" INT TERM HUP

ip netns add "$NS" || exit 1
nx ip link set lo up

# The pods: one nginx, two addresses with different answers.
mkdir -p "$T/pod/logs"
cat >"$T/pod/nginx.conf" <<'EOF'
worker_processes 1;
pid nginx.pid;
error_log logs/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path /tmp; proxy_temp_path /tmp; fastcgi_temp_path /tmp;
	uwsgi_temp_path /tmp; scgi_temp_path /tmp;
	keepalive_requests 1000000;
	server { listen 127.0.1.1:8080; location / { return 200 "b1\n"; } }
	server { listen 127.0.1.2:8080; location / { return 200 "b2\n"; } }
}
EOF
nx nginx -p "$T/pod/" -c "$T/pod/nginx.conf" || { echo "pod nginx failed"; exit 1; }

snapshot() { # file ip
	cat >"$1" <<EOF
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: default}
subsets: [{addresses: [{ip: $2}], ports: [{port: 8080}]}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: default}
spec:
  rules:
  - host: web.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
EOF
}
snapshot "$T/s1.yaml" 127.0.1.1
snapshot "$T/s2.yaml" 127.0.1.2
APPLY=(-d -q -l 127.0.0.1:8080 -p "$PFX")
nx "$CLI" "${APPLY[@]}" --apply "$T/s1.yaml" || { echo "ingress apply failed"; exit 1; }
sleep 0.2

# load URL HOSTHEADER -> "req/s avg_latency_ms"
load() {
	if command -v wrk >/dev/null; then
		nx wrk -t1 -c8 -d"${DUR}s" -H "Host: $2" "$1" 2>/dev/null | awk '
			/Requests\/sec/ { rps = $2 }
			/^ +Latency/ { l = $2; if (l ~ /us$/) { sub(/us/, "", l); l /= 1000 }
				else if (l ~ /ms$/) { sub(/ms/, "", l) } else if (l ~ /s$/) { sub(/s/, "", l); l *= 1000 } lat = l }
			END { printf "%.0f %.3f\n", rps, lat }'
	else
		local n=3000 t0 t1
		t0=$(date +%s%N)
		nx curl -s -o /dev/null -H "Host: $2" "$1?[1-$n]"
		t1=$(date +%s%N)
		awk -v n=$n -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f %.3f\n", n / (ns / 1e9), ns / 1e6 / n }'
	fi
}
tool=$(command -v wrk >/dev/null && echo "wrk -t1 -c8 -d${DUR}s" || echo "curl, sequential keep-alive")
read -r d_rps d_lat <<<"$(load http://127.0.1.1:8080/ web.test)"
read -r i_rps i_lat <<<"$(load http://127.0.0.1:8080/ web.test)"

# Propagation: start of apply -> first answer from the new backend.
props=()
cur=s1
for i in 1 2 3 4 5; do
	if [ $cur = s1 ]; then next=s2 want=b2; else next=s1 want=b1; fi
	t0=$(date +%s%N)
	nx "$CLI" "${APPLY[@]}" --apply "$T/$next.yaml" || { echo "apply failed"; exit 1; }
	until [ "$(nx curl -s -m 2 -H 'Host: web.test' http://127.0.0.1:8080/)" = "$want" ]; do
		[ $(( ($(date +%s%N) - t0) / 1000000 )) -gt 5000 ] && break
		sleep 0.005
	done
	props+=($(( ($(date +%s%N) - t0) / 1000000 )))
	cur=$next
done
sorted=$(printf '%s\n' "${props[@]}" | sort -n | tr '\n' ' ')
maxp=$(printf '%s\n' "${props[@]}" | sort -n | tail -n1)

echo "ingress benchmark ($tool; 2 shared cores, noisy)"
printf '%-28s %12s %14s\n' "path" "req/s" "avg latency ms"
printf '%-28s %12s %14s\n' "direct to pod (baseline)" "$d_rps" "$d_lat"
printf '%-28s %12s %14s\n' "through ingress nginx" "$i_rps" "$i_lat"
awk -v d="$d_rps" -v i="$i_rps" 'BEGIN { if (d > 0) printf "ingress/direct throughput ratio: %.2f (overhead %.0f %%; target < 30 %%)\n", i / d, (1 - i / d) * 100 }'
echo "change effective after apply (ms, 5 runs): $sorted(max $maxp; target < 1000)"
