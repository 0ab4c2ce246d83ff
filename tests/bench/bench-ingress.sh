#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Ingress benchmark (root, not a pass/fail test). The real path: a live
# gannet-apiserver, gannet-ingress-controller with its nginx in an
# ingress-node namespace, "pods" (nginx answering a few bytes) in their own
# namespaces, wrk in an external client namespace, all joined by a bridge in
# a fabric namespace (tests/lib/ingressnet.sh). In the same run:
#   1. wrk to the pod IP directly (baseline) vs to the node address through
#      the ingress: requests/s, p50/p99 latency, ratio (target: overhead
#      < 30 %), and the CPU the ingress nginx spent per proxied request
#      next to what the pod's nginx spends answering one;
#   2. time from `gannetctl apply` of a changed Ingress (backend switched
#      between two Services) to the first request answered by the new
#      backend, N times: p50/p99 (target: < 1 s).
# BENCH_INGRESS_SECONDS (3), BENCH_INGRESS_CONNS (8), BENCH_INGRESS_CHANGES
# (50), BENCH_INGRESS_WORKERS (ingress nginx workers; default online CPUs).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
CTRL=$PWD/$BUILD/bin/gannet-ingress-controller
CTL=$PWD/$BUILD/bin/gannetctl
DUR=${BENCH_INGRESS_SECONDS:-3}
CONNS=${BENCH_INGRESS_CONNS:-8}
NCH=${BENCH_INGRESS_CHANGES:-50}
WORKERS=${BENCH_INGRESS_WORKERS:-$(nproc)}

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
for c in nginx wrk curl nsenter; do
	command -v $c >/dev/null || skip "$c not installed (scripts/deps.sh)"
done
for b in "$CTRL" "$CTL" "$PWD/$BUILD/bin/gannet-apiserver"; do
	[ -x "$b" ] || { echo "missing $b (run make)"; exit 1; }
done

. tests/lib/apiserver.sh
. tests/lib/ingressnet.sh
T=$INGNET_DIR
CPID=
cleanup() {
	set +e
	if [ -n "$CPID" ]; then
		kill -TERM "$CPID" 2>/dev/null
		for _ in $(seq 1 100); do kill -0 "$CPID" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$CPID" 2>/dev/null
	fi
	ingnet_cleanup
	apiserver_cleanup
}
APISERVER_NO_TRAP=1
trap cleanup EXIT
trap "exit 130" INT TERM HUP

apiserver_start >/dev/null || exit 1
ingnet_setup || { echo "namespace setup failed"; exit 1; }
ingnet_pod p1 11 || exit 1
ingnet_pod p2 12 || exit 1
NODE_IP=$INGNET_PFX.2
kapply() { "$CTL" --kubeconfig "$KUBECONFIG" apply -f - >/dev/null; }
ingress() { # SERVICE
	kapply <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: default}
spec:
  ingressClassName: gannet
  rules:
  - host: web.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: $1, port: {number: 80}}}}]}
EOF
}
for s in "a 11" "b 12"; do
	set -- $s
	kapply <<EOF || exit 1
apiVersion: v1
kind: Service
metadata: {name: $1, namespace: default}
spec: {ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: $1, namespace: default}
subsets: [{addresses: [{ip: $INGNET_PFX.$2}], ports: [{port: 8080}]}]
EOF
done
ingress a || exit 1
"$CTRL" --kubeconfig "$KUBECONFIG" --node bench --listen-addr "$NODE_IP" --state-dir "$T/ing" \
	--netns "/run/netns/$INGNET_NODE" --workers "$WORKERS" >"$T/ctrl.log" 2>&1 &
CPID=$!
answer() { inx "$INGNET_CLIENT" curl -s -m 2 -H 'Host: web.test' "http://$NODE_IP/"; }
for _ in $(seq 1 100); do [ "$(answer)" = p1 ] && break; sleep 0.1; done
[ "$(answer)" = p1 ] || { echo "ingress not serving"; tail "$T/ctrl.log"; exit 1; }

