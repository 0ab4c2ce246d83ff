#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Ingress benchmark (root, not a pass/fail test). The real path: a live
# gannet-apiserver, gannet-ingress-controller with its nginx in an
# ingress-node namespace, "pods" in their own namespaces, wrk in an external
# client namespace, all joined by a bridge in a fabric namespace
# (tests/lib/ingressnet.sh). Two backends:
#   - tiny:       nginx answering a few bytes from memory (keep-alive);
#   - helloworld: the examples/ingress app itself, busybox httpd serving
#                 its page (one process forked per connection, no keep-alive).
# In the same run:
#   1. per backend, wrk to the pod IP directly (baseline) vs to the node
#      address through the ingress, interleaved rounds: requests/s, p50/p99
#      latency, ratio (issue target: >= 0.7), and the CPU time per request
#      of each party (wrk, ingress nginx, backend) read from /proc and from
#      bash's `time` - on a shared 2-CPU machine throughput is roughly
#      1 / (sum of the CPU per request of everything on the path), so these
#      say where the ratio comes from;
#   2. nginx variants (BENCH_INGRESS_VARIANTS=1): the rendered config with
#      one change each (workers, buffering, headers, keep-alive pool,
#      reuseport, CPU affinity), run as a second nginx on another port and
#      measured against the unchanged config in the same run;
#   3. time from `gannetctl apply` of a changed Ingress (backend switched
#      between two Services) to the first request answered by the new
#      backend, N times: p50/p99 (target: < 1 s).
# BENCH_INGRESS_SECONDS (3), BENCH_INGRESS_CONNS (8), BENCH_INGRESS_ROUNDS
# (2), BENCH_INGRESS_CHANGES (50), BENCH_INGRESS_WORKERS (ingress nginx
# workers; default online CPUs), BENCH_INGRESS_VARIANTS (0).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
CTRL=$PWD/$BUILD/bin/gannet-ingress-controller
CTL=$PWD/$BUILD/bin/gannetctl
DUR=${BENCH_INGRESS_SECONDS:-3}
CONNS=${BENCH_INGRESS_CONNS:-8}
ROUNDS=${BENCH_INGRESS_ROUNDS:-2}
NCH=${BENCH_INGRESS_CHANGES:-50}
WORKERS=${BENCH_INGRESS_WORKERS:-$(nproc)}
VARIANTS=${BENCH_INGRESS_VARIANTS:-0}

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
for c in nginx wrk curl nsenter busybox; do
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
	local d
	for d in "$T"/var-*; do
		[ -s "$d/nginx.pid" ] && kill -QUIT "$(cat "$d/nginx.pid")" 2>/dev/null
	done
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
ingnet_pod_helloworld hw 13 || { echo "helloworld pod failed"; exit 1; }
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
  - host: hw.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: hw, port: {number: 80}}}}]}
EOF
}
for s in "a 11" "b 12" "hw 13"; do
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
answer() { inx "$INGNET_CLIENT" curl -s -m 2 -H "Host: ${2:-web.test}" "http://$NODE_IP${3:-}/"; }
for _ in $(seq 1 100); do [ "$(answer)" = p1 ] && break; sleep 0.1; done
[ "$(answer)" = p1 ] || { echo "ingress not serving"; tail "$T/ctrl.log"; exit 1; }
answer x hw.test | grep -q 'instance: hw' || { echo "helloworld not served through the ingress"; exit 1; }

