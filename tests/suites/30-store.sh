#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Store suite: the conformance test on a temporary SQLite file and on a real
# etcd (etcd-server from Debian, started here on random 127.0.0.1 ports with
# a temporary data dir and killed at the end), then the crash test on both
# backends: a writer prints every acknowledged write, is killed with SIGKILL
# mid-stream, and a fresh process checks every acknowledged write is there.
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
BIN=$BUILD/bin/store-conformance
[ -x "$BIN" ] || { echo "missing $BIN (make all)"; exit 1; }

TMP=$(mktemp -d /tmp/gannet-store-test.XXXXXX)
ETCD_PID=
WRITER_PID=
WATCHER_PID=
cleanup() {
	[ -n "$WRITER_PID" ] && kill -9 "$WRITER_PID" 2>/dev/null
	[ -n "$WATCHER_PID" ] && kill -9 "$WATCHER_PID" 2>/dev/null
	if [ -n "$ETCD_PID" ]; then
		kill "$ETCD_PID" 2>/dev/null
		wait "$ETCD_PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
fail=0

# crash_test URI NAME [BEFORE_KILL]: SIGKILL a writer after ~1.5 s of writes
# (running BEFORE_KILL first, e.g. to SIGKILL etcd under it), then verify.
# A watcher in a third process runs throughout: it must report every
# acknowledged write exactly once, in revision order.
crash_test() {
	local uri=$1 name=$2 before=${3:-} out=$TMP/acked-$2.txt
	local wout=$TMP/watched-$2.txt rc=0
	"$BIN" --watch-print "$uri" /crash/ >"$wout" 2>"$TMP/watcher-$name.err" &
	WATCHER_PID=$!
	for _ in $(seq 1 50); do
		grep -q watching "$TMP/watcher-$name.err" && break
		sleep 0.1
	done
	"$BIN" --crash-writer "$uri" >"$out" 2>"$TMP/writer-$name.err" &
	WRITER_PID=$!
	sleep 1.5
	if ! kill -0 "$WRITER_PID" 2>/dev/null; then
		echo "crash test ($name): writer died early:"; cat "$TMP/writer-$name.err"
		WRITER_PID=; return 1
	fi
	[ -n "$before" ] && $before
	kill -9 "$WRITER_PID" 2>/dev/null
	wait "$WRITER_PID" 2>/dev/null
	WRITER_PID=
	echo "crash test ($name): $(wc -l <"$out") writes acknowledged before SIGKILL"
	[ "$(wc -l <"$out")" -ge 100 ] || { echo "too few writes to be meaningful"; return 1; }
	if [ -n "$before" ]; then
		# Restarted: more writes, which the watcher only sees if it
		# reconnected (from where it was: exactly once).
		start_etcd || return 1
		"$BIN" --crash-writer "$uri" >>"$out" 2>>"$TMP/writer-$name.err" &
		WRITER_PID=$!
		sleep 1
		kill -9 "$WRITER_PID"; wait "$WRITER_PID" 2>/dev/null; WRITER_PID=
		echo "crash test ($name): $(wc -l <"$out") writes acknowledged in all"
	fi
	"$BIN" --crash-verify "$uri" "$out" || rc=1
	# Wait (up to 10 s) for the watcher to catch up with the last ack.
	local last
	last=$(awk '{ if ($2 > m) m = $2 } END { print m + 0 }' "$out")
	for _ in $(seq 1 100); do
		[ "$(tail -n1 "$wout" | cut -d' ' -f1)" -ge "$last" ] 2>/dev/null && break
		sleep 0.1
	done
	kill "$WATCHER_PID"; wait "$WATCHER_PID" 2>/dev/null; WATCHER_PID=
	tail -n 4 "$TMP/watcher-$name.err" | sed 's/^/  watcher: /'
	if ! awk 'NR == FNR { if (NF == 3) acked[$2] = $1; next }
		{ if ($1 <= prev) { print "watch out of order/duplicate at " $1; bad = 1 }
		  prev = $1; seen[$1] = $3 }
		END { for (r in acked) if (seen[r] != acked[r]) { print "watch missed rev " r " " acked[r]; bad = 1; if (++n > 5) break }
		      exit bad }' "$out" "$wout"; then
		echo "watch ($name): FAILED"; rc=1
	else
		echo "watch ($name): $(wc -l <"$wout") events, every acknowledged write once, in order"
	fi
	return $rc
}

echo "--- conformance: SQLite"
"$BIN" "sqlite:$TMP/conformance.db" || fail=1

echo "--- crash: SQLite"
crash_test "sqlite:$TMP/crash.db" sqlite || fail=1

if ! command -v etcd >/dev/null; then
	echo "etcd not installed: SQLite results only"
	[ $fail -eq 0 ] || exit 1
	echo "etcd-server not installed (scripts/deps.sh installs it)"
	exit 77
fi

# A random port on 127.0.0.1 that nothing listens on (ss from iproute2).
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}
CP=$(free_port); PP=$(free_port)
while [ "$PP" = "$CP" ]; do PP=$(free_port); done
start_etcd() {
	etcd --name gannet-test --data-dir "$TMP/etcd" \
		--listen-client-urls "http://127.0.0.1:$CP" \
		--advertise-client-urls "http://127.0.0.1:$CP" \
		--listen-peer-urls "http://127.0.0.1:$PP" \
		--initial-advertise-peer-urls "http://127.0.0.1:$PP" \
		--initial-cluster "gannet-test=http://127.0.0.1:$PP" \
		--listen-metrics-urls "" >>"$TMP/etcd.log" 2>&1 &
	ETCD_PID=$!
	for _ in $(seq 1 100); do
		if curl -sf -m 1 "http://127.0.0.1:$CP/health" 2>/dev/null | grep -q true; then
			return 0
		fi
		kill -0 "$ETCD_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "etcd did not start:"; tail -n 20 "$TMP/etcd.log"
	return 1
}
# The etcd server itself is SIGKILLed under the writer, then restarted on the
# same data dir: what it acknowledged must be there.
kill_etcd() {
	kill -9 "$ETCD_PID"
	wait "$ETCD_PID" 2>/dev/null
	ETCD_PID=
}
echo "--- starting etcd on 127.0.0.1:$CP (peer $PP)"
start_etcd || exit 1

echo "--- conformance: etcd"
"$BIN" "etcd:http://127.0.0.1:$CP" || fail=1

# Two endpoints, the first refusing connections: everything (watches too)
# must fail over to the second.
DEAD=$(free_port)
while [ "$DEAD" = "$CP" ] || [ "$DEAD" = "$PP" ]; do DEAD=$(free_port); done
echo "--- conformance: etcd behind a dead first endpoint (failover)"
"$BIN" "etcd:http://127.0.0.1:$DEAD,http://127.0.0.1:$CP" || fail=1

echo "--- crash: etcd server SIGKILLed under a writer, restarted"
crash_test "etcd:http://127.0.0.1:$CP" etcd kill_etcd || fail=1

[ $fail -eq 0 ] && echo "store suite: all passed"
exit $fail
