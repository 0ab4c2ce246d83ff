#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# API server benchmark (make bench). The server runs pinned to one core
# (taskset -c 0) on the SQLite backend, the load generator on the other:
#   - creates/s and gets/s over HTTPS (keep-alive, T client threads), each
#     compared with the raw store rate measured in the same run (store-bench
#     on the same core): the ratio is the cost of HTTP+TLS+JSON+validation;
#   - watch fan-out latency (write -> arrival) p50/p99 with W watchers;
#   - resident memory idle and with N objects stored.
# Targets from the issue: >= 5000 creates/s on one core, p99 watch delivery
# < 50 ms with 100 watchers, < 50 MB resident with 10,000 objects.
#
#   N=10000 T=4 W=100 WATCH_EVENTS=200 tests/bench/bench-apiserver.sh
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
export GANNET_ROOT=$PWD BUILD=${BUILD:-build}
N=${N:-10000}
T=${T:-4}
W=${W:-100}
WATCH_EVENTS=${WATCH_EVENTS:-200}
GETS=${GETS:-20000}
BENCH=$BUILD/bin/apiserver-bench
STORE_BENCH=$BUILD/bin/store-bench
for b in "$BENCH" "$BUILD/bin/gannet-apiserver"; do
	[ -x "$b" ] || { echo "missing $b (make all)" >&2; exit 1; }
done
. tests/lib/apiserver.sh

TMP=$(mktemp -d /tmp/gannet-apiserver-bench.XXXXXX)
cleanup_all() { apiserver_cleanup; rm -rf "$TMP"; }
APISERVER_NO_TRAP=1
trap cleanup_all EXIT

PIN0="taskset -c 0"
PIN1="taskset -c 1"
[ "$(nproc)" -ge 2 ] || PIN1="taskset -c 0"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$APISERVER_PID/status"; }

# Baseline: the raw store on the same core, same number of objects.
store_line=""
if [ -x "$STORE_BENCH" ]; then
	store_line=$($PIN0 "$STORE_BENCH" -n "$N" -l 1 "sqlite:$TMP/raw.db" 2>/dev/null | grep '^RESULT')
fi
raw_create=$(field create "$store_line"); raw_get=$(field get "$store_line")

APISERVER_BIN_ORIG=$(_apiserver_bin)
# Start the server pinned: wrap the binary in taskset via GANNET_APISERVER.
cat >"$TMP/pinned-apiserver" <<EOF
#!/bin/sh
exec $PIN0 "$APISERVER_BIN_ORIG" "\$@"
EOF
chmod +x "$TMP/pinned-apiserver"
export GANNET_APISERVER="$TMP/pinned-apiserver"
apiserver_start --watch-cache-size 20000 || exit 1
A="$CA_CERT,$ADMIN_CERT,$ADMIN_KEY"
sleep 0.5
rss_idle=$(rss_kb)

cl=$($PIN1 "$BENCH" -s "$APISERVER_URL" -a "$A" -n "$N" -t "$T" -p obj create)
echo "$cl" >&2
api_create=$(field ops_per_s "$cl")
sleep 0.5
rss_full=$(rss_kb)
gl=$($PIN1 "$BENCH" -s "$APISERVER_URL" -a "$A" -n "$GETS" -t "$T" -w "$N" -p obj get)
echo "$gl" >&2
api_get=$(field ops_per_s "$gl")
wl=$($PIN1 "$BENCH" -s "$APISERVER_URL" -a "$A" -n "$WATCH_EVENTS" -w "$W" -p watchb watch)
echo "$wl" >&2
p50=$(field p50_ms "$wl"); p99=$(field p99_ms "$wl"); missing=$(field missing "$wl")
rss_watch=$(rss_kb)

ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }' || echo "-"; }
met() { awk -v v="$1" -v t="$2" -v d="$3" 'BEGIN { if (v == "") print "?"; else if ((d == ">=" && v >= t) || (d == "<" && v < t)) print "yes"; else print "NO" }'; }

printf '\ngannet-apiserver, SQLite backend, server on 1 core (taskset -c 0), %s client threads\n' "$T"
printf '%-36s %14s %14s %8s %12s %5s\n' metric measured "raw store" ratio target met
printf '%-36s %14s %14s %8s %12s %5s\n' "creates/s (HTTPS, $N ConfigMaps)" "$api_create" "${raw_create:--}" "$(ratio "$api_create" "$raw_create")" ">= 5000" "$(met "$api_create" 5000 '>=')"
printf '%-36s %14s %14s %8s %12s %5s\n' "gets/s (HTTPS, random of $N)" "$api_get" "${raw_get:--}" "$(ratio "$api_get" "$raw_get")" "-" "-"
printf '%-36s %14s %14s %8s %12s %5s\n' "watch p50 ms ($W watchers)" "$p50" "-" "-" "-" "-"
printf '%-36s %14s %14s %8s %12s %5s\n' "watch p99 ms ($W watchers)" "$p99" "-" "-" "< 50" "$(met "$p99" 50 '<')"
printf '%-36s %14s %14s %8s %12s %5s\n' "watch events missing" "$missing" "-" "-" "0" "$(met "$missing" 1 '<')"
printf '%-36s %14s %14s %8s %12s %5s\n' "RSS idle (MB)" "$(awk -v k="$rss_idle" 'BEGIN{printf "%.1f", k/1024}')" "-" "-" "-" "-"
printf '%-36s %14s %14s %8s %12s %5s\n' "RSS with $N objects (MB)" "$(awk -v k="$rss_full" 'BEGIN{printf "%.1f", k/1024}')" "-" "-" "< 50" "$(met "$(awk -v k="$rss_full" 'BEGIN{print k/1024}')" 50 '<')"
printf '%-36s %14s %14s %8s %12s %5s\n' "RSS after $W watchers (MB)" "$(awk -v k="$rss_watch" 'BEGIN{printf "%.1f", k/1024}')" "-" "-" "-" "-"
