#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Crash durability: concurrent writers create and update objects and log
# every write that got a success response; the server is SIGKILLed while
# writes are in flight, restarted on the same data dir, and every
# acknowledged write must be there (creates present, each counter at least
# at its last acknowledged value, resourceVersions not going backwards).
set -u
cd "$(dirname "$0")/../.."
export GANNET_ROOT=$PWD BUILD=${BUILD:-build}
. tests/lib/apiserver.sh

fails=0
ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails+1)); }

WRITERS=${WRITERS:-4}
ROUNDS=${ROUNDS:-2}
RUN_SECS=${RUN_SECS:-2}
LOGS=$(mktemp -d /tmp/gannet-52.XXXXXX)
cleanup_all() { apiserver_cleanup; rm -rf "$LOGS"; }
APISERVER_NO_TRAP=1
trap cleanup_all EXIT
apiserver_start || exit 1
C=/api/v1/namespaces/default/configmaps
J='Content-Type: application/json'

writer() { # id round
	local w=$1 r=$2 i=0 code
	# the counter object each writer updates
	acurl -X POST -o /dev/null -H "$J" -d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"ctr-$w\"},\"data\":{\"v\":\"0\"}}" $C 2>/dev/null
	while :; do
		i=$((i+1))
		code=$(ACURL_TIMEOUT=5 acurl_code -X POST -H "$J" -d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cw-$r-$w-$i\"},\"data\":{\"i\":\"$i\"}}" $C 2>/dev/null)
		[ "$code" = 201 ] && echo "cw-$r-$w-$i" >>"$LOGS/created"
		[ "$code" = 000 ] && break
		code=$(ACURL_TIMEOUT=5 acurl_code -X PATCH -H 'Content-Type: application/merge-patch+json' -d "{\"data\":{\"v\":\"$i\"}}" $C/ctr-$w 2>/dev/null)
		[ "$code" = 200 ] && echo "$w $i" >>"$LOGS/updated"
		[ "$code" = 000 ] && break
	done
}

for round in $(seq 1 "$ROUNDS"); do
	pids=()
	for w in $(seq 1 "$WRITERS"); do
		writer "$w" "$round" &
		pids+=($!)
	done
	sleep "$RUN_SECS"
	rv_before=$(acurl $C | jq -r .metadata.resourceVersion)
	apiserver_kill
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	acked=$(wc -l <"$LOGS/created")
	echo "round $round: $acked creates acknowledged so far, SIGKILL at rv>=$rv_before"
	[ "$acked" -gt 20 ] && ok "round $round: writers made progress" || fail "round $round: too few writes ($acked)"
	apiserver_restart || { fail "restart after SIGKILL"; break; }

	present=$(acurl "$C?limit=0" | jq -r '.items[].metadata.name' | sort)
	missing=$(sort "$LOGS/created" | comm -23 - <(echo "$present"))
	if [ -z "$missing" ]; then
		ok "round $round: all $acked acknowledged creates present"
	else
		fail "round $round: lost acknowledged creates: $(echo $missing | head -c 300)"
	fi
	lost=0
	for w in $(seq 1 "$WRITERS"); do
		last=$(awk -v w="$w" '$1==w {v=$2} END {print v+0}' "$LOGS/updated")
		now=$(acurl $C/ctr-$w | jq -r '.data.v // 0')
		if [ "$now" -lt "$last" ]; then
			lost=1
			echo "writer $w: acknowledged v=$last but found v=$now"
		fi
	done
	[ $lost = 0 ] && ok "round $round: no acknowledged update lost" || fail "round $round: acknowledged update lost"
	rv_after=$(acurl $C | jq -r .metadata.resourceVersion)
	[ "$rv_after" -ge "$rv_before" ] && ok "round $round: resourceVersion monotonic ($rv_before -> $rv_after)" ||
		fail "round $round: resourceVersion went back $rv_before -> $rv_after"
	code=$(acurl_code -X POST -H "$J" -d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"after-$round\"}}" $C)
	[ "$code" = 201 ] && ok "round $round: writes work after restart" || fail "round $round: write after restart: $code"
done

if [ $fails -gt 0 ]; then echo "$fails check(s) failed"; tail -n 20 "$APISERVER_LOG"; exit 1; fi
echo "crash test passed"
