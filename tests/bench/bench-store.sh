#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Store benchmark (make bench): creates/s, updates/s (with expected revision),
# gets/s and full lists of N keys, single-threaded on one core (taskset -c 0),
# for the store's SQLite backend, compared in the same run with
#   - a bare SQLite loop with the same durability (WAL, synchronous=NORMAL,
#     one transaction per write): the store's overhead ratio;
#   - the store's etcd backend against a local etcd (pinned to the other
#     core, fsync per commit as etcd always does; fewer keys, it is slower).
# Also the resident memory of the benchmark process holding the store after
# N objects were written (the store's share of the API server's memory).
#
#   N=10000 ETCD_N=2000 tests/bench/bench-store.sh
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
BIN=$BUILD/bin/store-bench
N=${N:-10000}
ETCD_N=${ETCD_N:-2000}
LISTS=${LISTS:-20}
[ -x "$BIN" ] || { echo "missing $BIN (make all)" >&2; exit 1; }

TMP=$(mktemp -d /tmp/gannet-store-bench.XXXXXX)
ETCD_PID=
APISERVER_PID=
cleanup() {
	[ -n "$APISERVER_PID" ] && apiserver_cleanup
	if [ -n "$ETCD_PID" ]; then
		kill "$ETCD_PID" 2>/dev/null
		wait "$ETCD_PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

PIN0="taskset -c 0"
PIN1="taskset -c 1"
[ "$(nproc)" -ge 2 ] || PIN1="taskset -c 0"

# A random port on 127.0.0.1 that nothing listens on (ss from iproute2).
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# Best of REPS runs, store and baseline interleaved, so that load from
# other jobs on the machine hurts both alike and shows less.
best() {
	awk '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); k = kv[1]; v = kv[2] + 0
		if (!(k in b) || (k == "list_ms" || k == "rss_kb" ? v < b[k] : v > b[k])) b[k] = v } }
	     END { printf "RESULT best"; for (k in b) printf " %s=%s", k, b[k]; print "" }'
}
REPS=${REPS:-3}
: >"$TMP/store.txt"; : >"$TMP/base.txt"
for r in $(seq 1 "$REPS"); do
	rm -f "$TMP"/store.db* "$TMP"/bare.db*
	$PIN0 "$BIN" -n "$N" -l "$LISTS" "sqlite:$TMP/store.db" >>"$TMP/store.txt" || exit 1
	$PIN0 "$BIN" -n "$N" -l "$LISTS" -b "$TMP/bare.db" >>"$TMP/base.txt" || exit 1
done
store=$(best <"$TMP/store.txt")
base=$(best <"$TMP/base.txt")

etcd_res=
if command -v etcd >/dev/null; then
	CP=$(free_port); PP=$(free_port)
	while [ "$PP" = "$CP" ]; do PP=$(free_port); done
	$PIN1 etcd --name bench --data-dir "$TMP/etcd" \
		--listen-client-urls "http://127.0.0.1:$CP" \
		--advertise-client-urls "http://127.0.0.1:$CP" \
		--listen-peer-urls "http://127.0.0.1:$PP" \
		--initial-advertise-peer-urls "http://127.0.0.1:$PP" \
		--initial-cluster "bench=http://127.0.0.1:$PP" \
		--listen-metrics-urls "" >"$TMP/etcd.log" 2>&1 &
	ETCD_PID=$!
	for _ in $(seq 1 100); do
		curl -sf -m 1 "http://127.0.0.1:$CP/health" 2>/dev/null | grep -q true && break
		sleep 0.1
	done
	etcd_res=$($PIN0 "$BIN" -n "$ETCD_N" -l 5 "etcd:http://127.0.0.1:$CP") ||
		etcd_res=
fi

# The real API server (default SQLite store) with N ConfigMaps created
# through its HTTPS API: resident memory idle, with N objects, after a full
# list of them.
api_res=
api_rows=()
if [ -x "$BUILD/bin/gannet-apiserver" ] && [ -f tests/lib/apiserver.sh ]; then
	export GANNET_ROOT=$PWD BUILD
	. tests/lib/apiserver.sh
	APISERVER_NO_TRAP=1
	rss_of() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
	# Default settings, then a small watch cache: the difference is the
	# watch cache's share (it keeps the last events decoded in memory).
	for wc in default 100; do
		args=()
		[ "$wc" != default ] && args=(--watch-cache-size "$wc")
		apiserver_start "${args[@]}" >/dev/null 2>&1 || break
		rss_idle=$(rss_of "$APISERVER_PID")
		api_res=$($PIN0 "$BIN" -n "$N" -a "$CA_CERT,$ADMIN_CERT,$ADMIN_KEY" \
			"$APISERVER_URL") || { apiserver_cleanup; APISERVER_PID=; break; }
		rss_full=$(rss_of "$APISERVER_PID")
		listed=$(acurl "/api/v1/namespaces/default/configmaps" | jq '.items | length')
		rss_list=$(rss_of "$APISERVER_PID")
		api_rows+=("$(printf '%-22s %10s %12s %14s %16s %10s' "watch cache $wc" \
			"$(field create "$api_res")" "$rss_idle" "$rss_full" "$rss_list ($listed)" \
			"$(awk -v r="$rss_list" 'BEGIN { print (r < 51200 ? "met" : "MISSED") }')")")
		apiserver_cleanup
		APISERVER_PID=
	done
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

printf '\nStore benchmark: one thread on one core, %d keys (~560-byte JSON values), best of %d\n\n' "$N" "$REPS"
printf '%-22s %14s %14s %10s %14s %12s\n' metric "store/sqlite" "bare sqlite" "store/bare" \
	"store/etcd" "sqlite/etcd"
printf '%-22s %14s %14s %10s %14s %12s\n' "" "" "(baseline)" "" "(n=$ETCD_N)" ""
for m in create update get; do
	s=$(field $m "$store"); b=$(field $m "$base"); e=$(field $m "$etcd_res")
	printf '%-22s %14s %14s %10s %14s %12s\n' "${m}s/s" "$s" "$b" "$(ratio "$s" "$b")" \
		"${e:--}" "$(ratio "$s" "${e:-0}")"
done
s=$(field list_ms "$store"); b=$(field list_ms "$base"); e=$(field list_ms "$etcd_res")
printf '%-22s %14s %14s %10s %14s %12s\n' "full list (ms)" "$s" "$b" "$(ratio "$s" "$b")" \
	"${e:--}" "(etcd: $ETCD_N keys)"
s=$(field rss_kb "$store"); b=$(field rss_kb "$base")
printf '%-22s %14s %14s %10s\n' "RSS after writes (KiB)" "$s" "$b" "$(ratio "$s" "$b")"
c=$(field create "$store")
echo
awk -v c="$c" 'BEGIN { printf "target >= 5000 creates/s on SQLite: %s (%d/s)\n", (c >= 5000 ? "met" : "MISSED"), c }'
awk -v r="$(field rss_kb "$store")" 'BEGIN { printf "store RSS with %s objects: %.1f MiB (API server budget 50 MiB)\n", "'"$N"'", r / 1024 }'
if [ ${#api_rows[@]} -gt 0 ]; then
	echo
	echo "gannet-apiserver (SQLite store): $N ConfigMaps created over HTTPS, resident memory (KiB)"
	printf '%-22s %10s %12s %14s %16s %10s\n' settings "creates/s" "RSS idle" "RSS with $N" \
		"after list (n)" "< 50 MiB"
	printf '%s\n' "${api_rows[@]}"
fi