HZ=$(getconf CLK_TCK)
# CPU ticks (user+system, plus reaped children: busybox forks one per
# connection) of a master (pid file) and its direct children.
ticks() {
	local m p s=0
	m=$(cat "$1" 2>/dev/null) || { echo 0; return; }
	for p in $m $(pgrep -P "$m"); do
		s=$((s + $(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo $s
}
# user-mode ticks only (same processes): the rest is kernel time, mostly
# the TCP/IP stack and veth/bridge forwarding run on the sender's CPU
uticks() {
	local m p s=0
	m=$(cat "$1" 2>/dev/null) || { echo 0; return; }
	for p in $m $(pgrep -P "$m"); do
		s=$((s + $(awk '{ print $14 + $16 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo $s
}
# wrk URL HOST -> "req/s p50_ms p99_ms wrk_cpu_s"
load() {
	local out cpu
	out=$({ TIMEFORMAT='%U %S'; time inx "$INGNET_CLIENT" wrk -t1 -c"$CONNS" -d"${DUR}s" --latency \
		-H "Host: $2" "$1" 2>/dev/null; } 2>"$T/wrk.time")
	cpu=$(awk '{ print $1 + $2 }' "$T/wrk.time")
	awk -v cpu="$cpu" '
		function ms(l) { if (l ~ /us$/) { sub(/us/, "", l); return l / 1000 }
			if (l ~ /ms$/) { sub(/ms/, "", l); return l + 0 }
			if (l ~ /s$/) { sub(/s/, "", l); return l * 1000 } return l }
		/Requests\/sec/ { rps = $2 }
		/^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
		END { printf "%.0f %.3f %.3f %s\n", rps, p50, p99, cpu }' <<<"$out"
}
# measure KEY URL HOST PROXYPID BACKENDPID: one wrk run, accumulated in
# R_<field>[KEY] (sums over rounds)
declare -A R_rps=() R_p50=() R_p99=() R_n=() R_wrk=() R_px=() R_pxu=() R_be=()
measure() {
	local key=$1 url=$2 host=$3 ppid=$4 bpid=$5 p0=0 u0=0 b0 a b c w
	[ -n "$ppid" ] && p0=$(ticks "$ppid") && u0=$(uticks "$ppid")
	b0=$(ticks "$bpid")
	read -r a b c w <<<"$(load "$url" "$host")"
	R_rps[$key]=$(( ${R_rps[$key]:-0} + a ))
	R_n[$key]=$(( ${R_n[$key]:-0} + a * DUR ))
	R_p50[$key]=$(awk -v x="${R_p50[$key]:-0}" -v y="$b" 'BEGIN { print x + y }')
	R_p99[$key]=$(awk -v x="${R_p99[$key]:-0}" -v y="$c" 'BEGIN { print x + y }')
	R_wrk[$key]=$(awk -v x="${R_wrk[$key]:-0}" -v y="$w" 'BEGIN { print x + y }')
	[ -n "$ppid" ] && R_px[$key]=$(( ${R_px[$key]:-0} + $(ticks "$ppid") - p0 )) &&
		R_pxu[$key]=$(( ${R_pxu[$key]:-0} + $(uticks "$ppid") - u0 ))
	R_be[$key]=$(( ${R_be[$key]:-0} + $(ticks "$bpid") - b0 ))
}
# Rounds interleaved so that noise from other work on the machine hits
# both sides.
for ((r = 1; r <= ROUNDS; r++)); do
	measure tiny-direct "http://$INGNET_PFX.11:8080/" web.test "" "$T/pod-p1/nginx.pid"
	measure tiny-ingress "http://$NODE_IP/" web.test "$T/ing/nginx.pid" "$T/pod-p1/nginx.pid"
	measure hw-direct "http://$INGNET_PFX.13:8080/" hw.test "" "$T/pod-hw/httpd.pid"
	measure hw-ingress "http://$NODE_IP/" hw.test "$T/ing/nginx.pid" "$T/pod-hw/httpd.pid"
done

us() { awk -v t="$1" -v n="$2" -v hz="$HZ" 'BEGIN { if (n > 0) printf "%.1f", t / hz / n * 1e6; else printf "-" }'; }
row() { # KEY LABEL
	local k=$1 wrk_us
	wrk_us=$(awk -v s="${R_wrk[$k]}" -v n="${R_n[$k]}" 'BEGIN { if (n > 0) printf "%.1f", s / n * 1e6; else printf "-" }')
	awk -v l="$2" -v r="$((R_rps[$k] / ROUNDS))" -v a="${R_p50[$k]}" -v b="${R_p99[$k]}" -v n="$ROUNDS" \
		-v w="$wrk_us" -v p="$( [ -n "${R_px[$k]:-}" ] && us "${R_px[$k]}" "${R_n[$k]}" || echo -)" \
		-v be="$(us "${R_be[$k]}" "${R_n[$k]}")" \
		'BEGIN { printf "%-34s %9d %8.3f %8.3f %9s %9s %9s\n", l, r, a / n, b / n, w, p, be }'
}
echo "ingress benchmark: wrk -t1 -c$CONNS -d${DUR}s x$ROUNDS (interleaved) from a client netns over a bridge;"
echo "ingress nginx $WORKERS worker(s); $(nproc) CPUs shared by wrk, ingress and pod (load avg $(cut -d' ' -f1 /proc/loadavg))"
printf '%-34s %9s %8s %8s %9s %9s %9s\n' "" "" "" "" "CPU us/req" "" ""
printf '%-34s %9s %8s %8s %9s %9s %9s\n' "backend, path" "req/s" "p50 ms" "p99 ms" "wrk" "ingress" "backend"
row tiny-direct "tiny nginx: direct to pod IP"
row tiny-ingress "tiny nginx: through the ingress"
row hw-direct "helloworld: direct to pod IP"
row hw-ingress "helloworld: through the ingress"
awk -v d="${R_rps[tiny-direct]}" -v i="${R_rps[tiny-ingress]}" -v hd="${R_rps[hw-direct]}" -v hi="${R_rps[hw-ingress]}" 'BEGIN {
	if (d > 0) printf "ingress/direct throughput ratio: tiny nginx %.2f, helloworld %.2f (target >= 0.7)\n", i / d, (hd > 0 ? hi / hd : 0) }'
for k in tiny-ingress hw-ingress; do
	awk -v k="$k" -v t="${R_px[$k]}" -v u="${R_pxu[$k]}" 'BEGIN { if (t > 0)
		printf "ingress nginx CPU split (%s): %.0f %% user (nginx), %.0f %% kernel (sockets, TCP/IP, veth)\n", k, u / t * 100, (t - u) / t * 100 }'
done

# ---------------------------------------------------------------- variants
if [ "$VARIANTS" = 1 ]; then
	# name|sed program applied to the rendered nginx.conf
	vlist=(
		"as-rendered|"
		"1-worker|s/^worker_processes [0-9]*;/worker_processes 1;/"
		"proxy_buffering-off|/^http {/a\\	proxy_buffering off;"
		"no-X-Forwarded-headers|/X-Forwarded\\|X-Real-IP/d"
		"upstream-keepalive-16|s/keepalive 64;/keepalive 16;/"
		"reuseport|s/\\(listen [0-9.]*:8081 default_server\\);/\\1 reuseport;/"
		"cpu-affinity-auto|/^worker_processes/a\\worker_cpu_affinity auto;"
		"Connection-header-static|s/proxy_set_header Connection \\\$connection_upgrade;/proxy_set_header Connection \"\";/"
	)
	vstart() { # NAME SED -> nginx on NODE_IP:8081 with the variant config
		local d=$T/var-$1
		mkdir -p "$d/logs" "$d/tmp"
		sed -e "s/$NODE_IP:80\\b/$NODE_IP:8081/; /listen .*:443/d" -e "$2" "$T/ing/nginx.conf" >"$d/nginx.conf"
		inx "$INGNET_NODE" nginx -p "$d/" -c "$d/nginx.conf" 2>"$d/start.err" || { cat "$d/start.err"; return 1; }
	}
	vstop() { [ -s "$T/var-$1/nginx.pid" ] && kill -QUIT "$(cat "$T/var-$1/nginx.pid")"; sleep 0.3; }
	echo
	echo "nginx variants (tiny backend, each a second nginx on :8081 with one change to the rendered config):"
	printf '%-34s %9s %8s %8s %9s %9s %9s\n' "variant" "req/s" "p50 ms" "p99 ms" "wrk" "ingress" "backend"
	for ((r = 1; r <= ROUNDS; r++)); do
		for v in "${vlist[@]}"; do
			name=${v%%|*}
			vstart "$name" "${v#*|}" || continue
			measure "v-$name" "http://$NODE_IP:8081/" web.test "$T/var-$name/nginx.pid" "$T/pod-p1/nginx.pid"
			vstop "$name"
		done
	done
	for v in "${vlist[@]}"; do
		name=${v%%|*}
		[ -n "${R_rps[v-$name]:-}" ] && row "v-$name" "$name"
	done
fi

# ---------------------------------------------------------------- propagation
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
echo "Ingress change -> effect via gannetctl apply, $NCH changes: p50 $(pct 50) ms, p99 $(pct 99) ms, max $(pct 100) ms (target < 1000)"