# CPU ticks (user+system) of an nginx master (pid file) and its workers.
ingress_ticks() { nginx_ticks "$T/ing/nginx.pid"; }
nginx_ticks() {
	local m p s=0
	m=$(cat "$1" 2>/dev/null) || { echo 0; return; }
	for p in $m $(pgrep -P "$m"); do
		s=$((s + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo $s
}
# wrk URL -> "req/s p50_ms p99_ms"
load() {
	inx "$INGNET_CLIENT" wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -H 'Host: web.test' "$1" 2>/dev/null | awk '
		function ms(l) { if (l ~ /us$/) { sub(/us/, "", l); return l / 1000 }
			if (l ~ /ms$/) { sub(/ms/, "", l); return l + 0 }
			if (l ~ /s$/) { sub(/s/, "", l); return l * 1000 } return l }
		/Requests\/sec/ { rps = $2 }
		/^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
		END { printf "%.0f %.3f %.3f\n", rps, p50, p99 }'
}
# Two rounds, interleaved, so that noise from other work on the machine
# hits both sides; the table shows the mean.
d_rps=0 i_rps=0 d50=0 d99=0 i50=0 i99=0 ticks=0 reqs=0 pticks=0 preqs=0
for r in 1 2; do
	t0=$(nginx_ticks "$T/pod-p1/nginx.pid")
	read -r a b c <<<"$(load "http://$INGNET_PFX.11:8080/")"
	pticks=$((pticks + $(nginx_ticks "$T/pod-p1/nginx.pid") - t0)); preqs=$((preqs + a * DUR))
	d_rps=$((d_rps + a)); d50=$(awk -v x="$d50" -v y="$b" 'BEGIN { print x + y }')
	d99=$(awk -v x="$d99" -v y="$c" 'BEGIN { print x + y }')
	t0=$(ingress_ticks)
	read -r a b c <<<"$(load "http://$NODE_IP/")"
	ticks=$((ticks + $(ingress_ticks) - t0)); reqs=$((reqs + a * DUR))
	i_rps=$((i_rps + a)); i50=$(awk -v x="$i50" -v y="$b" 'BEGIN { print x + y }')
	i99=$(awk -v x="$i99" -v y="$c" 'BEGIN { print x + y }')
done

# Apply-to-effect: switch the Ingress between Services a (p1) and b (p2).
props=()
cur=a
for i in $(seq 1 "$NCH"); do
	if [ $cur = a ]; then next=b want=p2; else next=a want=p1; fi
	t0=$(date +%s%N)
	ingress $next || { echo "apply failed"; exit 1; }
	until [ "$(answer)" = "$want" ]; do
		[ $(( ($(date +%s%N) - t0) / 1000000 )) -gt 5000 ] && break
	done
	props+=($(( ($(date +%s%N) - t0) / 1000000 )))
	cur=$next
done
pct() { printf '%s\n' "${props[@]}" | sort -n | awk -v p="$1" '{ a[NR] = $1 } END { i = int((NR * p + 99) / 100); if (i < 1) i = 1; print a[i] }'; }

echo "ingress benchmark: wrk -t1 -c$CONNS -d${DUR}s x2 from a client netns over a bridge;"
echo "ingress nginx $WORKERS worker(s); $(nproc) CPUs shared by wrk, ingress and pod (load avg $(cut -d' ' -f1 /proc/loadavg))"
printf '%-30s %10s %10s %10s\n' "path" "req/s" "p50 ms" "p99 ms"
awk -v r=$((d_rps / 2)) -v a="$d50" -v b="$d99" 'BEGIN { printf "%-30s %10d %10.3f %10.3f\n", "direct to pod IP (baseline)", r, a / 2, b / 2 }'
awk -v r=$((i_rps / 2)) -v a="$i50" -v b="$i99" 'BEGIN { printf "%-30s %10d %10.3f %10.3f\n", "through the ingress", r, a / 2, b / 2 }'
awk -v d="$d_rps" -v i="$i_rps" 'BEGIN { if (d > 0) printf "ingress/direct throughput ratio: %.2f (overhead %.0f %%; target < 30 %%)\n", i / d, (1 - i / d) * 100 }'
awk -v t="$ticks" -v n="$reqs" -v pt="$pticks" -v pn="$preqs" -v hz="$(getconf CLK_TCK)" 'BEGIN {
	if (n > 0 && pn > 0) printf "CPU per request: ingress nginx %.1f us (proxying), pod nginx %.1f us (answering, direct run)\n",
		t / hz / n * 1e6, pt / hz / pn * 1e6 }'
echo "Ingress change -> effect via gannetctl apply, $NCH changes: p50 $(pct 50) ms, p99 $(pct 99) ms, max $(pct 100) ms (target < 1000)"
